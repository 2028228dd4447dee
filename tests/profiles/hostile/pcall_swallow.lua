-- Tries to catch the limits: pcall and xpcall around endless loops, an error handler that
-- loops, and names that would escape (each refused, under pcall).
for _, name in ipairs({ "coroutine", "load", "debug", "setmetatable", "collectgarbage", "io", "os" }) do
  pcall(function() return _ENV[name] end)
end
local function forever() while true do end end
for _ = 1, 1e9 do
  pcall(forever)
  xpcall(forever, forever)
  pcall(pcall, pcall, forever)
end
