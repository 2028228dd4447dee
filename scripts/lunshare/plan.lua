-- The planner: a checked profile becomes a plan, the ordered steps that `explain` prints
-- and `run` hands to the C executor. A pure function: everything it needs about the
-- caller (ids, environment, argv) comes in `ctx`, so it runs without privileges and specs
-- can assert on its output.
local areas = require "lunshare.areas"
local core = require "lunshare.core"
local egress = require "lunshare.egress"
local idmap = require "lunshare.idmap"
local network = require "lunshare.network"
local schema = require "lunshare.schema"
local source_map = require "lunshare.source_map"
local util = require "lunshare.util"

local M = {}

-- The executor's ops, the one description of each step (core/*_ops.c): its place, its
-- phase, its fields. A step's `where` is its op's.
local OPS = core.ops()

local DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin"
-- Variables kept from the caller when a profile clears the environment without a keep list.
M.DEFAULT_KEEP = { "TERM", "LANG", "LC_ALL", "LC_CTYPE", "COLORTERM", "TZ" }

-- Steps are gathered by phase and then laid out in this order. Supervisor phases come
-- first; in the child, privileges are dropped last so that nothing after needs them.
M.PHASES = {
  "prepare",    -- supervisor, before the child exists (cgroups, named netns lookups)
  "clone",      -- the clone into new namespaces
  "ids",        -- supervisor: setgroups, uid_map, gid_map
  "host",       -- supervisor, after the maps: host-side links, cgroup placement
  "early",      -- child: session, names, time namespace
  "mounts",     -- child: the filesystem view
  "network",    -- child: links, addresses and routes inside
  "late",       -- child: working directory, rlimits, fds
  "privileges", -- child: capabilities, no_new_privs, seccomp
  "exec",
}


-- Fills step t from its op: its `where` (never chosen by a planner) and, when given, its
-- origin. t, or nil when the executor has no such op. The one filler of every plan's
-- steps: a profile's here, and enter's and hot-plug's (lunshare.hotplug).
function M.fill_step(t, origin)
  local op = OPS[t.op]
  if not op then return nil end
  t.where = op.where
  if origin ~= nil then t.origin = origin end
  return t
end

