-- table.sort of a big list without a comparison function is one C call (n log n
-- comparisons), and so are insert and remove at the front of it.
local t = {}
for i = 1, 1 << 20 do t[i] = (i * 7919) % 1000003 end
for _ = 1, 1e9 do
  table.sort(t)
  table.insert(t, 1, 0)
  table.remove(t, 1)
end
