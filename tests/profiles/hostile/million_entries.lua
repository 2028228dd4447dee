-- A profile with 10^6 entries.
local m = {}
for i = 1, 1e6 do m[i] = "/x" .. i end
return { namespaces = { "mount" }, mounts = { { kind = "overlay", dst = "/o", lower = m } } }
