-- A table that holds itself, reached through every walker of the data.
local t = { "/x" }
t.again = t
return { namespaces = { "mount" }, mounts = { t } }
