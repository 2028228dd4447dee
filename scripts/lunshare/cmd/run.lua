-- lunshare run [OPTIONS] [PROFILE] [--] [CMD ARGS...]: loads and plans the profile under
-- the bounds, hands the plan to the executor (core.spawn) and exits with the command's
-- status; a failing step is reported with the profile line it came from.
local command = require "lunshare.command"
local core = require "lunshare.core"
local installed = require "lunshare.installed"
local json = require "lunshare.json"
local mounts = require "lunshare.mounts"
local plancache = require "lunshare.plancache"
local planner = require "lunshare.plan"
local sandboxes = require "lunshare.sandboxes"
local security = require "lunshare.security"
local source_map = require "lunshare.source_map"
local usernet = require "lunshare.usernet"
local util = require "lunshare.util"

local M = {}

local fail, usage_error, EXIT_USAGE, EXIT_RUNTIME = command.fail, command.usage_error, command.EXIT_USAGE,
  command.EXIT_RUNTIME

-- Why an EPERM usually happens when a user namespace is involved.
local function hint(step, errno, msg)
  local E = core.errno
  local EPERM, EACCES, ENOSPC, EINVAL = E.EPERM, E.EACCES, E.ENOSPC, E.EINVAL
  local op = step and step.op
  if op == "clone" and util.contains(step.namespaces, "user") and
      (errno == EPERM or errno == EACCES or errno == ENOSPC or errno == EINVAL) then
    return " (creating a user namespace was refused; run 'lunshare doctor' to see why and how to allow it)"
  end
  if op == "pty" and errno == E.ENOENT then
    return " (the sandbox has no /dev/ptmx: add dev \"/dev\" to its mounts, or run with --no-pty)"
  end
  if (op == "uid_map" or op == "gid_map" or op == "setgroups") and (errno == EPERM or errno == EACCES) then
    return " (this id map is not allowed for this user; run 'lunshare doctor')"
  end
  return usernet.failure_hint(step, msg)
end