local function step(plan, t, phase)
  local list = plan._phases[phase]
  assert(list, "unknown plan phase " .. tostring(phase))
  assert(M.fill_step(t), "unknown op " .. tostring(t.op))
  list[#list + 1] = t
  return t
end

-- The profile file:line an entry came from, through `extends` too. field is a path into
-- the profile: "hostname", "mounts[3]", "network.links[2].peer".
M.origin = source_map.origin

-- The environment the command receives, in a stable order.
function M.environment(profile, environ)
  local e = profile.env or {}
  local clear = e.clear ~= false
  local vars, order = {}, {}
  local function put(k, v)
    if vars[k] == nil then order[#order + 1] = k end
    vars[k] = v
  end
  local keep = {}
  for _, k in ipairs(e.keep or M.DEFAULT_KEEP) do keep[k] = true end
  for _, kv in ipairs(environ or {}) do
    -- Plain find and sub: a caller's environment can hold long values (LS_COLORS, …).
    local eq = kv:find("=", 2, true)
    if eq then
      local k = kv:sub(1, eq - 1)
      if not clear or keep[k] then put(k, kv:sub(eq + 1)) end
    end
  end
  if vars.PATH == nil then put("PATH", DEFAULT_PATH) end
  -- An egress allowlist's proxy (lunshare.egress), before the profile's own settings.
  local proxy = egress.env(profile)
  for _, k in ipairs(util.sorted_keys(proxy)) do put(k, proxy[k]) end
  for _, k in ipairs(util.sorted_keys(e.set or {})) do put(k, e.set[k]) end
  for _, k in ipairs(e.unset or {}) do vars[k] = nil end
  local out = {}
  for _, k in ipairs(order) do
    if vars[k] ~= nil then out[#out + 1] = k .. "=" .. vars[k] end
  end
  return out
end

local function map_text(ranges)
  local lines = {}
  for _, r in ipairs(ranges) do lines[#lines + 1] = string.format("%d %d %d\n", r[1], r[2], r[3]) end
  return table.concat(lines)
end

-- A root caller's sandbox gets this id when /etc/subuid has no range for root: above
-- login.defs' SUB_UID_MAX (600100000), so useradd never hands it to a user, and below
-- 2^31, for programs that keep ids in signed ints. Root inside is then nobody on the host.
M.ROOT_FALLBACK_RANGE = { 2000000000, 65536 }

-- Why user.map = "subid" has no map for the caller (ids: ctx.ids) on this machine: the
-- line run prints (exit 1, the machine's: the same profile runs where the caller has
-- ranges) and check warns with.
function M.subid_missing(ids)
  return "user.map = \"subid\" needs ranges for " .. tostring(ids.user or ids.uid) ..
    " in /etc/subuid and /etc/subgid, and this machine has none: add a line for it to both " ..
    "(usermod --add-subuids and --add-subgids), or use map = \"self\""
end

-- The uid and gid maps for the user namespace: "self" maps the caller's ids to the ids
-- inside, except for a root caller, whose sandbox gets an unprivileged range (root's
-- subordinate range, or M.ROOT_FALLBACK_RANGE) so that root inside is not host root;
-- "host_root" keeps root inside host root for a root caller who asks for it; "subid"
-- adds the caller's subordinate range after its own id, through newuidmap.
-- Returns uid_map, gid_map, how ("deny": write directly after denying setgroups, "helper":
-- newuidmap/newgidmap, "root": written by root, setgroups allowed, groups cleared inside),
-- or nil, why and "machine" when what is missing is this machine's (/etc/subuid), not the
-- profile's.
local function id_maps(profile, ctx)
  local u = profile.user or {}
  local uid_in, gid_in = u.uid or 0, u.gid or 0
  local ids = ctx.ids
  local m = u.map or "self"
  -- Root writes any map itself; others go through the setuid helpers, which check
  -- /etc/subuid and /etc/subgid.
  local privileged = (ids.euid or ids.uid) == 0
  if type(m) == "table" then
    -- A root run's egress proxy takes an id of its own from egress.PROXY_IDS, used by no
    -- account: a sandbox mapping any of them could signal another run's proxy.
    local from, count = egress.PROXY_IDS[1], egress.PROXY_IDS[2]
    for i, r in ipairs(m) do
      if type(r[2]) == "number" and type(r[3]) == "number" and r[2] < from + count and from < r[2] + r[3] then
        return nil, string.format("user.map[%d]: host ids %d..%d are lunshare's own (a root run's egress " ..
          "proxy takes one); expected a range outside them", i, from, from + count - 1)
      end
    end
    return map_text(m), map_text(m), privileged and "root" or "helper"
  end
  if m == "host_root" and not privileged then
    return nil, "user.map = \"host_root\" maps root inside to the host's root: only root can run it"
  end
  -- For root, "self" and "subid" both mean root's own subordinate range (with "self"
  -- falling back to the fixed range): never host root inside.
  if privileged and (m == "self" or m == "subid") then
    local us, uc = ctx.subid("uid")
    local gs, gc = ctx.subid("gid")
    if (not us or not gs) and m == "subid" then
      return nil, M.subid_missing(ids), "machine"
    elseif not us or not gs then
      us, uc = M.ROOT_FALLBACK_RANGE[1], M.ROOT_FALLBACK_RANGE[2]
      gs, gc = us, uc
    end
    if m == "subid" then
      -- Asked for many ids: inside counts from 0 over the range (uid N is start + N).
      local ucount, gcount = math.min(uc, 65536), math.min(gc, 65536)
      if uid_in >= ucount or gid_in >= gcount then
        return nil, "user.uid and user.gid must be below " .. math.min(ucount, gcount) ..
          " for a root caller (the size of root's subordinate range)", "machine"
      end
      return map_text({ { 0, us, ucount } }), map_text({ { 0, gs, gcount } }), "root"
    end
    -- "self": one id, as for any caller: the first of root's range is the id inside.
    return map_text({ { uid_in, us, 1 } }), map_text({ { gid_in, gs, 1 } }), "root"
  end
  local uranges = { { uid_in, ids.uid, 1 } }
  local granges = { { gid_in, ids.gid, 1 } }
  if m == "subid" then
    local us, uc = ctx.subid("uid")
    local gs, gc = ctx.subid("gid")
    if not us or not gs then return nil, M.subid_missing(ids), "machine" end
    -- Ids inside other than the mapped one come from the subordinate range, in order.
    uranges[2] = { uid_in == 0 and 1 or 0, us, math.min(uc, 65536) }
    granges[2] = { gid_in == 0 and 1 or 0, gs, math.min(gc, 65536) }
    if uid_in ~= 0 then uranges[2][3] = math.min(uranges[2][3], uid_in) end
    if gid_in ~= 0 then granges[2][3] = math.min(granges[2][3], gid_in) end
    return map_text(uranges), map_text(granges), "helper"
  end
  return map_text(uranges), map_text(granges), privileged and "root" or "deny"
end
M.id_maps = id_maps

-- Builds the plan. ctx: { ids = core.ids(), environ = {…}, argv = {…} or nil,
-- subid = function(kind) -> start, count, pty = true to give the sandbox a terminal,
-- timeout_ms = a wall-clock limit over the profile's limits.time }. Returns the plan, or
-- nil, why and, when this machine decides it (no /etc/subuid range), "machine": run exits
-- 1 for that, 2 for the profile's own.
function M.build(profile, ctx)
  local plan = { profile = profile._file, steps = {}, _phases = {} }
  for _, ph in ipairs(M.PHASES) do plan._phases[ph] = {} end
  local a = areas.context(profile, ctx)
  local ns = a.ns

  -- Time offsets can only be written before a process enters the namespace, so the
  -- child makes its own time namespace (see timens below) instead of clone doing it.
  -- A joined netns is where the child is born (network.lua): no netns of its own.
  local joins = type(profile.network) == "table" and profile.network.join ~= nil
  local clone_ns = {}
  for _, n in ipairs(schema.NAMESPACES) do
    if ns[n] and n ~= "time" and not (n == "net" and joins) then clone_ns[#clone_ns + 1] = n end
  end
  step(plan, { op = "clone", namespaces = clone_ns, origin = M.origin(profile, "namespaces") }, "clone")

  local uid_map, gid_map, how
  if ns.user then
    uid_map, gid_map, how = id_maps(profile, ctx)
    if how == "machine" then
      local u = type(profile.user) == "table" and profile.user or {}
      return nil, M.origin(profile, u.map ~= nil and "user.map" or "user") .. ": " .. gid_map, how
    end
    if not uid_map then return nil, gid_map end
    local helper = how == "helper"
    local o = M.origin(profile, profile.user and "user" or "namespaces")
    if network.joins_topology(profile, ctx) then
      -- The sandbox's user namespace is made inside the topology holder's, which maps the
      -- caller's uid and gid to 0 and nothing else (topology/holder.lua): the maps are
      -- written in the holder's ids, and only that one id can be mapped.
      if helper then
        return nil, o .. ": user.map: a host of a rootless topology is joined with your own uid and gid " ..
          "only (its holder maps no other): use user.map = \"self\""
      end
      local u = profile.user or {}
      uid_map = map_text({ { u.uid or 0, 0, 1 } })
      gid_map = map_text({ { u.gid or 0, 0, 1 } })
    end
    if how == "root" then
      -- Root may keep setgroups allowed; the child sheds root's supplementary groups
      -- (group 0 among them) and, its host ids being unmapped, takes the ids inside.
      local u = profile.user or {}
      step(plan, { op = "set_ids", uid = u.uid or 0, gid = u.gid or 0, origin = o }, "early")
    elseif not helper then
      -- An unprivileged process may write gid_map only after denying setgroups.
      step(plan, { op = "setgroups", allow = false, origin = o }, "ids")
    end
    local uid_step = { op = "uid_map", map = uid_map, origin = o }
    local gid_step = { op = "gid_map", map = gid_map, origin = o }
    if helper then uid_step.helper, gid_step.helper = "newuidmap", "newgidmap" end
    step(plan, uid_step, "ids")
    step(plan, gid_step, "ids")
  end

  if profile.hostname then
    step(plan, { op = "hostname", name = profile.hostname, origin = M.origin(profile, "hostname") }, "early")
  end
  if profile.domainname then
    step(plan, { op = "domainname", name = profile.domainname, origin = M.origin(profile, "domainname") }, "early")
  end
  if ns.time then
    local t = profile.time or {}
    step(plan, { op = "timens", monotonic = schema.offset_seconds(t.monotonic or 0),
      boottime = schema.offset_seconds(t.boottime or 0),
      origin = M.origin(profile, profile.time and "time" or "namespaces") }, "early")
  end
  if profile.cwd then
    step(plan, { op = "chdir", path = profile.cwd, origin = M.origin(profile, "cwd") }, "late")
  end
  -- A terminal of the sandbox's own (ctx.pty: the caller's stdin and stdout are
  -- terminals, or --pty): made after the mounts, from its devpts, and proxied by the
  -- supervisor. Needs the new session the security area makes.
  if ctx.pty then
    step(plan, { op = "pty", origin = ctx.pty_origin or "command line" }, "late")
  end
  -- Every fd but stdio and the ones the profile names (keep_fds, checked by the security
  -- area) is closed: an fd the caller leaked would reach past the sandbox's view.
  local keep_fds = {}
  for i, fd in ipairs(profile.keep_fds or {}) do keep_fds[i] = tostring(fd) end
  step(plan, { op = "close_fds", keep = keep_fds,
    origin = profile.keep_fds and M.origin(profile, "keep_fds") or plan.profile }, "late")

  local argv = ctx.argv
  if not argv or #argv == 0 then argv = profile.command or { "/bin/sh" } end
  local env = M.environment(profile, ctx.environ)
  -- With a pid namespace, pid 1 stays lunshare's: it forks the command, reaps orphans and
  -- forwards signals (pid1 = "command" makes the command pid 1 itself).
  local reaper = ns.pid and profile.pid1 ~= "command"
  step(plan, { op = "exec", argv = argv, env = env, reaper = reaper or nil,
    origin = (ctx.argv and #ctx.argv > 0) and "command line" or M.origin(profile, "command") }, "exec")

  local add = function(phase, t) return step(plan, t, phase) end
  local ok, err = areas.plan(profile, add, a)
  if not ok then return nil, err end
  -- Every namespace but a user namespace needs CAP_SYS_ADMIN over the caller's own user
  -- namespace: without a user namespace of its own, a sandbox of a caller who is not root
  -- is refused at the clone (EPERM), whatever the machine.
  local ids = ctx.ids
  if not ns.user and ids and (ids.euid or ids.uid) ~= 0 and (#clone_ns > 0 or ns.time) then
    local made = {}
    for _, n in ipairs(schema.NAMESPACES) do
      if ns[n] and not (n == "net" and joins) then made[#made + 1] = n end
    end
    return nil, M.origin(profile, "namespaces") .. ": namespaces: without a user namespace, a caller who is " ..
      "not root cannot make the others (" .. table.concat(made, ", ") .. "): keep \"user\" in namespaces, " ..
      "or run as root"
  end
  -- A root caller's writable binds become idmapped mounts (lunshare.idmap).
  idmap.plan(profile, plan._phases.mounts, add, uid_map, gid_map, how)
  for _, ph in ipairs(M.PHASES) do
    for _, t in ipairs(plan._phases[ph]) do plan.steps[#plan.steps + 1] = t end
  end
  plan._phases = nil
  areas.finish(plan, profile, a)
  ok, err = M.check(plan)
  if not ok then return nil, err end
  return plan
end

-- Whether the executor would take the plan: every check spawn makes before it acts (each
-- step's op and fields, converted as spawn converts them, then lsh_plan_validate: places,
-- required fields, the order of the phases), in C, acting on nothing. Returns true, or nil
-- and the message spawn would give, so that explain refuses what run would.
function M.check(plan)
  local ok, valid, msg = pcall(core.plan_check, plan)
  if not ok then return nil, valid end
  if not valid then return nil, msg end
  return true
end

-- The context of the calling process, for build().
function M.context(argv)
  local ids = core.ids()
  return {
    ids = ids, environ = core.environ(), argv = argv,
    -- A host path as the mounts reach it: symlinks resolved, none that another user
    -- could have placed (core.resolve).
    resolve = function(path) return core.resolve(path, ids.uid) end,
    subid = function(kind)
      ids.user = ids.user or core.user(ids.uid)
      return core.subid(ids.user, kind == "uid" and ids.uid or ids.gid,
        kind == "uid" and "/etc/subuid" or "/etc/subgid")
    end,
  }
end

return M
