-- utf8 functions on a huge input, in a loop.
local s = ("\u{10FFFF}"):rep(1 << 22)
local n = 0
for _ = 1, 1e9 do
  n = n + utf8.len(s)
  n = n + (utf8.offset(s, -1) or 0)
  n = n + select("#", utf8.codepoint(s, 1, 4000))
end
return { description = tostring(n) }
