-- lunshare unplug NAME OBJECT: takes away what `lunshare plug` added to a named sandbox
-- of the caller's (a bind, by its target inside) and drops it from the record.
local command = require "lunshare.command"
local hotplug = require "lunshare.hotplug"
local sandboxes = require "lunshare.sandboxes"

local M = {}

function M.main(args)
  local o = command.options("unplug", args)
  if o.help then return command.help_for("unplug") end
  if #o.positional ~= 2 then command.usage_error("unplug: expected NAME and OBJECT (see 'lunshare ps')") end
  local rec, terr = sandboxes.lookup(o.positional[1])
  if not rec then command.fail(command.EXIT_RUNTIME, "unplug: " .. terr) end
  local ok, err = hotplug.unplug(rec, o.positional[2])
  if not ok then command.fail(command.EXIT_RUNTIME, "unplug: " .. err) end
  return 0
end

return M
