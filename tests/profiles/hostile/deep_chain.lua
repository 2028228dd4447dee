-- A chain of 100,000 nested tables in a field nothing checked: diff's recursion
-- overflowed the stack and printed a traceback.
local t = {}
for _ = 1, 100000 do t = { t } end
return { extends = "default", network = { links = {}, [1] = t } }
