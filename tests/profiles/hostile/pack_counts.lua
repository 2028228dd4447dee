-- string.pack and unpack with huge counts and sizes.
local n = 0
for _ = 1, 1e9 do
  n = n + #string.pack("c10000000", "")
  n = n + select("#", pcall(string.unpack, ("c0"):rep(1000000), ""))
  n = n + (pcall(string.packsize, ("c2147483647"):rep(1000)) and 1 or 0)
  n = n + #string.pack(("x"):rep(1 << 20))
end
return { description = tostring(n) }
