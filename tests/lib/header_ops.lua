-- Prints the op list of core/include/lunshare.h from the op tables (core.ops()), wrapped as
-- the header has it: run from the checkout after a build, paste over the list when an op
-- table changes (tests/spec/header_spec.lua holds the two together).
--   lua5.4 tests/lib/header_ops.lua
package.path = "scripts/?.lua;scripts/?/init.lua;" .. package.path
package.cpath = (os.getenv("LUNSHARE_BUILD") or "build") .. "/lua/?.so;" .. package.cpath
local core = require "lunshare.core"
local ops = core.ops()
local onames = {}
for n in pairs(ops) do onames[#onames + 1] = n end
table.sort(onames)
local out = {}
for _, name in ipairs(onames) do
  local op = ops[name]
  local names = {}
  for f in pairs(op.fields) do names[#names + 1] = f end
  table.sort(names)
  local parts = {}
  for _, f in ipairs(names) do parts[#parts + 1] = f .. " (" .. op.fields[f] .. (op.required[f] and ", required)" or ")") end
  local text = name .. " [" .. op.phase .. "]: " .. (#parts > 0 and table.concat(parts, ", ") or "no fields")
  local line, first = "", true
  for word in text:gmatch("%S+") do
    local prefix = first and " *   " or " *       "
    if #line > 0 and #prefix + #line + 1 + #word > 96 then
      out[#out + 1] = prefix .. line
      line, first = word, false
    else
      line = #line > 0 and (line .. " " .. word) or word
    end
  end
  out[#out + 1] = (first and " *   " or " *       ") .. line
end
io.write(table.concat(out, "\n"), "\n")
