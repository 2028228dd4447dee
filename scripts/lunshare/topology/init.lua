-- Topology files: several named hosts (netns under /run/netns, as `ip netns add` makes
-- them), switches (bridges) and the veth links between them, with addresses and routes,
-- brought up, compared and removed as a whole (`lunshare net up|status|down FILE`).
--
--   schema   what a file may hold; loading it safely, with file:line for every entry
--   plan     the file (or, for down, its journal) as a plan of steps: plain data
--   ops      each step described once: fields, the ip command it replaces, how it is
--            performed, how status compares it
--   apply    performs a plan through the netlink layer (lunshare.rtnetlink), journaling
--   journal  what up made, so that down removes exactly that
--   holder   the rootless holder whose namespaces hold a user's topology
--   cmd      `lunshare net …`
--
-- `up` builds what is missing and records what it built; a second `up` finds everything
-- and changes nothing. `status` compares the file with the kernel through the same steps.
-- `down` removes exactly what the journal says `up` built (a netns made by someone else
-- stays). Run by a user, all of it happens inside the rootless holder.
--
--   local topology = require "lunshare.topology"
--   local plan = assert(topology.plan_up("walkthrough.lua"))
--   print(topology.text(plan))
--   assert(topology.apply_up(plan))
local state = require "lunshare.state"
local schema = require "lunshare.topology.schema"
local journal = require "lunshare.topology.journal"
local planner = require "lunshare.topology.plan"
local apply = require "lunshare.topology.apply"
local holder = require "lunshare.topology.holder"
local core = require "lunshare.core"
local rtnl = require "lunshare.rtnetlink"
local evaluator = require "lunshare.evaluator"
local util = require "lunshare.util"

local M = {}

M.load = schema.load
M.check = schema.check
M.text = planner.text

