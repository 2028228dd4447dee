-- For unit specs: the error lines `lunshare check` would print for a profile's source,
-- evaluated and checked as "t.lua" without touching the file system.
local profile = require "lunshare.profile"
local schema = require "lunshare.schema"

return function(src)
  local v, err = profile.evaluate(src, "t.lua")
  if v == nil then return { err } end
  local out = {}
  for i, e in ipairs(schema.check(v, "t.lua", src)) do out[i] = schema.format_error(e) end
  return out
end
