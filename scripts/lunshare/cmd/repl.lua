-- lunshare repl [PROFILE [--set K=V]...]: an interactive Lua prompt with the lunshare API
-- (lunshare.repl); with a profile, its sandbox is planned as `run` plans it and runs
-- while the REPL does, as `sb` (lunshare.repl_sandbox); with --name (or the profile's
-- name) a named one, which sb:plug and other terminals' plug, enter and ps find.
local command = require "lunshare.command"
local planner = require "lunshare.plan"
local repl = require "lunshare.repl"
local repl_sandbox = require "lunshare.repl_sandbox"

local M = {}

function M.main(args)
  local o = command.options("repl", args)
  if o.help then return command.help_for("repl") end
  if #o.argv > 0 or o.dashdash then command.usage_error("repl: takes no command (sb:exec runs them)") end
  if #o.positional > 1 then command.usage_error("repl: takes one profile, got '" .. o.positional[2] .. "' too") end
  local name = o.positional[1]
  if not name then
    if next(o.set) then command.usage_error("repl: --set needs a profile") end
    return repl.main()
  end
  local plan = command.bounded(name, function()
    local p = command.load_profile(name, o.set)
    command.refuse_unbuilt(p)
    local ctx = planner.context(repl_sandbox.COMMAND)
    ctx.name, ctx.profile = o.name, name
    local plan, err = planner.build(p, ctx)
    if not plan then command.fail(command.EXIT_USAGE, command.plan_error(p, err)) end
    return plan
  end)
  local sb, err = repl_sandbox.start(plan, name)
  if not sb then command.fail(command.EXIT_RUNTIME, err) end
  return repl.main({ globals = { sb = sb }, sandbox = sb })
end

return M
