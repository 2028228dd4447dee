-- 40,000 "+name" edits of the namespaces set: each looked for its name in the whole
-- list (114 s).
local t = {}
for i = 1, 40000 do t[i] = "+n" .. i end
return { extends = "default", namespaces = t }
