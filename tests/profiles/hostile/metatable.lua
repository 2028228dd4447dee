-- Tables with metatables in the data: the table of params' values (whose __index
-- raises) and the profile's own environment, where lunshare's checks read fields.
local p = params { x = { default = "a" } }
return { user = p, env = _ENV }
