-- Recursion without end, through a Lua function and through a C function (gsub).
local function f(n) return 1 + f(n + 1) end
local function g(s) return (s:gsub(".", g)) end
pcall(g, "x")
return { description = tostring(f(1)) }
