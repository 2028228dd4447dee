-- lunshare enter NAME|PID [-- CMD ARGS...]: runs CMD (default /bin/sh) inside a named
-- sandbox of the caller's, under exactly the confinement of the sandbox's command. The
-- enter plan is built from the sandbox's record (lunshare.sandboxes) and run by the same
-- executor as `run`: a plain child joins the command's namespaces through a pidfd checked
-- against its start time and the recorded user namespace (the join step, core/enter_ops.c),
-- moves into its cgroup when the sandbox has one of its own, then replays the child steps
-- the record holds (ids, session, keyring, rlimits, working directory, capabilities,
-- no_new_privs, seccomp) and execs with the recorded environment; a pty of its own when
-- stdin is a terminal.
local command = require "lunshare.command"
local core = require "lunshare.core"
local naming = require "lunshare.naming"
local plan_mod = require "lunshare.plan"
local sandboxes = require "lunshare.sandboxes"

local M = {}

local OPS = core.ops()
local fail, EXIT_RUNTIME = command.fail, command.EXIT_RUNTIME

local function step(steps, t, origin)
  local op = OPS[t.op]
  if not op then fail(EXIT_RUNTIME, "enter: the sandbox's record names an unknown step '" .. tostring(t.op) .. "'") end
  t.where, t.origin = op.where, origin
  steps[#steps + 1] = t
end

-- The plan that joins rec's command and confines CMD as it.
function M.plan(rec, argv, pty)
  local e = rec.enter
  if type(e) ~= "table" or type(e.steps) ~= "table" or type(e.env) ~= "table" then
    fail(EXIT_RUNTIME, "enter: " .. rec.path .. ": the record says nothing of the command's confinement")
  end
  local cmd = sandboxes.command_pid(rec)
  local st = cmd and core.proc_stat(cmd)
  if not st or (e.reaper and st.ppid ~= rec.pid) then
    fail(EXIT_RUNTIME, "enter: " .. rec.name .. ": the sandbox's command is not running")
  end
  local origin = "enter " .. rec.name
  local kinds = {}
  for i, k in ipairs(core.ns_kinds()) do kinds[i] = k.name or k end
  local steps = {}
  step(steps, { op = "clone", namespaces = {} }, origin)
  step(steps, { op = "join", pid = cmd, starttime = st.starttime, user_ns = rec.ns.user, cgroup = e.cgroup == true,
    namespaces = kinds }, origin)
  for _, s in ipairs(e.steps) do
    -- Only the steps that confine a process: a record can name nothing else.
    if type(s) ~= "table" or not naming.ENTER_OPS[s.op] then
      fail(EXIT_RUNTIME, "enter: " .. rec.path .. ": the record names a step enter does not replay")
    end
    local t = {}
    for k, v in pairs(s) do t[k] = v end
    step(steps, t, origin)
    if s.op == "setsid" and pty then step(steps, { op = "pty" }, origin) end
  end
  step(steps, { op = "close_fds", keep = {} }, origin)
  step(steps, { op = "exec", argv = argv, env = e.env }, origin)
  -- The executor's order: the confinement steps, whose order the record keeps, last.
  local plan = { profile = rec.file, steps = steps }
  local ok, err = plan_mod.check(plan)
  if not ok then fail(EXIT_RUNTIME, "enter: " .. err) end
  return plan
end

function M.main(args)
  local o = command.options("enter", args, true)
  if o.help then return command.help_for("enter") end
  local word = o.positional[1]
  if not word then command.usage_error("enter: expected a NAME or PID") end
  local argv = o.argv
  if #o.positional > 1 then
    argv = {}
    for i = 2, #o.positional do argv[#argv + 1] = o.positional[i] end
    for _, a in ipairs(o.argv) do argv[#argv + 1] = a end
  end
  if #argv == 0 then argv = { "/bin/sh" } end
  local rec, terr = sandboxes.lookup(word)
  if not rec then fail(EXIT_RUNTIME, "enter: " .. terr) end
  local pty = core.isatty(0) and core.isatty(1) and core.foreground(0)
  local plan = M.plan(rec, argv, pty)
  local code, msg, errno, step_index = core.spawn(plan)
  if not code then
    local failed = step_index and plan.steps[step_index]
    if failed and failed.op == "exec" then
      fail(errno == core.errno.ENOENT and 127 or 126, "enter: " .. msg)
    end
    fail(EXIT_RUNTIME, "enter: " .. rec.name .. ": " .. msg)
  end
  return code
end

return M
