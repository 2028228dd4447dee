-- A DAG of shared tables (2^40 paths through 80 tables) in a field nothing checked: diff
-- printed it back path by path (2.4 GB).
local t = { "leaf" }
for _ = 1, 40 do t = { t, t } end
return { extends = "default", limits = { nofile = { 64, 64, extra = t } } }
