-- A params declaration with a million allowed values and a default that is not one of
-- them: the message lists them all, and a suggestion would compare each.
local values = {}
for i = 1, 1e6 do values[i] = "value" .. i end
local v = params { p = { values = values, default = "valeu1" } }
return { description = v.p }
