-- The planner: a checked profile becomes a plan, the ordered steps that `explain` prints
-- and `run` hands to the C executor. A pure function: everything it needs about the
-- caller (ids, environment, argv) comes in `ctx`, so it runs without privileges and specs
-- can assert on its output.
local util = require "lunshare.util"

local M = {}

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
  "early",      -- child: session, names, time namespace, the pid-1 reaper
  "mounts",     -- child: the filesystem view
  "network",    -- child: links, addresses and routes inside
  "late",       -- child: working directory, rlimits, fds
  "privileges", -- child: capabilities, no_new_privs, seccomp
  "exec",
}

-- The areas that plan their own fields. An area module has:
--   FIELDS        the top-level profile fields it owns
--   constructors  names visible inside profiles (`ro_bind "/usr"`); each returns plain
--                 data. The loader wraps them: the table a call returns is remembered
--                 with the call's line (provenance), and an error raised with level 2
--                 points at the profile line as "NAME: message".
--   check(c, p, ns)  c:fail(path, msg), c:warn(path, msg), c:type(v, path, want),
--                 c:keys(t, path, allowed); path is the field path ("mounts[3].source"),
--                 the checker finds its file:line itself, through `extends` too
--   plan(p, add, ctx)  add(phase, step); step.origin = M.origin(p, "mounts[3]")
--   grants(p, ctx)  { [category] = { item, … } } what its fields grant in effect, for
--                 the caller ctx: its part of the summary `diff` compares and `check`
--                 warns over (scripts/lunshare/grants.lua)
-- and optionally:
--   MERGE         { field = "replace"|"table"|"list"|"set"|{ key = rule, … } } how the
--                 field merges over an `extends` parent (scripts/lunshare/compose.lua);
--                 default "replace"
--   MERGE_KEY     { field = function(entry) -> key } for `without "KEY"` in a "list"
--                 field; default entry.target or .dst or .name or .dest or .path or [1]
M.AREAS = { "lunshare.mounts", "lunshare.network", "lunshare.security", "lunshare.requires", "lunshare.checks" }

