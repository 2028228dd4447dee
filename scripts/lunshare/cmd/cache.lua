-- lunshare cache clear: removes every plan the plan cache holds for the caller
-- (lunshare.plancache); the next run of each profile plans afresh.
local command = require "lunshare.command"
local plancache = require "lunshare.plancache"

local M = {}

function M.main(args)
  local o = command.options("cache", args)
  if o.help then return command.help_for("cache") end
  if #o.positional ~= 1 or o.positional[1] ~= "clear" then
    command.usage_error("cache: expected 'clear'")
  end
  local n, err = plancache.clear()
  if not n then command.fail(command.EXIT_RUNTIME, "cache clear: " .. err) end
  io.stdout:write("removed ", n, n == 1 and " cached plan\n" or " cached plans\n")
  return 0
end

return M