local function describe_failure(plan, msg, errno, step_index)
  local step = step_index and plan.steps[step_index]
  if step then
    -- Most messages from the executor already begin with what failed ("exec x: …").
    local named = msg:sub(1, #step.op + 1) == step.op .. ":" or msg:sub(1, #step.op + 1) == step.op .. " "
    return string.format("%s: %s%s%s", step.origin or plan.profile or "?", named and "" or (step.op .. ": "),
      msg, hint(step, errno, msg))
  end
  return msg
end

-- What report_end says of the profile's limits: their origin and each value as shown.
-- Kept in a cache entry, since a hit has no profile.
local function limits_of(p)
  local limits = type(p.limits) == "table" and p.limits or {}
  local l = { origin = source_map.origin(p, "limits") }
  for _, k in ipairs({ "time", "memory", "fsize", "cpu" }) do
    local v = limits[k]
    if v ~= nil then l[k] = type(v) == "table" and "{…}" or tostring(v) end
  end
  return l
end

-- How the command's end reads for a person, when a limit caused it: a wall-clock limit
-- (exit 124, as timeout(1)), a resource limit's signal. Returns the exit status.
local function report_end(l, code, oom, timed_out, o)
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
  -- hard limit kills with SIGKILL, which is where a single value puts it.
  local by_signal = { [sig.XFSZ] = "fsize", [sig.XCPU] = "cpu", [sig.KILL] = "cpu" }
  local limit = code > 128 and by_signal[code - 128]
  if limit and l[limit] ~= nil then
    local what = limit == "fsize" and "a file it wrote reached" or "it used all the CPU time of"
    say("%s: the command was killed (SIG%s): %s limits.%s = %s", origin, code - 128 == sig.XFSZ and "XFSZ" or
      (code - 128 == sig.KILL and "KILL" or "XCPU"), what, limit, l[limit])
  end
  return code
end

local function shown_value(v)
  return util.escape(tostring(v))
end

-- A recipe install wrote (its manifest names it) runs only as installed, and only with
-- the grants install showed. (1) Every file its chain read, and the rules file it names,
-- must be the one the manifest records (installed.refusal); (2) every run, with or
-- without --set, compares its grants with the consent record install stored in the
-- manifest (installed.consent: the union of the grants it printed, with every parameter
-- at its default and each declared value, and with each free string parameter a
-- placeholder "/<name>" that is replaced here by the run's value), and refuses the first
-- grant beyond it. The record is never computed again here: a recipe whose evaluation
-- differs between processes gets no more than what was printed once.
local function guard_installed(name, p, set)
  local why = installed.refusal(p)
  if why then fail(EXIT_RUNTIME, "run: " .. why) end
  local over = installed.over_consent(p, mounts.clean)
  if not over then return end
  local label = util.escape(p._file)
  if over.missing then
    fail(EXIT_USAGE, "run: " .. label .. ": refused: the manifest holds no record of what install showed for it " ..
      "(installed by an older lunshare, or brought along by another recipe); install it again by name")
  end
  local words = {}
  for _, k in ipairs(util.sorted_keys(set or {})) do
    words[#words + 1] = " --set " .. util.escape(k) .. "=" .. shown_value(p._params and p._params[k] or set[k])
  end
  fail(EXIT_USAGE, string.format("run: %s: refused: with%s it grants %s: %s, which install did not show " ..
    "(run compares every run with what install recorded in the manifest); run 'lunshare verify' and " ..
    "'lunshare show %s'", label, #words > 0 and table.concat(words) or " its defaults", util.escape(over.category),
    util.escape(over.item), util.escape(name)))
end

-- Loads and plans the profile name under the bounds: the profile and the plan.
local function build(name, o)
  return command.bounded(name, function()
    local p = command.load_profile(name, o.set, o)
    guard_installed(name, p, o.set)
    command.refuse_unbuilt(p)
    local ctx = planner.context(o.argv)
    -- A terminal of its own when the caller's stdin and stdout are terminals and the run
    -- is in their foreground, unless the profile shares the caller's (terminal = true);
    -- --pty and --no-pty decide instead.
    ctx.pty = o.pty
    if ctx.pty == nil then
      ctx.pty = p.terminal ~= true and core.isatty(0) and core.isatty(1) and core.foreground(0)
    end
    ctx.timeout_ms = o.timeout_ms
    ctx.name, ctx.profile = o.name, name
    ctx.egress_log = o.egress_log
    local plan, err = planner.build(p, ctx)
    if not plan then fail(EXIT_USAGE, command.plan_error(p, err)) end
    return p, plan
  end)
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
  local rec, p, plan
  if key then
    rec, p, plan = plancache.record(function() return build(name, o) end)
  else
    p, plan = build(name, o)
  end
  local limits = limits_of(p)
  if key then
    local from_cmdline = #o.argv > 0
    local stored = plan
    if from_cmdline then
      -- The command's words are the caller's, filled in on every hit.
      stored = { profile = plan.profile, steps = { table.unpack(plan.steps) } }
      local exec = {}
      for k, v in pairs(plan.steps[#plan.steps]) do exec[k] = v end
      exec.argv = {}
      stored.steps[#stored.steps] = exec
    end
    local ok, err = plancache.store(key, rec, p, stored,
      { profile = plan.profile, limits = limits, argv_from_command_line = from_cmdline }, planner.DEFAULT_KEEP)
    say("miss (" .. why .. "), " .. (ok and "stored" or ("not stored: " .. tostring(err))))
  else
    say(o.no_cache and "not used (--no-cache)" or "none (LUNSHARE_SCRIPTS, no build id, or a user without XDG_RUNTIME_DIR)")
  end
  return plan, limits
end

function M.main(args)
  local o = command.options("run", args, true)
  if o.help then return command.help_for("run") end
  if o.timeout then
    local ms, err = security.time_ms(math.tointeger(tonumber(o.timeout)) or o.timeout)
    if not ms then usage_error("run: --timeout: " .. err) end
    o.timeout_ms = ms
  end
  -- `run -- CMD`: no profile named, the shipped default (builtin:default): a default.lua
  -- on the path (an installed one) never changes what `run -- CMD` means.
  local name = o.positional[1] or (o.dashdash and "builtin:default")
  if not name then usage_error("run: expected a profile") end
  -- Loading and planning are bounded; the run itself is what the profile asked for.
  local plan, limits = plan_for(name, o, args)
  json.dump_plan(plan)
  local record
  for _, s in ipairs(plan.steps) do if s.op == "record" then record = s end end
  if record then
    -- Stale records (a supervisor killed with SIGKILL) are cleaned first; a live one of
    -- this name is refused here, and a run that took it since by the record step.
    local running, err = sandboxes.find(record.name)
    if err then fail(EXIT_RUNTIME, "run: " .. err) end
    if running then fail(EXIT_RUNTIME, sandboxes.in_use(running)) end
  end
  local code, msg, errno, step = core.spawn(plan)
  if not code then
    -- A command that cannot run: 127 when it is not found, 126 when it is found but
    -- cannot be executed (as env, timeout and the shells answer).
    local failed = step and plan.steps[step]
    local exit = EXIT_RUNTIME
    if failed and failed.op == "record" and errno == core.errno.EEXIST then
      fail(EXIT_RUNTIME, sandboxes.in_use(sandboxes.find(failed.name) or { name = failed.name }))
    end
    if failed and failed.op == "exec" then
      exit = errno == core.errno.ENOENT and 127 or 126
    end
    fail(exit, describe_failure(plan, msg, errno, step))
  end
  -- spawn's third and fourth results on success: the run's memory cgroup killed a
  -- process; the wall-clock limit ended the sandbox.
  return report_end(limits, code, errno == true, step == true, o)
end

return M
