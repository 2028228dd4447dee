-- lunshare version: the version of lunshare and of its Lua.
local command = require "lunshare.command"
local core = require "lunshare.core"

local M = {}

function M.main(args)
  if #args > 0 then command.usage_error("version: takes no arguments") end
  io.stdout:write("lunshare ", core.version, " (", _VERSION, ")\n")
  return 0
end

return M
