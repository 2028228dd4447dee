-- One host with 3,000 routes through links it does not have, each compared with the
-- host's links for the nearest name.
local routes = {}
for i = 1, 3000 do routes[i] = { to = "10." .. (i // 256) .. "." .. (i % 256) .. ".0/24", dev = "lsnone" .. i } end
return { hosts = { lsh1 = { routes = routes } } }
