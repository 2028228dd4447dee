-- lunshare stop NAME [--signal SIG] [--timeout T]: ends a named sandbox of the caller's
-- (root: anyone's) and returns once its supervisor has removed everything it made, the
-- record last. The signal goes through pidfds checked against the record's start times
-- (lunshare.sandboxes.pin), so a pid that was reused is never signalled.
local command = require "lunshare.command"
local core = require "lunshare.core"
local sandboxes = require "lunshare.sandboxes"
local security = require "lunshare.security"

local M = {}

-- What the supervisor passes on to the whole sandbox (core/spawn.c); anything else would
-- end the supervisor itself before it cleans up, and goes to pid 1.
local THROUGH_SUPERVISOR = { INT = true, TERM = true, HUP = true, QUIT = true, USR1 = true, USR2 = true }

-- How long the supervisor gets to clean up once the sandbox is killed.
local CLEANUP_S = 10

function M.main(args)
  local o = command.options("stop", args)
  if o.help then return command.help_for("stop") end
  if #o.positional ~= 1 then command.usage_error("stop: expected one NAME") end
  local name = o.positional[1]
  local bad = sandboxes.check_name(name)
  if bad then command.usage_error("stop: NAME " .. bad) end
  local sig = (o.signal or "TERM"):upper():gsub("^SIG", "")
  local signo = core.signum(sig)
  local wait_ms, terr = security.time_ms(math.tointeger(tonumber(o.timeout or "")) or o.timeout or "10s")
  if not wait_ms then command.usage_error("stop: --timeout: " .. terr) end

  local all = (core.ids().euid or core.ids().uid) == 0
  local list, err = (all and sandboxes.list_all or sandboxes.list)()
  if not list then command.fail(command.EXIT_RUNTIME, "stop: " .. err) end
  local rec
  for _, r in ipairs(list) do if r.name == name and (not rec or r.owner == 0) then rec = r end end
  if not rec then command.fail(command.EXIT_RUNTIME, "stop: no sandbox named \"" .. name .. "\" is running (see 'lunshare ps')") end

  local sup, pid1 = sandboxes.pin(rec)
  if not sup then return 0 end -- it ended meanwhile
  local ok, kerr = core.kill(THROUGH_SUPERVISOR[sig] and sup or pid1, signo)
  if not ok then command.fail(command.EXIT_RUNTIME, "stop: " .. name .. ": " .. kerr) end
  if not core.pidfd_poll(sup, wait_ms / 1000) then
    -- Past the timeout: the sandbox is killed, and its supervisor cleans up as after any end.
    core.kill(pid1, core.signum("KILL"))
    if not core.pidfd_poll(sup, CLEANUP_S) then
      core.kill(sup, core.signum("KILL"))
      core.pidfd_poll(sup, CLEANUP_S)
    end
  end
  sup:close()
  pid1:close()
  -- A supervisor that could not clean up left a stale record: this removes it.
  if rec.owner == (core.ids().euid or core.ids().uid) then sandboxes.list() end
  return 0
end

return M
