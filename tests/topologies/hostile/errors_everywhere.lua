-- An error in every entry: a thousand links whose ends both have a bad address and a
-- missing host, each a line of its own (bounded by the entries a file may hold).
local links = {}
for i = 1, 1000 do
  links[i] = { { name = "lsa" .. i, address = "300.0.0." .. i .. "/99" },
               { host = "lsnone" .. i, name = "lsb" .. i, address = "x" } }
end
return { hosts = { lsh1 = {} }, links = links }
