-- lunshare run [OPTIONS] [PROFILE] [--] [CMD ARGS...]: loads and plans the profile under
-- the bounds, hands the plan to the executor (core.spawn) and exits with the command's
-- status; a failing step is reported with the profile line it came from.
local command = require "lunshare.command"
local core = require "lunshare.core"
local json = require "lunshare.json"
local planner = require "lunshare.plan"
local source_map = require "lunshare.source_map"
local util = require "lunshare.util"

local M = {}

local fail, usage_error, EXIT_USAGE, EXIT_RUNTIME = command.fail, command.usage_error, command.EXIT_USAGE,
  command.EXIT_RUNTIME

-- Why an EPERM usually happens when a user namespace is involved.
local function hint(step, errno)
  local E = core.errno
  local EPERM, EACCES, ENOSPC, EINVAL = E.EPERM, E.EACCES, E.ENOSPC, E.EINVAL
  local op = step and step.op
  if op == "clone" and util.contains(step.namespaces, "user") and
      (errno == EPERM or errno == EACCES or errno == ENOSPC or errno == EINVAL) then
    return " (creating a user namespace was refused; run 'lunshare doctor' to see why and how to allow it)"
  end
  if (op == "uid_map" or op == "gid_map" or op == "setgroups") and (errno == EPERM or errno == EACCES) then
    return " (this id map is not allowed for this user; run 'lunshare doctor')"
  end
  return ""
end

local function describe_failure(plan, msg, errno, step_index)
  local step = step_index and plan.steps[step_index]
  if step then
    -- Most messages from the executor already begin with what failed ("exec x: …").
    local named = msg:sub(1, #step.op + 1) == step.op .. ":" or msg:sub(1, #step.op + 1) == step.op .. " "
    return string.format("%s: %s%s%s", step.origin or plan.profile or "?", named and "" or (step.op .. ": "),
      msg, hint(step, errno))
  end
  return msg
end

function M.main(args)
  local o = command.options("run", args, true)
  if o.help then return command.help_for("run") end
  local set, argv = o.set, o.argv
  -- `run -- CMD`: no profile named, the default one.
  local name = o.positional[1] or (o.dashdash and "default")
  if not name then usage_error("run: expected a profile") end
  -- Loading and planning are bounded; the run itself is what the profile asked for.
  local p, plan = command.bounded(name, function()
    local p = command.load_profile(name, set, o)
    command.refuse_unbuilt(p)
    local plan, err = planner.build(p, planner.context(argv))
    if not plan then fail(EXIT_USAGE, p._file .. ": " .. err) end
    return p, plan
  end)
  -- For tests: the very plan handed to the executor, as `explain --json` prints plans.
  local dump = os.getenv("LUNSHARE_DUMP_PLAN")
  if dump and dump ~= "" then
    local f = assert(io.open(dump, "w"))
    f:write(json.encode(plan, true), "\n")
    f:close()
  end
  local code, msg, errno, step = core.spawn(plan)
  if not code then fail(EXIT_RUNTIME, describe_failure(plan, msg, errno, step)) end
  if errno == true then
    -- spawn's third result on success: the run's memory cgroup killed a process.
    io.stderr:write(string.format("lunshare: %s: out of memory: the command reached limits.memory = %s and was killed\n",
      source_map.origin(p, "limits"), tostring(p.limits and p.limits.memory)))
  end
  return code
end

return M
