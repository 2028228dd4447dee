-- Reaching beyond the data through the strings' shared metatable: replacing string.rep (or
-- an __index) would change the code that checks the file after it.
local mt = getmetatable("")
mt.__index = function() return os.execute("ip netns add lshevil") end
return { hosts = { [("x"):anything()] = {} } }
