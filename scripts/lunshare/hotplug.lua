-- Joining a running sandbox: the plan of `lunshare enter` (and sb:enter), and hot-plug,
-- objects added to a named sandbox while it runs and taken away again (`lunshare plug`,
-- `lunshare unplug`, and the REPL's sb:plug / sb:unplug).
--
-- A plugged bind is the very step the same bind in a profile plans (lunshare.mounts:
-- nosuid, nodev, read-only unless asked, and for a root caller's writable bind into a
-- sandbox with ids of its own the idmapped tree lunshare.idmap plans), performed by a
-- plan the normal executor runs: a plain child clones the tree where it may
-- (plug_source), joins the sandbox's user and mount namespaces through a pidfd checked
-- against the command's start time and the recorded user namespace (the join step of
-- `lunshare enter`), attaches it there (plug_attach) and exits; it runs no program.
--
-- What is plugged is recorded in the sandbox's record (a third JSON line, swapped in
-- only while the record exists: a run that ended stays ended) and removed from it when
-- unplugged. Nothing outlives the sandbox: its mounts go with its mount namespace, and
-- the record with the run.
local core = require "lunshare.core"
local idmap = require "lunshare.idmap"
local mounts = require "lunshare.mounts"
local naming = require "lunshare.naming"
local network = require "lunshare.network"
local plan_mod = require "lunshare.plan"
local sandboxes = require "lunshare.sandboxes"
local security = require "lunshare.security"
local state = require "lunshare.state"

local M = {}

