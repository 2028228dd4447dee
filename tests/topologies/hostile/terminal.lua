-- Names and a description a terminal would obey: escape sequences that clear the screen or
-- retitle the window, a carriage return that hides the line, U+202E that shows what follows
-- backwards, a NUL and a byte that is not UTF-8. Every one is printed escaped.
return {
  description = "\27[2J\27]0;owned\7\rok\226\128\174\0\255",
  hosts = { ["lsh\27[31m"] = {}, ["lsh\226\128\174x"] = {}, ["lsh\255"] = {} },
  switches = { ["lsbr\r0"] = {} },
  links = { { { name = "lsv\0" }, { host = "lsh\27[31m", name = "eth\226\128\174" } } },
  extra = { ["\27[2J"] = true },
}
