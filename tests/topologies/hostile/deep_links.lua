-- Link ends nested a thousand deep: the checks walk a bounded depth, not the stack.
local t = { name = "lsa" }
for _ = 1, 1000 do t = { t } end
return { links = { { t, t } } }
