-- A loop of concatenations of a big string, each one instruction no count bounds:
-- only the CPU time check stops it.
local s = ("x"):rep(1 << 24)
for i = 1, 1e9 do local _ = s .. i end
