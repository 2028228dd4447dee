-- lunshare repl: an interactive Lua prompt with the lunshare API (lunshare.repl).
local command = require "lunshare.command"
local repl = require "lunshare.repl"

local M = {}

function M.main(args)
  if #args > 0 then command.usage_error("repl: takes no arguments") end
  return repl.main()
end

return M
