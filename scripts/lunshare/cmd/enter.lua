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
local hotplug = require "lunshare.hotplug"
local sandboxes = require "lunshare.sandboxes"

local M = {}

local fail, EXIT_RUNTIME = command.fail, command.EXIT_RUNTIME

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
  local plan, perr = hotplug.enter_plan(rec, argv, pty)
  if not plan then fail(EXIT_RUNTIME, "enter: " .. perr) end
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