local function add_step(steps, t, origin)
  if not plan_mod.fill_step(t, origin) then
    error({ enter = "the sandbox's record names an unknown step '" .. tostring(t.op) .. "'" })
  end
  steps[#steps + 1] = t
end

-- The sandbox's command, pinned by its start time: pid, starttime; or nil and why.
local function command_of(rec)
  local cmd = sandboxes.command_pid(rec)
  local st = cmd and core.proc_stat(cmd)
  if not st or (rec.enter and rec.enter.reaper and st.ppid ~= rec.pid) then
    return nil, rec.name .. ": the sandbox's command is not running"
  end
  return cmd, st.starttime
end

-- The confinement steps the record keeps for the sandbox's command (empty if none).
local function enter_steps(rec)
  return type(rec.enter) == "table" and type(rec.enter.steps) == "table" and rec.enter.steps or {}
end

local function build_enter(rec, argv, pty)
  local e = rec.enter
  if type(e) ~= "table" or type(e.steps) ~= "table" or type(e.env) ~= "table" then
    return nil, rec.path .. ": the record says nothing of the command's confinement"
  end
  local cmd, starttime = command_of(rec)
  if not cmd then return nil, starttime end
  local origin = "enter " .. rec.name
  local kinds = {}
  for i, k in ipairs(core.ns_kinds()) do kinds[i] = k.name or k end
  local steps = {}
  add_step(steps, { op = "clone", namespaces = {} }, origin)
  add_step(steps, { op = "join", pid = cmd, starttime = starttime, user_ns = rec.ns.user, cgroup = e.cgroup == true,
    namespaces = kinds }, origin)
  for _, s in ipairs(e.steps) do
    -- Only the steps that confine a process: a record can name nothing else.
    if type(s) ~= "table" or not naming.ENTER_OPS[s.op] then
      return nil, rec.path .. ": the record names a step enter does not replay"
    end
    local t = {}
    for k, v in pairs(s) do t[k] = v end
    add_step(steps, t, origin)
    if s.op == "setsid" and pty then add_step(steps, { op = "pty" }, origin) end
  end
  add_step(steps, { op = "close_fds", keep = {} }, origin)
  add_step(steps, { op = "exec", argv = argv, env = e.env }, origin)
  -- The executor's order: the confinement steps, whose order the record keeps, last.
  local plan = { profile = rec.file, steps = steps }
  local ok, err = plan_mod.check(plan)
  if not ok then return nil, err end
  return plan
end

-- The plan of `lunshare enter` (and sb:enter): a plain child joins rec's command and
-- confines argv as it (see cmd/enter.lua). pty: give it a terminal of its own. Returns
-- the plan, or nil and why.
function M.enter_plan(rec, argv, pty)
  local ok, plan, err = pcall(build_enter, rec, argv, pty)
  if not ok then
    if type(plan) == "table" and plan.enter then return nil, plan.enter end
    error(plan, 0)
  end
  return plan, err
end

-- How ps shows a plugged object: the id unplug takes, and what it is.
function M.describe(o)
  if o.kind == "bind" then
    return o.id .. "(" .. (o.rw and "rw" or "ro") .. " from " .. tostring(o.src) .. ")"
  end
  if o.kind == "veth" then
    local function addrs(l) return type(l) == "table" and #l > 0 and (" " .. table.concat(l, "+")) or "" end
    if o.to ~= nil then
      return o.id .. addrs(o.address) .. "(veth to " .. tostring(o.to) .. ":" .. tostring(o.peer) .. addrs(o.peer_address) .. ")"
    end
    return o.id .. (o.bridge and ("@" .. tostring(o.bridge)) or "") .. addrs(o.host_address) .. "(veth to " ..
      tostring(o.inside) .. addrs(o.address) .. (o.gone and ", gone: its end inside was deleted" or "") .. ")"
  end
  return o.id .. "(" .. o.kind .. ")"
end

-- The host's index of the link named name, or nil.
local function host_index(name)
  local nl = core.netlink()
  if not nl then return nil end
  local idx = nl:link_index(name)
  nl:close()
  return idx
end

-- Whether a plugged veth to the host is gone: the sandbox deleted its end (as one keeping
-- net_admin can), which took the host end along. Told by the host end's index, recorded at
-- the plug: a host link made later under that name is another. It stays in the record
-- until unplugged (which then only drops it) or the sandbox ends.
function M.gone(o)
  if o.kind ~= "veth" or o.to ~= nil or math.type(o.host_index) ~= "integer" then return false end
  return host_index(o.id) ~= o.host_index
end

local function is_root() return (core.ids().euid or core.ids().uid) == 0 end

-- Whether the sandbox's seccomp filter, as its record holds it, has every @setid-files
-- rule (lunshare.security): without them a writable host path lets it make setuid files.
function M.setid_guarded(rec)
  local have = {}
  for _, s in ipairs(enter_steps(rec)) do
    if type(s) == "table" and s.op == "seccomp" and type(s.rules) == "table" then
      for _, r in ipairs(s.rules) do have[r] = true end
    end
  end
  for _, r in ipairs(security.with_setid_rules(nil)) do
    if r.group == "@setid-files" and not have[security.rule_string(r)] then return false end
  end
  return true
end

-- The plan of one hot-plug: steps as built here, where and origin filled in, checked.
local function finish(steps, origin)
  for _, t in ipairs(steps) do assert(plan_mod.fill_step(t, origin), t.op) end
  local plan = { profile = origin, steps = steps }
  local ok, err = plan_mod.check(plan)
  if not ok then return nil, err end
  return plan
end

-- The inside ids the sandbox's command was given (its set_ids step), for the idmapping.
local function inside_ids(rec)
  for _, s in ipairs(enter_steps(rec)) do
    if type(s) == "table" and s.op == "set_ids" then return { uid = s.uid or 0, gid = s.gid or 0 } end
  end
  return { uid = 0, gid = 0 }
end

-- A process's id map as the planner writes one ("inside outside count" lines, one space).
local function map_text(pid, which)
  local text = core.read_file("/proc/" .. pid .. "/" .. which, nil, "kernel")
  if not text then return nil end
  local lines = {}
  for a, b, n in text:gmatch("(%d+)%s+(%d+)%s+(%d+)") do lines[#lines + 1] = a .. " " .. b .. " " .. n end
  return table.concat(lines, "\n") .. "\n"
end

-- The plan that binds the host's src on dst (inside) in rec's sandbox; rw: writable.
function M.bind_plan(rec, src, dst, rw)
  local step, err = mounts.plug_step({ kind = rw and "bind" or "ro_bind", src = src, dst = dst or src },
    function(path) return core.resolve(path, core.ids().uid) end)
  if not step then return nil, err end
  local cmd, starttime = command_of(rec)
  if not cmd then return nil, starttime end
  local root = is_root()
  local prepare = {}
  if root and rec.ns.user then
    -- As for a profile's writable bind: what the sandbox makes there is its own.
    local umap, gmap = map_text(cmd, "uid_map"), map_text(cmd, "gid_map")
    if umap and gmap then
      idmap.plan({ user = inside_ids(rec) }, { step }, function(_, t) prepare[#prepare + 1] = t end, umap, gmap, "root")
    end
  end
  local steps = {}
  for _, t in ipairs(prepare) do t.origin = nil; steps[#steps + 1] = t end
  steps[#steps + 1] = { op = "clone", namespaces = {} }
  steps[#steps + 1] = { op = "plug_source", src = step.src, pid = cmd, starttime = starttime, user_ns = rec.ns.user,
    readonly = step.readonly, dev = step.dev, idmapped = step.idmapped, own_view = not root or nil }
  steps[#steps + 1] = { op = "join", pid = cmd, starttime = starttime, user_ns = rec.ns.user, namespaces = { "user", "mnt" } }
  steps[#steps + 1] = { op = "plug_attach", dst = step.dst }
  steps[#steps + 1] = { op = "exit" }
  local plan, perr = finish(steps, "plug " .. rec.name)
  if not plan then return nil, perr end
  return plan, step
end

-- The mounts the sandbox's command sees, { [id] = parent id } from its mountinfo, or nil.
local function mount_ids(rec)
  local cmd = command_of(rec)
  if not cmd then return nil end
  local text = core.read_file("/proc/" .. cmd .. "/mountinfo", nil, "kernel")
  if not text then return nil end
  local ids = {}
  for line in text:gmatch("[^\n]+") do
    local id, parent = line:match("^(%d+) (%d+) ")
    if id then ids[tonumber(id)] = tonumber(parent) end
  end
  return ids
end

-- The mount a plug made, from the sandbox's mounts before and after it (mount_ids): the
-- one new mount whose parent is not new (a recursive bind brings its submounts along), or
-- nil when there is not exactly one. Told by id, not by where mountinfo says it is: the
-- sandbox's program may rename a directory on the way to it at any moment, and its
-- mountinfo shows paths from its own root (a chroot shows the mount elsewhere). The
-- program holds no capability to mount anything of its own meanwhile (one that kept
-- CAP_SYS_ADMIN could unmount its profile's mounts itself, and makes this nil at worst).
function M.new_mount(before, after)
  local top
  for id, parent in pairs(after) do
    if before[id] == nil and not (after[parent] ~= nil and before[parent] == nil) then
      if top then return nil end
      top = id
    end
  end
  return top
end

-- The plan that takes the bind on dst away again.
function M.unbind_plan(rec, dst, mnt_id)
  local cmd, starttime = command_of(rec)
  if not cmd then return nil, starttime end
  return finish({
    { op = "clone", namespaces = {} },
    { op = "plug_target" },
    { op = "join", pid = cmd, starttime = starttime, user_ns = rec.ns.user, namespaces = { "user", "mnt" } },
    { op = "plug_detach", dst = dst, mnt_id = mnt_id },
    { op = "exit" },
  }, "unplug " .. rec.name)
end

-- The plan that adds the veth v ({ host =, name =, address = { … }, host_address = { … },
-- routes = { { to =, via = } }, bridge =, mtu = }, as a profile's veth { … }) to rec's
-- sandbox: the steps network.lua plans for the same veth in a profile, the pair made by
-- plug_veth (its peer born in the command's network namespace, named by a checked pidfd)
-- and the inside configured by a child that joined that namespace (a clone with a
-- network namespace of its own first, thrown away, so that no plan's inside steps can
-- reach the caller's), then exits.
--
-- With near (the record of another sandbox of the caller's), the pair links the two: the
-- end v.host is made in near's network namespace (named by a checked pidfd as well), and
-- configured there by plug_veth (v.host_address) rather than on the host.
function M.veth_plan(rec, v, near)
  local cmd, starttime = command_of(rec)
  if not cmd then return nil, starttime end
  local fields = { pid = cmd, starttime = starttime, user_ns = rec.ns.user }
  if near then
    local ncmd, nstart = command_of(near)
    if not ncmd then return nil, nstart end
    fields.near_pid, fields.near_starttime, fields.near_user_ns = ncmd, nstart, near.ns.user
  end
  local host, inside = {}, {}
  network.veth_steps(v, v.name or v.host, function(phase, t)
    local into = phase == "host" and host or inside
    into[#into + 1] = t
  end, nil, "plug_veth", fields)
  local steps = { { op = "clone", namespaces = { "net" } } }
  for _, t in ipairs(host) do steps[#steps + 1] = t end
  steps[#steps + 1] = { op = "join", pid = cmd, starttime = starttime, user_ns = rec.ns.user, namespaces = { "net" } }
  for _, t in ipairs(inside) do steps[#steps + 1] = t end
  steps[#steps + 1] = { op = "exit" }
  return finish(steps, "plug " .. rec.name)
end

-- Runs fn(list, …) with each of recs' records read under the area's lock (one list of
-- plugged objects per record, values[3].plugged), then swaps the changed records in. fn
-- returns true to write, or nil and why. Returns true, or nil and why.
local function with_records(recs, fn)
  local dir, err = state.open(sandboxes.AREA, { create = false })
  if not dir then return nil, err or (recs[1].name .. ": the sandbox ended") end
  local ok, lerr = dir:lock()
  if not ok then
    dir:close()
    return nil, lerr
  end
  local all, lists = {}, {}
  for i, rec in ipairs(recs) do
    local values = dir:read_json_lines(rec.name)
    local r = type(values) == "table" and values[2]
    if type(r) ~= "table" or r.pid ~= rec.pid or r.starttime ~= rec.starttime then
      dir:close()
      return nil, rec.name .. ": the sandbox ended"
    end
    if type(values[3]) ~= "table" or type(values[3].plugged) ~= "table" then values[3] = { plugged = {} } end
    -- A veth to a sandbox that ended went with it: dropped as the record is written.
    local live = {}
    for _, o in ipairs(values[3].plugged) do
      if type(o) ~= "table" or sandboxes.plug_alive(o) then live[#live + 1] = o end
    end
    values[3].plugged = live
    all[i], lists[i] = values, live
  end
  local want, why = fn(table.unpack(lists))
  if want then
    for i, rec in ipairs(recs) do
      local values = all[i]
      if #values[3].plugged == 0 then values[3] = nil end
      local w, werr = dir:update_json_lines(rec.name, values)
      if not w then want, why = w, werr end
    end
  end
  dir:close()
  return want, why
end

local function with_record(rec, fn) return with_records({ rec }, fn) end

local function find(list, id)
  for i, o in ipairs(list) do if o.id == id then return i, o end end
end

local function spawn(plan, what)
  local code, msg = core.spawn(plan)
  if not code then return nil, what .. ": " .. msg end
  if code ~= 0 then return nil, what .. ": the plan's child ended with status " .. code end
  return true
end

-- Binds the host's src on dst in rec's sandbox (writable with rw) and records it.
-- Returns the recorded object, or nil and why (one line).
function M.plug_bind(rec, src, dst, rw)
  -- The CLI refuses these as usage; the REPL's sb:plug comes here directly.
  if src:sub(1, 1) ~= "/" or (dst ~= nil and dst:sub(1, 1) ~= "/") then
    return nil, "SRC and DST must be absolute paths"
  end
  if rw and not M.setid_guarded(rec) then
    return nil, rec.name .. ": a writable bind is refused: the sandbox's seccomp filter lacks the @setid-files " ..
      "rules, so through a writable host path it could make setuid files on the host; bind it read-only, or run " ..
      "the sandbox with that group in its filter (a writable bind in its profile brings it)"
  end
  local plan, step = M.bind_plan(rec, src, dst, rw)
  if not plan then return nil, step end
  local obj = { kind = "bind", id = step.dst, src = step.src, rw = rw == true }
  local done, err = with_record(rec, function(list)
    if find(list, obj.id) then return nil, rec.name .. ": " .. obj.id .. " is plugged already (unplug it first)" end
    local before = mount_ids(rec)
    if not before then return nil, rec.name .. ": the sandbox's mounts cannot be read (it ended?)" end
    local ok, serr = spawn(plan, "bind " .. step.src .. " on " .. step.dst)
    if not ok then return nil, serr end
    local after = mount_ids(rec)
    obj.mnt_id = after and M.new_mount(before, after)
    if not obj.mnt_id then
      return nil, "bind " .. step.dst .. ": made, but the sandbox's mounts changed beside it, so which one is the " ..
        "plug's cannot be told; it stays until the sandbox ends"
    end
    list[#list + 1] = obj
    return true
  end)
  if not done then return nil, err end
  return obj
end

local function host_link_exists(name) return host_index(name) ~= nil end

-- Word for word what core/net_ops.c says when a profile's veth meets EPERM (the spec holds
-- the two to each other); the planner refuses a rootless profile's veth with it too.
M.HOST_LINK_NEEDS_ROOT = network.HOST_LINK_NEEDS_ROOT

-- Adds the veth v (see M.veth_plan) to rec's sandbox and records it. Returns the
-- recorded object, or nil and why (one line). Rootless it is refused with the message a
-- profile's veth gets.
function M.plug_veth(rec, v)
  if not network.valid_ifname(v.host) or (v.name ~= nil and not network.valid_ifname(v.name)) then
    return nil, "a link name is 1 to 15 bytes without '/' or spaces"
  end
  if v.to ~= nil then return M.plug_pair(rec, v) end
  if v.bridge ~= nil and not network.valid_ifname(v.bridge) then return nil, "--bridge: expected a bridge's name" end
  if not is_root() then
    -- What a profile's veth is told rootless (the planner, in core/net_ops.c's words).
    return nil, "veth " .. v.host .. ": " .. M.HOST_LINK_NEEDS_ROOT
  end
  local own_net = false
  for _, k in ipairs(rec.namespaces) do own_net = own_net or k == "net" end
  if not own_net then return nil, rec.name .. ": the sandbox has no network namespace of its own" end
  if host_link_exists(v.host) then return nil, "a link named " .. v.host .. " exists on the host already" end
  local plan, err = M.veth_plan(rec, v)
  if not plan then return nil, err end
  local obj = { kind = "veth", id = v.host, inside = v.name or v.host, address = v.address or {},
    host_address = v.host_address or {}, bridge = v.bridge }
  local done, derr = with_record(rec, function(list)
    if find(list, obj.id) then return nil, rec.name .. ": " .. obj.id .. " is plugged already (unplug it first)" end
    local ok, serr = spawn(plan, "veth " .. v.host)
    if not ok then
      -- The pair exists when a step after plug_veth failed: it was not there before.
      if not serr:find("File exists", 1, true) and host_link_exists(v.host) then
        local nl = core.netlink()
        if nl then nl:link_del(v.host); nl:close() end
      end
      return nil, serr
    end
    obj.host_index = host_index(v.host)
    list[#list + 1] = obj
    return true
  end)
  if not done then return nil, derr end
  return obj
end

-- Word for word the refusal of a veth between two sandboxes to a caller who is not root.
M.PAIR_NEEDS_ROOT = "a veth between two sandboxes needs root: each has a user namespace of its own, and " ..
  "moving a link from one network namespace into another needs CAP_NET_ADMIN over both, which no " ..
  "unprivileged caller holds; run as root, or put both on one rootless topology (`lunshare net up FILE`, " ..
  "then network = { join = \"TOPOLOGY/HOST\" } in each profile)"

local function own_net(rec)
  for _, k in ipairs(rec.namespaces) do if k == "net" then return true end end
  return false
end

-- The command's network namespace as a netlink handle (through a pidfd checked against
-- its start time), or nil and why.
local function netlink_of(rec)
  local cmd, starttime = command_of(rec)
  if not cmd then return nil, starttime end
  local pidfd, perr = core.pidfd_open(cmd)
  if not pidfd then return nil, rec.name .. ": " .. tostring(perr) end
  local st = core.proc_stat(cmd)
  if not st or st.starttime ~= starttime then
    pidfd:close()
    return nil, rec.name .. ": the sandbox's command is not running"
  end
  local nl, err = core.netlink({ pidfd = pidfd })
  pidfd:close()
  if not nl then return nil, rec.name .. ": " .. tostring(err) end
  return nl
end

-- Adds a veth between rec and the running sandbox v.to (its record) of the caller's:
-- v.host is the end in rec (addresses v.address, routes
-- v.routes), v.peer (default v.host) the end in v.to (addresses v.host_address). Both
-- records list it; returns rec's object, or nil and why (one line).
function M.plug_pair(rec, v)
  if v.name ~= nil then return nil, "veth " .. v.host .. ": with --to, name the other's end as OTHER:IF2" end
  local peer = v.peer or v.host
  if not network.valid_ifname(peer) then return nil, "a link name is 1 to 15 bytes without '/' or spaces" end
  if v.bridge ~= nil then return nil, "--bridge: a veth to another sandbox has no host end to put on a bridge" end
  if not is_root() then return nil, "veth " .. v.host .. " --to " .. v.to.name .. ": " .. M.PAIR_NEEDS_ROOT end
  local other = v.to
  if other.name == rec.name then return nil, rec.name .. ": --to names the sandbox itself" end
  for _, r in ipairs({ rec, other }) do
    if not own_net(r) then return nil, r.name .. ": the sandbox has no network namespace of its own" end
  end
  -- In the plan's terms the other sandbox holds the "host" end, rec the inside one.
  local plan, err = M.veth_plan(rec, { host = peer, name = v.host, address = v.address, host_address = v.host_address,
    routes = v.routes }, other)
  if not plan then return nil, err end
  local mine = { kind = "veth", id = v.host, inside = v.host, to = other.name, peer = peer, to_pid = other.pid,
    to_starttime = other.starttime, address = v.address or {}, peer_address = v.host_address or {} }
  local theirs = { kind = "veth", id = peer, inside = peer, to = rec.name, peer = v.host, to_pid = rec.pid,
    to_starttime = rec.starttime, address = v.host_address or {}, peer_address = v.address or {} }
  local done, derr = with_records({ rec, other }, function(list, olist)
    if find(list, mine.id) then return nil, rec.name .. ": " .. mine.id .. " is plugged already (unplug it first)" end
    if find(olist, theirs.id) then
      return nil, other.name .. ": " .. theirs.id .. " is plugged already (unplug it first)"
    end
    local ok, serr = spawn(plan, "veth " .. v.host .. " --to " .. other.name)
    if not ok then
      -- The pair exists when a step after plug_veth failed (EEXIST stops before it).
      if not serr:find("File exists", 1, true) then
        local nl = netlink_of(rec)
        if nl then
          if nl:link_index(mine.id) then nl:link_del(mine.id) end
          nl:close()
        end
      end
      return nil, serr
    end
    list[#list + 1], olist[#olist + 1] = mine, theirs
    return true
  end)
  if not done then return nil, derr end
  return mine
end

-- A veth between two sandboxes removed from rec's side (the pair goes with either end),
-- and taken out of both records. Gone already is fine.
local function unplug_pair(rec, o)
  local other = sandboxes.find(o.to)
  local recs = { rec }
  if other and other.pid == o.to_pid and other.starttime == o.to_starttime then recs[2] = other end
  return with_records(recs, function(list, olist)
    local i = find(list, o.id)
    if not i then return nil, rec.name .. ": nothing plugged as " .. o.id end
    local nl, err = netlink_of(rec)
    if not nl then return nil, err end
    local ok, derr = true, nil
    if nl:link_index(o.id) then ok, derr = nl:link_del(o.id) end
    nl:close()
    if not ok then return nil, "unplug " .. o.id .. ": " .. tostring(derr) end
    table.remove(list, i)
    if olist then
      for j = #olist, 1, -1 do
        local p = olist[j]
        if p.to == rec.name and p.id == o.peer and p.to_pid == rec.pid then table.remove(olist, j) end
      end
    end
    return true
  end)
end

-- A veth taken away by its end inside the sandbox (the host end goes with it), never by
-- the host end's name: the sandbox can delete its end, and a host link made later under
-- that name is someone else's. What the sandbox calls o.inside is its own business: at
-- worst it loses a link of its own. Gone already is fine.
local function unplug_veth(rec, o)
  local nl, err = netlink_of(rec)
  if not nl then return nil, err end
  local ok, derr = true, nil
  if nl:link_index(o.inside or o.id) then ok, derr = nl:link_del(o.inside or o.id) end
  nl:close()
  if not ok then return nil, "unplug " .. o.id .. ": " .. tostring(derr) end
  return true
end

function M.unplug(rec, id)
  for _, o in ipairs(rec.plugged or {}) do
    if o.id == id and o.to ~= nil then return unplug_pair(rec, o) end
  end
  return with_record(rec, function(list)
    local i, o = find(list, id)
    if not i then
      local ids = {}
      for j, p in ipairs(list) do ids[j] = p.id end
      return nil, rec.name .. ": nothing plugged as " .. id .. (#ids > 0 and (" (plugged: " .. table.concat(ids, ", ") .. ")") or "")
    end
    if o.kind == "veth" then
      local ok, verr = unplug_veth(rec, o)
      if not ok then return nil, verr end
    else
      if not o.mnt_id then return nil, rec.name .. ": " .. o.id .. ": the record names no mount id (plugged by an older lunshare)" end
      local plan, err = M.unbind_plan(rec, o.id, o.mnt_id)
      if not plan then return nil, err end
      local ok, serr = spawn(plan, "unplug " .. o.id)
      if not ok then return nil, serr end
    end
    table.remove(list, i)
    return true
  end)
end

return M
