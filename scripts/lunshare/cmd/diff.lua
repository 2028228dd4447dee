-- lunshare diff [--set K=V]... [--old-set K=V]... [--new-set K=V]... OLD NEW: what two
-- profiles grant (lunshare.diff), marking what differs; exit 0 when equal, 1 when they
-- differ. --set is for both sides, --old-set and --new-set for one (and win over --set).
local command = require "lunshare.command"
local diff = require "lunshare.diff"
local grants = require "lunshare.grants"
local warnings = require "lunshare.warnings"

local M = {}

function M.main(args)
  local o = command.options("diff", args)
  if o.help then return command.help_for("diff") end
  local set, names = o.set, o.positional
  if #names ~= 2 then command.usage_error("diff: expected two profiles, OLD and NEW") end
  local text, differ = command.bounded(names[1] .. ", " .. names[2], function()
    local function with(own)
      local t = {}
      for k, v in pairs(set) do t[k] = v end
      for k, v in pairs(own or {}) do t[k] = v end
      return t
    end
    -- As explain and show: a required parameter given no value stands as "/<NAME>" (the
    -- same on both sides, so it compares equal).
    local old = command.load_profile(names[1], with(o.old_set), nil, true)
    local new = command.load_profile(names[2], with(o.new_set), nil, true)
    warnings.print(old, new)
    local ctx = grants.context()
    return diff.text(diff.grants(old, ctx), diff.grants(new, ctx), names[1], names[2])
  end)
  io.stdout:write(text)
  return differ and 1 or 0
end

return M
