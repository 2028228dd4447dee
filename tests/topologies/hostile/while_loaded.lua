-- A loop in a host's table: the file never returns.
local hosts = {}
while true do hosts[#hosts % 10 + 1] = {} end
return { hosts = hosts }
