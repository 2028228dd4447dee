-- string.rep of an empty string with a float count (2^62) and a numeric string: the C
-- loop goes round 2^62 times producing nothing, in one call no hook can interrupt.
local a = string.rep("", 2^62)
local b = (""):rep(2^62, "")
local c = string.rep("", "4611686018427387904")
return { hostname = a .. b .. c }
