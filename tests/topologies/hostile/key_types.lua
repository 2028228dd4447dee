-- Keys and values of every other type where names belong: booleans and floats as
-- host names, a function as a host, a list for a map, a string for a list.
return {
  hosts = { [true] = {}, [1.5] = {}, "lsh0", lsh1 = { routes = "default", lo = 3 } },
  switches = { "lsbr0" },
  links = { lsa = { 1, 2 }, { "lsa", "lsb" }, { { name = 1 }, { name = {} } } },
  description = 7,
}