local function step(plan, t, phase)
  local list = plan._phases[phase]
  assert(list, "unknown plan phase " .. tostring(phase))
  list[#list + 1] = t
  return t
end

-- The profile file:line an entry came from, through `extends` too. field is a path into
-- the profile: "hostname", "mounts[3]", "network.links[2].peer".
function M.origin(profile, field)
  return require("lunshare.profile").origin(profile, field)
end

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

-- The uid and gid maps for the user namespace: "self" maps the caller's ids to the ids
-- inside, except for a root caller, whose sandbox gets an unprivileged range (root's
-- subordinate range, or M.ROOT_FALLBACK_RANGE) so that root inside is not host root;
-- "host_root" keeps root inside host root for a root caller who asks for it; "subid"
-- adds the caller's subordinate range after its own id, through newuidmap.
-- Returns uid_map, gid_map, how ("deny": write directly after denying setgroups, "helper":
-- newuidmap/newgidmap, "root": written by root, setgroups allowed, groups cleared inside).
local function id_maps(profile, ctx)
  local u = profile.user or {}
  local uid_in, gid_in = u.uid or 0, u.gid or 0
  local ids = ctx.ids
  local m = u.map or "self"
  -- Root writes any map itself; others go through the setuid helpers, which check
  -- /etc/subuid and /etc/subgid.
  local privileged = (ids.euid or ids.uid) == 0
  if type(m) == "table" then
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
      return nil, "user.map = \"subid\" needs ranges for " .. (ids.user or ids.uid) ..
        " in /etc/subuid and /etc/subgid"
    elseif not us or not gs then
      us, uc = M.ROOT_FALLBACK_RANGE[1], M.ROOT_FALLBACK_RANGE[2]
      gs, gc = us, uc
    end
    if m == "subid" then
      -- Asked for many ids: inside counts from 0 over the range (uid N is start + N).
      local ucount, gcount = math.min(uc, 65536), math.min(gc, 65536)
      if uid_in >= ucount or gid_in >= gcount then
        return nil, "user.uid and user.gid must be below " .. math.min(ucount, gcount) ..
          " for a root caller (the size of root's subordinate range)"
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
    if not us or not gs then
      return nil, "user.map = \"subid\" needs ranges for " .. (ids.user or ids.uid) ..
        " in /etc/subuid and /etc/subgid"
    end
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
-- subid = function(kind) -> start, count }.
function M.build(profile, ctx)
  local plan = { profile = profile._file, steps = {}, _phases = {} }
  for _, ph in ipairs(M.PHASES) do plan._phases[ph] = {} end
  local ns = {}
  for _, n in ipairs(profile.namespaces or {}) do ns[n] = true end

  -- Time offsets can only be written before a process enters the namespace, so the
  -- child makes its own time namespace (see timens below) instead of clone doing it.
  local clone_ns = {}
  for _, n in ipairs(require("lunshare.schema").NAMESPACES) do
    if ns[n] and n ~= "time" then clone_ns[#clone_ns + 1] = n end
  end
  local unshare_flags = {}
  for _, n in ipairs(clone_ns) do unshare_flags[#unshare_flags + 1] = "--" .. n end
  step(plan, { op = "clone", where = "supervisor", namespaces = clone_ns,
    origin = M.origin(profile, "namespaces"),
    explain = "unshare " .. table.concat(unshare_flags, " ") .. (ns.pid and " --fork" or "") }, "clone")

  if ns.user then
    local uid_map, gid_map, how = id_maps(profile, ctx)
    if not uid_map then return nil, gid_map end
    local helper = how == "helper"
    local o = M.origin(profile, profile.user and "user" or "namespaces")
    if how == "root" then
      -- Root may keep setgroups allowed; the child sheds root's supplementary groups
      -- (group 0 among them) and, its host ids being unmapped, takes the ids inside.
      local u = profile.user or {}
      step(plan, { op = "set_ids", where = "child", uid = u.uid or 0, gid = u.gid or 0, origin = o,
        explain = string.format("setpriv --clear-groups --regid=%d --reuid=%d", u.gid or 0, u.uid or 0) }, "early")
    elseif not helper then
      -- An unprivileged process may write gid_map only after denying setgroups.
      step(plan, { op = "setgroups", where = "supervisor", allow = false, origin = o,
        explain = "echo deny > /proc/PID/setgroups" }, "ids")
    end
    local uid_step = { op = "uid_map", where = "supervisor", map = uid_map, origin = o,
      explain = "echo '" .. uid_map:gsub("\n$", ""):gsub("\n", "\\n") .. "' > /proc/PID/uid_map" }
    local gid_step = { op = "gid_map", where = "supervisor", map = gid_map, origin = o,
      explain = "echo '" .. gid_map:gsub("\n$", ""):gsub("\n", "\\n") .. "' > /proc/PID/gid_map" }
    if helper then
      uid_step.helper, gid_step.helper = "newuidmap", "newgidmap"
      uid_step.explain = "newuidmap PID " .. uid_map:gsub("\n", " ")
      gid_step.explain = "newgidmap PID " .. gid_map:gsub("\n", " ")
    end
    step(plan, uid_step, "ids")
    step(plan, gid_step, "ids")
  end

  if profile.hostname then
    step(plan, { op = "hostname", where = "child", name = profile.hostname,
      origin = M.origin(profile, "hostname"), explain = "hostname " .. profile.hostname }, "early")
  end
  if profile.domainname then
    step(plan, { op = "domainname", where = "child", name = profile.domainname,
      origin = M.origin(profile, "domainname"), explain = "domainname " .. profile.domainname }, "early")
  end
  if ns.time then
    local t = profile.time or {}
    step(plan, { op = "timens", where = "child", monotonic = t.monotonic or 0,
      boottime = t.boottime or 0, origin = M.origin(profile, profile.time and "time" or "namespaces"),
      explain = string.format("unshare --time --monotonic %d --boottime %d", t.monotonic or 0, t.boottime or 0) }, "early")
  end
  if ns.pid and profile.pid1 ~= "command" then
    step(plan, { op = "reaper", where = "pid1", origin = M.origin(profile, "namespaces"),
      explain = "pid 1 forks the command, reaps orphans and forwards signals" }, "early")
  end
  if profile.cwd then
    step(plan, { op = "chdir", where = "child", path = profile.cwd,
      origin = M.origin(profile, "cwd"), explain = "cd " .. util.shell_quote(profile.cwd) }, "late")
  end
  -- Every fd but stdio and the ones the profile names (keep_fds, checked by the security
  -- area) is closed: an fd the caller leaked would reach past the sandbox's view.
  local keep_fds = {}
  for i, fd in ipairs(profile.keep_fds or {}) do keep_fds[i] = tostring(fd) end
  step(plan, { op = "close_fds", where = "child", keep = keep_fds,
    origin = profile.keep_fds and M.origin(profile, "keep_fds") or plan.profile,
    explain = "close every fd but 0, 1 and 2" .. (#keep_fds > 0 and (" and " .. table.concat(keep_fds, ", ")) or "") }, "late")

  local argv = ctx.argv
  if not argv or #argv == 0 then argv = profile.command or { "/bin/sh" } end
  local env = M.environment(profile, ctx.environ)
  step(plan, { op = "exec", where = "child", argv = argv, env = env,
    origin = (ctx.argv and #ctx.argv > 0) and "command line" or M.origin(profile, "command"),
    explain = "env -i " .. util.shell_join(env) .. " " .. util.shell_join(argv) }, "exec")

  local add = function(phase, t) return step(plan, t, phase) end
  for _, name in ipairs(M.AREAS) do
    local ok, err = require(name).plan(profile, add, ctx)
    if ok == nil and err then return nil, err end
  end
  for _, ph in ipairs(M.PHASES) do
    for _, t in ipairs(plan._phases[ph]) do plan.steps[#plan.steps + 1] = t end
  end
  plan._phases = nil
  return plan
end

-- The context of the calling process, for build().
function M.context(argv)
  local core = require "lunshare.core"
  local ids = core.ids()
  return {
    ids = ids, environ = core.environ(), argv = argv,
    subid = function(kind)
      ids.user = ids.user or core.user(ids.uid)
      return core.subid(ids.user, kind == "uid" and ids.uid or ids.gid,
        kind == "uid" and "/etc/subuid" or "/etc/subgid")
    end,
  }
end

return M
