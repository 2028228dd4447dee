-- lunshare doctor: what this kernel and machine allow, with fixes (lunshare.doctor).
local command = require "lunshare.command"
local doctor = require "lunshare.doctor"

local M = {}

function M.main(args)
  if #args > 0 then command.usage_error("doctor: takes no arguments") end
  return doctor.main()
end

return M
