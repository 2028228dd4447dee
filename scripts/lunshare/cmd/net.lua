-- lunshare net up|status|down FILE: network topologies (lunshare.topology).
local command = require "lunshare.command"
local topology = require "lunshare.topology"

local M = {}

function M.main(args)
  for _, a in ipairs(args) do
    if a == "--help" or a == "-h" then return command.help_for("net") end
    if a:sub(1, 1) == "-" then command.usage_error("net: unknown option '" .. a .. "'") end
  end
  return topology.main(args, command.fail)
end

return M
