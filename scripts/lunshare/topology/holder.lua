-- The rootless holder. A user cannot pin a netns in /run/netns, nor touch the host's
-- network, so a rootless topology lives in the user, mount and network namespaces of a
-- small holder process (core.hold: it only sleeps) that the first `up` clones, mapping the
-- user to root in them (as `unshare --user --map-root-user --mount --net` would). "Here"
-- is the holder's own network namespace; hosts are netns pinned by bind mounts on files in
-- the state directory "netns" ($XDG_RUNTIME_DIR/lunshare/netns; the mounts exist only in
-- the holder's mount namespace), and the holder's pid is kept beside the journal as
-- NAME.holder ("PID DEV:INODE\n", the inode being its user namespace's, so a recycled pid
-- is never taken for it). A command enters it (setns of user, mount and net through its
-- pidfd; lunshare is single-threaded there) and then works as root does. `down` ends it,
-- and with it every namespace it held. From outside:
--   nsenter -t $(cut -d' ' -f1 $XDG_RUNTIME_DIR/lunshare/net/NAME.holder) -U -m -n --preserve-credentials …
local core = require "lunshare.core"
local state = require "lunshare.state"

local M = {}

local function file_of(name) return name .. ".holder" end
M.file = file_of

-- Where a rootless topology's files are, for explain and messages (nothing is opened).
function M.paths(name)
  local root, path = state.base()
  local base = root .. "/" .. path
  return { holder = base .. "/net/" .. file_of(name), pins = base .. "/netns" }
end

-- Whether pid runs: a holder killed but not yet reaped by its parent is a zombie, whose
-- namespaces are gone already.
local function alive(pid)
  local stat = core.read_file("/proc/" .. pid .. "/stat", 4096, "kernel")
  local st = stat and stat:match("^.*%) (%a)")
  return st ~= nil and st ~= "Z" and st ~= "X"
end

-- The holder of topology name recorded in state directory dir, if that process is still
-- it: pid and pidfd; nil when there is none (or it is gone); false and a message when the
-- holder file is not valid.
function M.find(dir, name)
  local text, err = dir:read(file_of(name), 64)
  if not text then
    if err then return false, err .. "; nothing was changed" end
    return nil
  end
  local pid, userns = text:match("^(%d+) (%d+:%d+)\n$")
  pid = pid and #pid <= 9 and math.tointeger(tonumber(pid))
  if not pid or pid < 1 then
    return false, dir:file(file_of(name)) .. ": not a valid holder file (expected \"PID DEV:INODE\"); " ..
      "nothing was changed"
  end
  local pidfd = core.pidfd_open(pid)
  if not pidfd or core.ns_id(pid, "user") ~= userns or not alive(pid) then return nil end
  return pid, pidfd
end

-- Clones a holder for topology name and records it in dir: pid, pidfd; nil and a message.
local function make(dir, name)
  local ids = core.ids()
  -- The pins' directory exists before the holder's mount namespace copies the view.
  local pins, perr = state.open("netns")
  if not pins then return nil, perr end
  pins:close()
  local pid, pidfd = core.clone({ "user", "mount", "net" })
  if pid == nil then
    return nil, "a rootless topology needs a user namespace of its own: " .. tostring(pidfd) ..
      " (run 'lunshare doctor')"
  end
  if pid == 0 then core.hold() end
  local ok1, m1 = core.setgroups(pid, false)
  local ok2, m2 = core.write_idmap(pid, "uid", "0 " .. ids.uid .. " 1\n")
  local ok3, m3 = core.write_idmap(pid, "gid", "0 " .. ids.gid .. " 1\n")
  local ok4, m4 = true, nil
  if ok1 and ok2 and ok3 then
    ok4, m4 = dir:replace(file_of(name), pid .. " " .. assert(core.ns_id(pid, "user")) .. "\n")
  end
  if not (ok1 and ok2 and ok3 and ok4) then
    core.kill(pidfd, core.signum("KILL"))
    if not ok4 then return nil, m4 end
    return nil, "map ids of the topology holder: " .. tostring(m1 or m2 or m3)
  end
  return pid, pidfd
end

-- Enters the holder of topology name (its file in state directory dir), cloning one when
-- create is set, and opens the pins' directory as it is seen from there. Returns
-- { pid, pidfd, made, pins }; nil when there is no holder (and create is unset); nil and a
-- message when that fails.
function M.enter(dir, name, create)
  local pid, pidfd = M.find(dir, name)
  if pid == false then return nil, pidfd end
  local made = false
  if not pid then
    if not create then return nil end
    local err
    pid, err = make(dir, name)
    if not pid then return nil, err end
    pidfd, made = err, true
  end
  local h = { pid = pid, pidfd = pidfd, made = made }
  local ok, msg = core.setns(pidfd, "user", "mount", "net")
  if not ok then
    if made then M.finish(dir, name, h) end
    return nil, "enter the topology holder (pid " .. pid .. "): " .. msg
  end
  local pins, perr = state.open("netns")
  if not pins then
    if made then M.finish(dir, name, h) end
    return nil, perr
  end
  h.pins = pins
  return h
end

-- Ends holder h (its namespaces go with it) and removes its file.
function M.finish(dir, name, h)
  if h and h.pidfd then core.kill(h.pidfd, core.signum("KILL")) end
  return dir:remove(file_of(name))
end

return M
