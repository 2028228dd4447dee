-- lunshare explain PROFILE [--json] [--set K=V]... [-- CMD ARGS...]: prints the plan run
-- would execute, step by step (lunshare.explain), or as JSON the very table run hands to
-- the executor. The plan is checked as the executor checks it, so explain refuses what
-- run would.
local command = require "lunshare.command"
local explain = require "lunshare.explain"
local installed = require "lunshare.installed"
local json = require "lunshare.json"
local planner = require "lunshare.plan"
local util = require "lunshare.util"
local warnings = require "lunshare.warnings"

local M = {}

function M.main(args)
  local o = command.options("explain", args)
  if o.help then return command.help_for("explain") end
  local as_json, argv, set = o.json, o.argv, o.set
  if #o.positional > 1 then command.usage_error("explain: one profile at a time") end
  local name = o.positional[1] or (o.dashdash and "builtin:default")
  if not name then command.usage_error("explain: expected a profile") end
  local text = command.bounded(name, function()
    local p = command.load_profile(name, set, o, true)
    -- What check would warn about, including fields run cannot apply yet, so a plan is
    -- never read without its caveats.
    warnings.print(p)
    -- The plan of an installed recipe changed since install is one run refuses.
    if installed.refusal(p) then io.stderr:write(util.text(name), ": ", installed.CHANGED, "\n") end
    local ctx = planner.context(argv)
    ctx.name, ctx.profile = o.name, name
    local plan, err, kind = planner.build(p, ctx)
    -- As check prints it: the profile's text escaped once (util.text), a line laid out;
    -- with run's status (1 for what this machine lacks).
    if not plan then
      command.fail(kind == "machine" and command.EXIT_RUNTIME or command.EXIT_USAGE,
        { util.text(command.plan_error(p, err)) })
    end
    return as_json and (json.encode(plan, true) .. "\n") or explain.text(plan, p)
  end)
  io.stdout:write(text)
  return 0
end

return M
