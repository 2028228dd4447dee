-- Patterns with %b, %f and back-references on long subjects, in a loop: each call is
-- charged its worst case, so the loop ends.
local s = ("(("):rep(20000)
local n = 0
for _ = 1, 1e9 do
  n = n + #(s:match("^(%(*)%1%1$") or "")
  n = n + #(s:match("^%b()") or "")
  n = n + select(2, s:gsub("%f[%(]", ""))
end
return { description = tostring(n) }
