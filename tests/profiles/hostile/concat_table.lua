-- table.concat of huge tables, again and again: one C call each.
local t = {}
for i = 1, 1 << 20 do t[i] = "abcdefgh" end
for _ = 1, 1e9 do local _ = table.concat(t, ",") end