-- Runs fn(...) in the bounds on work with data a stranger may have written (the profile
-- evaluator's region); a bound reached is an error of the file.
local function bounded(label, fn, ...)
  local res = table.pack(evaluator.bounded(label, fn, ...))
  if not res[1] then return nil, { util.escape(label) .. ": " .. res[2] } end
  return table.unpack(res, 2, res.n)
end

-- The plan of up for topology file, and the loaded topology; nil and the list of the
-- file's errors. Loading and planning are bounded; nothing is opened but the file.
function M.plan_up(file)
  return bounded(file, function()
    local t, errs = schema.load(file)
    if not t then return nil, errs end
    return planner.up(t, state.rootless()), t
  end)
end

-- Runs fn(dir) with the state directory "net" (made when create is set; nil when it is
-- missing and create is not), then closes it.
local function with_state(create, fn)
  local dir, err = state.open("net", { create = create })
  if not dir and err then return nil, err end
  -- One command at a time on the caller's topologies: two `net up` of one file at once
  -- would both build it (sec: state races).
  local locked, lerr = not dir or dir:lock()
  if not locked then dir:close() return nil, lerr end
  local res = table.pack(pcall(fn, dir))
  if dir then dir:close() end
  if not res[1] then error(res[2], 0) end
  return table.unpack(res, 2, res.n)
end

-- The directories up made go once empty (a non-empty one stays, and those above it).
local function prune()
  if state.rootless() then state.prune("netns") end
  state.prune("net")
end

-- Performs a plan of up: the changes made (the commands they replace), or nil and a message.
function M.apply_up(plan)
  local changes, err = with_state(true, function(dir) return apply.up(plan, dir) end)
  if not changes then prune() end
  return changes, err
end

-- The plan of down for topology file (the file itself is not read: its journal is), or
-- nil and a message when the journal is not valid.
function M.plan_down(file)
  return with_state(false, function(dir)
    local st, err
    -- A rootless topology's state is both directories: each is verified before either is
    -- read (one prepared by someone else is refused by name).
    if dir and state.rootless() then
      local pins, perr = state.open("netns", { create = false })
      if not pins and perr then return nil, perr end
      if pins then pins:close() end
    end
    if dir then st, err = journal.read(dir, journal.name(file)) end
    if err then return nil, err end
    return planner.down(file, st, state.rootless())
  end)
end

-- Performs a plan of down: the removals made, or nil and the problems.
function M.apply_down(plan)
  local done, err = with_state(false, function(dir) return apply.down(plan, dir) end)
  if done then prune() end
  return done, err
end

-- Compares topology file with the kernel: rows { what =, state =, detail = }; nil, the
-- message and "usage" when the file is not valid.
function M.status(file)
  local plan, errs = M.plan_up(file)
  if not plan then return nil, errs, "usage" end
  return with_state(false, function(dir) return apply.status(plan, dir) end)
end

function M.up(file)
  local plan, errs = M.plan_up(file)
  if not plan then return nil, errs, "usage" end
  return M.apply_up(plan)
end

function M.down(file)
  local plan, err = M.plan_down(file)
  if not plan then return nil, err end
  return M.apply_down(plan)
end

-- The topologies this caller has up (from its state directory): a list of { name =,
-- hosts = { … }, holder = pid | false (rootless: gone) }, sorted by name; entries whose
-- journal is not valid carry error instead.
function M.list()
  return with_state(false, function(dir)
    if not dir then return {} end
    local names, err = journal.list(dir)
    if not names then return nil, err end
    local out = {}
    for _, name in ipairs(names) do
      local st, jerr = journal.read(dir, name)
      local e = { name = name, error = jerr }
      if st then e.hosts = st.uses or st.hosts end
      if state.rootless() then
        local pid, pidfd = holder.find(dir, name)
        if pidfd and pid then pidfd:close() end
        e.holder = pid or false
      end
      out[#out + 1] = e
    end
    return out
  end)
end

-- ---- net exec --------------------------------------------------------------------------------

local ENOENT = rtnl.errno.ENOENT

-- Runs argv in host's network namespace of topology file, as `ip netns exec` does: as
-- root, in /run/netns/HOST; as a user, inside the rootless holder's user and mount
-- namespaces and HOST's netns, with the caller's own uid and gid and no capability (a user
-- namespace of its own inside the holder's maps them back, so the command holds nothing
-- over the holder's namespaces). Returns only on failure: nil, a message and the exit
-- status (2: the file or the host; 1: the topology is not up; 127/126: the command).
function M.exec(file, host, argv)
  local t, errs = bounded(file, schema.load, file)
  if not t then return nil, errs, 2 end
  if type(t.hosts[host]) ~= "table" then
    local names = util.sorted_keys(t.hosts)
    return nil, util.escape(file) .. ": no host named " .. util.escape(host) .. util.suggest(host, names) ..
      (#names > 0 and ("; its hosts are " .. table.concat(names, ", ")) or "; it has no hosts"), 2
  end
  local ids = core.ids()
  local name = journal.name(file)
  local not_up = util.escape(file) .. " is not up (run 'lunshare net up " .. util.escape(file) .. "' first)"
  local netns, err
  if state.rootless() then
    local h
    h, err = with_state(false, function(dir)
      if not dir then return nil end
      return holder.enter(dir, name, false)
    end)
    if not h then return nil, err or not_up, 1 end
    netns, err = core.netns_open(host, h.pins:handle())
    h.pins:close()
    h.pidfd:close()
  else
    netns, err = core.netns_open(host)
  end
  if not netns then return nil, err .. "; " .. not_up, 1 end
  local ok, serr = core.setns(netns)
  netns:close()
  if not ok then return nil, "enter netns " .. util.escape(host) .. ": " .. serr, 1 end
  if state.rootless() then
    -- Inside the holder this process is its root; the command is the caller again.
    local uok, uerr = core.unshare({ "user" })
    if uok then uok, uerr = core.write_idmap(ids.pid, "uid", ids.uid .. " 0 1\n") end
    if uok then uok, uerr = core.write_idmap(ids.pid, "gid", ids.gid .. " 0 1\n") end
    if not uok then return nil, "become uid " .. ids.uid .. " again inside the holder: " .. tostring(uerr), 1 end
  end
  local _, msg, errno = core.exec(argv)
  return nil, msg, errno == ENOENT and 127 or 126
end

return M
