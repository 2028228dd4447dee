-- Replaces string.sub (and friends) in the profile's own string table, which the
-- string metatable serves while it runs, to blind the pattern guard; then a
-- backtracking pattern that would take forever.
string.sub = function() return "" end
string.byte = function() return nil end
string.find = string.find
local s = ("a"):rep(100000)
return { description = s:match(".-.-.-b") }
