-- Runs out of memory under pcall, again and again, hoping to keep going.
local s = ("x"):rep(1 << 25)
for _ = 1, 1e9 do pcall(function() return s .. s .. s end) end
