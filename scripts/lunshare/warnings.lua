-- What check, explain and diff print as warnings for loaded profiles: the loader's own
-- and the risks of what a profile grants in effect for this caller (lunshare.grants).
local grants = require "lunshare.grants"
local schema = require "lunshare.schema"

local M = {}

-- What check, explain and diff warn about for a loaded profile: the loader's warnings and
-- the risks of what it grants in effect for this caller (lunshare.grants).
function M.of(p)
  local out = {}
  for _, w in ipairs(p._warnings or {}) do out[#out + 1] = w end
  for _, w in ipairs(grants.warnings(p, grants.context())) do out[#out + 1] = w end
  return out
end

-- The warnings of each profile on stderr, each line once: `diff P P` lists P's grants,
-- and its warnings once.
function M.print(...)
  local seen = {}
  for _, p in ipairs({ ... }) do
    for _, w in ipairs(M.of(p)) do
      local line = schema.format_error(w)
      if not seen[line] then io.stderr:write(line, "\n") end
      seen[line] = true
    end
  end
end

return M
