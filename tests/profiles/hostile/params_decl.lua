-- A params declaration that is all work: a million parameters, for its sorting and
-- checking to go through.
local decl = {}
for i = 1, 1e6 do decl["p" .. i] = { default = "x", values = { "x" } } end
local v = params(decl)
return { description = v.p1 }
