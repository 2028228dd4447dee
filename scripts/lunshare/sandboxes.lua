-- Named sandboxes: the records the supervisor of `run --name NAME` keeps while the sandbox
-- runs (core/record_ops.c writes them, and removes them on every exit path of the run),
-- and the only way to read them, for ps, stop and enter.
--
-- A record is the file NAME in the state area "sandboxes" (lunshare.state: root's in
-- /run/lunshare/sandboxes, a user's in $XDG_RUNTIME_DIR/lunshare/sandboxes or the verified
-- /tmp fallback): two JSON lines, the planner's (name, profile, file, namespaces, links and
-- their host addresses, what the command was given) and the executor's (the pids of the
-- sandbox's first process and of the supervisor, with their start times, the uid,
-- namespace identities), and a third once `lunshare plug` added objects (plugged). It is
-- data, read by the bounded decoder and checked field by field, never run.
--
-- A record whose supervisor is gone (killed with SIGKILL, so its undo never ran), or whose
-- pid now names another process (its start time differs), is stale: the next command
-- that lists the records removes it, under the area's lock.
local core = require "lunshare.core"
local state = require "lunshare.state"
local util = require "lunshare.util"

local M = {}

M.AREA = "sandboxes"
M.MAX_NAME = 64

-- nil when n may name a sandbox, else what is wrong with it.
function M.check_name(n)
  if type(n) ~= "string" then return "must be a string, got " .. type(n) end
  if n == "" or #n > M.MAX_NAME or not n:match("^[%w_.%-]+$") or n:sub(1, 1) == "." then
    return "must be 1 to " .. M.MAX_NAME .. " letters, digits, '_', '.' or '-', not starting with '.'"
  end
end

-- Where records go: the trusted root and the path beneath it (for the record step).
function M.location()
  local root, path = state.base()
  return root, path .. "/" .. M.AREA
end

local function int(v) return math.type(v) == "integer" and v or nil end

