-- What `lunshare run` does beyond a plan cache hit: load, guard and plan the profile
-- (a miss, or --no-cache), keep the plan in the cache, and word a failure of the run for
-- a person. lunshare.cmd.run requires this module only then, so that a hit loads none of
-- the loader's, the schema's or the planner's modules (start-up speed, issue #14).
local command = require "lunshare.command"
local core = require "lunshare.core"
local installed = require "lunshare.installed"
local mounts = require "lunshare.mounts"
local plancache = require "lunshare.plancache"
local planner = require "lunshare.plan"
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

function M.describe_failure(plan, msg, errno, step_index)
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
-- grant beyond it, or the first confinement it recorded (a path made inside, a system
-- call denied, a limit) that this run lacks. The record is never computed again here: a recipe whose evaluation
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
  fail(EXIT_USAGE, string.format("run: %s: refused: with%s it %s %s: %s, which install %s " ..
    "(run compares every run with what install recorded in the manifest); run 'lunshare verify' and " ..
    "'lunshare show %s'", label, #words > 0 and table.concat(words) or " its defaults",
    over.dropped and "lacks" or "grants", util.escape(over.category), util.escape(over.item),
    over.dropped and "showed it keeping" or "did not show", util.escape(name)))
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
    local plan, err, kind = planner.build(p, ctx)
    -- What this machine lacks (an /etc/subuid range) is a runtime failure, which check
    -- warns of: the profile itself is valid.
    if not plan then fail(kind == "machine" and EXIT_RUNTIME or EXIT_USAGE, command.plan_error(p, err)) end
    return p, plan
  end)
end

-- --timeout's value in milliseconds, or a usage error.
function M.timeout_ms(o)
  local ms, err = security.time_ms(math.tointeger(tonumber(o.timeout)) or o.timeout)
  if not ms then usage_error("run: --timeout: " .. err) end
  return ms
end

-- The plan as stored, its seccomp steps carrying the filter compiled from their rules
-- (core.seccomp_compile, what the executor would generate from them): a hit loads those
-- bytes instead of running libseccomp's generation again (issue #14). Rules that do not
-- compile leave the step as it was, for the run to report.
local function with_filters(plan)
  local steps = { table.unpack(plan.steps) }
  for i, s in ipairs(steps) do
    if s.op == "seccomp" and s.bpf == nil then
      local hex = core.seccomp_compile(s.rules)
      if hex then
        local c = {}
        for k, v in pairs(s) do c[k] = v end
        c.bpf = hex
        steps[i] = c
      end
    end
  end
  return { profile = plan.profile, steps = steps }
end

-- The plan of a miss (key: the cache key, or nil for no cache; why: why it missed; say:
-- the debug line's writer), planned afresh and, with a key, stored. Returns the plan and
-- what report_end needs of the profile.
function M.fresh(name, o, key, why, say)
  -- main.c starts `run` with the collector stopped, for a hit's sake; loading a profile
  -- needs it (the evaluator's memory bound is on what is live).
  collectgarbage("restart")
  local rec, p, plan
  if key then
    rec, p, plan = plancache.record(function() return build(name, o) end)
  else
    p, plan = build(name, o)
  end
  local limits = limits_of(p)
  if key then
    local from_cmdline = #o.argv > 0
    local stored = with_filters(plan)
    if from_cmdline then
      -- The command's words are the caller's, filled in on every hit.
      local exec = {}
      for k, v in pairs(plan.steps[#plan.steps]) do exec[k] = v end
      exec.argv = {}
      stored.steps[#stored.steps] = exec
    end
    local ok, err = plancache.store(key, rec, p, stored,
      { profile = plan.profile, limits = limits, argv_from_command_line = from_cmdline,
        -- the command followed a "--" separator: the executable may serve a hit by itself
        -- (bindings/l_fastrun.c)
        dashdash = o.dashdash == true }, planner.DEFAULT_KEEP)
    say("miss (" .. why .. "), " .. (ok and "stored" or ("not stored: " .. tostring(err))))
  else
    say(o.no_cache and "not used (--no-cache)" or "none (LUNSHARE_SCRIPTS, no build id, or a user without XDG_RUNTIME_DIR)")
  end
  return plan, limits
end


return M
