-- Work after loading: 999 hosts of 58 bytes and 2,560 link ends naming hosts that are not
-- there, each compared with every host for the nearest name (hours without the bounds).
local hosts, links, long = {}, {}, string.rep("h", 55)
for i = 1, 999 do hosts[long .. i] = {} end
for i = 1, 1280 do
  links[i] = { { host = long .. "x" .. i, name = "a" }, { host = long .. "y" .. i, name = "b" } }
end
return { hosts = hosts, links = links }
