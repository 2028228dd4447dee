-- lunshare net SUBCOMMAND: network topologies (lunshare.topology.cmd).
local command = require "lunshare.command"
local topology_cmd = require "lunshare.topology.cmd"

local M = {}

function M.main(args)
  return topology_cmd.main(args, command.fail)
end

return M