-- A record's two lines as one table, every field the commands use checked; nil and why
-- when the file is not a record lunshare wrote.
local function decode(values, name)
  local d, r, h = values[1], values[2], values[3]
  if (#values ~= 2 and #values ~= 3) or type(d) ~= "table" or type(r) ~= "table" or (h ~= nil and type(h) ~= "table") then
    return nil, "not two JSON objects (and the hot-plug line)"
  end
  if d.name ~= name then return nil, "its name is not the file's" end
  -- A user writes their own records, and root's ps lists them: a name is one run would
  -- take (no terminal escape reaches root's terminal through it).
  if M.check_name(name) then return nil, "its name is not one run takes" end
  local rec = { name = name, profile = d.profile, file = d.file, started = int(d.started),
    namespaces = {}, links = {}, addresses = {}, plugged = {}, enter = d.enter,
    pid = int(r.pid), starttime = int(r.starttime), supervisor = int(r.supervisor),
    supervisor_starttime = int(r.supervisor_starttime), uid = int(r.uid), ns = {} }
  if not (rec.pid and rec.pid > 0 and rec.starttime and rec.supervisor and rec.supervisor > 0 and
      rec.supervisor_starttime and rec.uid) then
    return nil, "no pids and start times"
  end
  if type(rec.profile) ~= "string" or type(rec.file) ~= "string" or not rec.started then
    return nil, "no profile or start"
  end
  for _, n in ipairs(type(d.namespaces) == "table" and d.namespaces or {}) do
    if type(n) == "string" then rec.namespaces[#rec.namespaces + 1] = n end
  end
  -- The netns it joined (network = { join = … }), when it has none of its own.
  if type(d.net_joined) == "string" then rec.net_joined = d.net_joined end
  for _, l in ipairs(type(d.links) == "table" and d.links or {}) do
    if type(l) == "string" then rec.links[#rec.links + 1] = l end
  end
  for name, list in pairs(type(d.addresses) == "table" and d.addresses or {}) do
    if type(name) == "string" and type(list) == "table" then
      local out = {}
      for _, a in ipairs(list) do if type(a) == "string" then out[#out + 1] = a end end
      rec.addresses[name] = out
    end
  end
  -- The objects `lunshare plug` added, each as it recorded them (lunshare.hotplug); a veth
  -- to another sandbox that ended is gone with its namespace, and not shown.
  for _, o in ipairs(h and type(h.plugged) == "table" and h.plugged or {}) do
    if type(o) == "table" and type(o.kind) == "string" and type(o.id) == "string" and M.plug_alive(o) then
      rec.plugged[#rec.plugged + 1] = o
    end
  end
  if type(r.ns) == "table" then
    for k, v in pairs(r.ns) do if type(k) == "string" and int(v) then rec.ns[k] = v end end
  end
  return rec
end

-- Whether pid is still the process that started at starttime.
local function same(pid, starttime)
  local st = core.proc_stat(pid)
  return st ~= nil and st.starttime == starttime, st
end

-- Whether a plugged object still exists: a veth to another sandbox (o.to) lives as long
-- as that sandbox's pid 1 (o.to_pid, o.to_starttime), since the pair dies with either
-- network namespace; anything else lives as long as its own sandbox.
function M.plug_alive(o)
  if o.to == nil then return true end
  return int(o.to_pid) ~= nil and int(o.to_starttime) ~= nil and (same(o.to_pid, o.to_starttime))
end

-- Whether the sandbox of a record still runs: its supervisor and its first process are
-- the very processes it names, the supervisor is owner's, and the first process is the
-- supervisor's child (a record is its owner's to write: without that, one naming a
-- supervisor of its own and any other process would make root's stop signal that one).
function M.alive(rec, owner)
  local ok, st = same(rec.supervisor, rec.supervisor_starttime)
  if not (ok and st.uid == (owner or rec.uid)) then return false end
  local first_ok, first = same(rec.pid, rec.starttime)
  return first_ok and first.ppid == rec.supervisor
end

-- The records of one directory: live ones in out, each with .path and .owner; with
-- clean, stale ones and files that are no record are removed (the caller's own
-- directory, under its lock), else skipped.
local function scan(dir, owner, clean, out, warnings)
  local names, nerr = dir:list()
  if not names then
    warnings[#warnings + 1] = nerr
    return
  end
  for _, name in ipairs(names) do
    local values, rerr = dir:read_json_lines(name)
    local rec, why
    if values then rec, why = decode(values, name) else why = rerr end
    if not rec then
      if clean then
        warnings[#warnings + 1] = dir:file(name) .. ": not a sandbox record (" .. tostring(why) .. "): removed"
        dir:remove(name)
      end
    elseif rec.uid ~= owner or not M.alive(rec, owner) then
      if clean then dir:remove(name) end
    else
      rec.path, rec.owner = dir:file(name), owner
      out[#out + 1] = rec
    end
  end
end

-- The live records of the caller's directory, stale ones removed. Returns the list
-- (sorted by name) and a list of warnings (a file that is no record is removed too, since
-- only lunshare writes this private directory, and a name it held would be in use for
-- good); nil and a message when the directory is refused.
function M.list()
  local dir, err = state.open(M.AREA, { create = false })
  if not dir then
    if err then return nil, err end
    return {}, {}
  end
  local ok, lerr = dir:lock()
  if not ok then
    dir:close()
    return nil, lerr
  end
  local out, warnings = {}, {}
  scan(dir, core.ids().euid or core.ids().uid, true, out, warnings)
  dir:close()
  return out, warnings
end

-- For root: its own records, then every user's (in /run/user/UID/lunshare, the
-- runtime directory's usual place, and the /tmp fallback), read only: a user's directory
-- must be private to that user all the way down, and a record counts only when its
-- supervisor is that user's process. Returns the list and warnings, as M.list.
function M.list_all()
  local out, warnings = M.list()
  if not out then return nil, warnings end
  local function add(root, path, uid)
    local dir, err = state.open_of(root, path, M.AREA, uid)
    if not dir then
      if err then warnings[#warnings + 1] = err end
      return
    end
    scan(dir, uid, false, out, warnings)
    dir:close()
  end
  for _, u in ipairs(core.dir_list("/run/user") or {}) do
    local uid = u:match("^%d+$") and math.tointeger(tonumber(u))
    if uid and uid ~= 0 then add("/run/user/" .. u, "lunshare", uid) end
  end
  for _, d in ipairs(core.dir_list("/tmp") or {}) do
    local uid = d:match("^lunshare%-(%d+)$") and math.tointeger(tonumber(d:match("%d+$")))
    if uid and uid ~= 0 then add("/tmp", d .. "/lunshare", uid) end
  end
  table.sort(out, function(x, y)
    if x.owner ~= y.owner then return x.owner < y.owner end
    return x.name < y.name
  end)
  return out, warnings
end

-- The live record of one name, or nil (and a message when the directory is refused).
function M.find(name)
  local list, err = M.list()
  if not list then return nil, err end
  for _, rec in ipairs(list) do
    if rec.name == name then return rec end
  end
  return nil
end

-- The caller's live sandbox named word, or whose pid 1, supervisor or command is the pid
-- word; nil and the one line that says none is (for enter, plug and unplug).
function M.lookup(word)
  local list, err = M.list()
  if not list then return nil, err end
  local pid = word:match("^%d+$") and math.tointeger(tonumber(word))
  for _, rec in ipairs(list) do
    if rec.name == word or (pid and (rec.pid == pid or rec.supervisor == pid or M.command_pid(rec) == pid)) then
      return rec
    end
  end
  if pid then return nil, "process " .. pid .. " is not a running lunshare sandbox of yours (see 'lunshare ps')" end
  local names = {}
  for _, rec in ipairs(list) do names[#names + 1] = rec.name end
  return nil, "no sandbox named \"" .. word .. "\" is running" .. util.suggest(word, names) .. " (see 'lunshare ps')"
end

-- pidfds of the supervisor and of pid 1, taken and then checked against the record's
-- start times: a pidfd names one process for good, so once both check out, nothing sent
-- through them can reach a process that reused a pid. nil when the sandbox ended.
function M.pin(rec)
  local sup = core.pidfd_open(rec.supervisor)
  local pid1 = sup and core.pidfd_open(rec.pid)
  if not (sup and pid1 and M.alive(rec, rec.owner)) then
    if sup then sup:close() end
    if pid1 then pid1:close() end
    return nil
  end
  return sup, pid1
end

-- The one line for a name in use.
function M.in_use(rec)
  return string.format("run: a sandbox named \"%s\" is running%s: choose another name, or 'lunshare stop %s'",
    rec.name, rec.pid and string.format(" (pid %d, profile %s)", rec.pid, rec.profile) or "", rec.name)
end

-- The process that runs the sandbox's command: with a pid-1 reaper, pid 1's oldest child;
-- else pid 1 itself. nil when there is none (yet).
function M.command_pid(rec)
  if rec.enter and rec.enter.reaper then
    local kids = core.proc_children(rec.pid)
    return kids and kids[1]
  end
  return rec.pid
end

-- Seconds since the sandbox started.
-- How long the sandbox has run, in seconds: since its supervisor started (the record's
-- "started" is when the plan was made, which a cached plan made long before).
function M.uptime(rec)
  local up = util.read_kernel("/proc/uptime", 256)
  local now = up and tonumber(up:match("^(%S+)"))
  if now and rec.supervisor_starttime and core.CLK_TCK > 0 then
    return math.max(0, math.floor(now - rec.supervisor_starttime / core.CLK_TCK))
  end
  return math.max(0, os.time() - rec.started)
end

return M
