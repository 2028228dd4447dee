-- lunshare net up|status|down FILE: network topologies (lunshare.topology).
local command = require "lunshare.command"
local topology = require "lunshare.topology"

local M = {}

function M.main(args)
  return topology.main(args, command.fail)
end

return M
