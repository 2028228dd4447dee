-- Busy work in pattern callbacks, without os.clock: many matches, each doing a little.
local s = ("ab"):rep(1 << 20)
local n = 0
for _ = 1, 1e9 do
  s:gsub("a", function() for i = 1, 10 do n = n + i end end)
  for w in s:gmatch("b") do n = n + #w end
end
return { description = tostring(n) }
