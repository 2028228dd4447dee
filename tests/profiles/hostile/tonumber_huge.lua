-- tonumber and tostring of huge strings, in a loop.
local s = ("9"):rep(1 << 24)
local n = 0
for _ = 1, 1e9 do n = n + (tonumber(s) or 0) + #tostring(s) end
return { description = tostring(n) }
