-- string.format with huge widths and precisions, and with huge arguments in a loop.
local ok = pcall(string.format, "%099999999d", 1)
local s = ("x"):rep(1 << 22)
for _ = 1, 1e9 do local _ = string.format("%99.99f%s%s%s", 1e308, s, s, s) end
return { description = tostring(ok) }
