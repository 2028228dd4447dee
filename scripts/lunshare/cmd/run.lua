-- lunshare run [OPTIONS] [PROFILE] [--] [CMD ARGS...]: loads and plans the profile under
-- the bounds, hands the plan to the executor (core.spawn) and exits with the command's
-- status; a failing step is reported with the profile line it came from.
--
-- A plan cache hit (lunshare.plancache) needs none of the loader, the schema or the
-- planner: what a miss does, and the wording of a failure, are lunshare.run_plan, loaded
-- only when needed; so are the records of named sandboxes (lunshare.sandboxes), for a
-- run with a name (deliberate lazy loading, for start-up speed: issue #14).
local command_line = require "lunshare.command_line"
local core = require "lunshare.core"
local json = require "lunshare.json"
local plancache = require "lunshare.plancache"
local util = require "lunshare.util"

local M = {}

local fail, usage_error, EXIT_RUNTIME = command_line.fail, command_line.usage_error, command_line.EXIT_RUNTIME

-- The hard value of the plan's RLIMIT_CPU, in seconds, or nil (none, or unlimited).
local function cpu_hard(plan)
  for _, s in ipairs(plan.steps) do
    if s.op == "rlimit" and s.resource == "cpu" and (s.hard or -1) >= 0 then return s.hard end
  end
end

-- How the command's end reads for a person, when a limit caused it: a wall-clock limit
-- (exit 124, as timeout(1)), a resource limit's signal. cpu: the seconds of CPU time the
-- sandbox's processes used; hard: the cpu limit's hard value. Returns the exit status.
local function report_end(l, code, oom, timed_out, o, cpu, hard)
  local origin = l.origin
  local function say(fmt, ...) io.stderr:write("lunshare: ", string.format(fmt, ...), "\n") end
  if timed_out then
    if o.timeout then
      say("the command ran longer than --timeout %s: the sandbox was ended", util.escape(o.timeout))
    else
      say("%s: the command ran longer than limits.time = %s: the sandbox was ended", origin, tostring(l.time))
    end
    return 124
  end
  if oom then
    say("%s: out of memory: the command reached limits.memory = %s and was killed", origin, tostring(l.memory))
    return code
  end
  local sig = core.signals
  -- The signals the kernel sends at an rlimit, and the limit behind each. RLIMIT_CPU's
  -- hard limit kills with SIGKILL, which is where a single value puts it; but anyone may
  -- send SIGKILL (a grace that ran out, `lunshare stop`, the OOM killer): it is the cpu
  -- limit's only when the sandbox used about that much CPU time. About: the kernel
  -- checks the limit against the scheduler ticks it charged, and reports a reaped
  -- process's exact run time, which came out up to 9 % less (a 2 s limit killed at
  -- 1.83 s reported); a kill from elsewhere after 80 % of the limit is taken for it.
  local by_signal = { [sig.XFSZ] = "fsize", [sig.XCPU] = "cpu" }
  if hard and cpu and cpu >= 0.8 * hard then by_signal[sig.KILL] = "cpu" end
  local limit = code > 128 and by_signal[code - 128]
  if limit and l[limit] ~= nil then
    local what = limit == "fsize" and "a file it wrote reached" or "it used all the CPU time of"
    say("%s: the command was killed (SIG%s): %s limits.%s = %s", origin, code - 128 == sig.XFSZ and "XFSZ" or
      (code - 128 == sig.KILL and "KILL" or "XCPU"), what, limit, l[limit])
  end
  return code
end

-- The plan for this run: the cached one when every input is as it was (lunshare.plancache),
-- with the command's words filled in; else a fresh one, which is cached. Returns the plan
-- and what report_end needs of the profile.
local function plan_for(name, o, args)
  local key, why
  -- LUNSHARE_CACHE_DEBUG=1: one line on stderr saying whether the cache served the plan.
  local debug = os.getenv("LUNSHARE_CACHE_DEBUG") == "1"
  local function say(what)
    if debug then io.stderr:write("lunshare: plan cache: ", what, "\n") end
  end
  if not o.no_cache then
    local words = { table.unpack(args, 1, #args - #o.argv) }
    key = plancache.key(words, #o.argv > 0)
  end
  if key then
    local hit
    hit, why = plancache.load(key)
    if hit then
      say("hit")
      local plan, meta = hit.plan, hit.meta
      plan.profile = meta.profile
      local exec = plan.steps[#plan.steps]
      if meta.argv_from_command_line then exec.argv = o.argv end
      return plan, meta.limits
    end
  end
  return require("lunshare.run_plan").fresh(name, o, key, why, say)
end

function M.main(args)
  local o = command_line.options("run", args, true)
  if o.help then return command_line.help_for("run") end
  if o.timeout then o.timeout_ms = require("lunshare.run_plan").timeout_ms(o) end
  -- `run -- CMD`: no profile named, the shipped default (builtin:default): a default.lua
  -- on the path (an installed one) never changes what `run -- CMD` means.
  local name = o.positional[1] or (o.dashdash and "builtin:default")
  if not name then usage_error("run: expected a profile") end
  local plan, limits, code, msg, errno, step, cpu, sandboxes
  -- A hit the executable spawned before the scripts loaded, whose end needs words.
  local handed = core.handed_run()
  if handed then
    plan, limits = handed.plan, handed.limits
    code, msg, errno, step, cpu = table.unpack(handed.results, 1, 5)
  else
    -- Loading and planning are bounded; the run itself is what the profile asked for.
    plan, limits = plan_for(name, o, args)
    json.dump_plan(plan)
    local record
    for _, s in ipairs(plan.steps) do if s.op == "record" then record = s end end
    sandboxes = record and require("lunshare.sandboxes")
    if record then
      -- Stale records (a supervisor killed with SIGKILL) are cleaned first; a live one of
      -- this name is refused here, and a run that took it since by the record step.
      local running, err = sandboxes.find(record.name)
      if err then fail(EXIT_RUNTIME, "run: " .. err) end
      if running then fail(EXIT_RUNTIME, sandboxes.in_use(running)) end
    end
    -- run exits when the command has: it need not wait for pid 1's own exit, the
    -- namespaces' teardown (core.spawn's early).
    code, msg, errno, step, cpu = core.spawn(plan, { early = true })
  end
  if not code then
    -- A command that cannot run: 127 when it is not found, 126 when it is found but
    -- cannot be executed (as env, timeout and the shells answer).
    local failed = step and plan.steps[step]
    local exit = EXIT_RUNTIME
    if failed and failed.op == "record" and errno == core.errno.EEXIST then
      sandboxes = sandboxes or require("lunshare.sandboxes")
      fail(EXIT_RUNTIME, sandboxes.in_use(sandboxes.find(failed.name) or { name = failed.name }))
    end
    if failed and failed.op == "exec" then
      exit = errno == core.errno.ENOENT and 127 or 126
    end
    fail(exit, require("lunshare.run_plan").describe_failure(plan, msg, errno, step))
  end
  -- spawn's third to fifth results on success: the run's memory cgroup killed a
  -- process; the wall-clock limit ended the sandbox; the CPU time the sandbox used.
  return report_end(limits, code, errno == true, step == true, o, cpu, cpu_hard(plan))
end

return M
