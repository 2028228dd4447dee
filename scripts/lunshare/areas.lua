-- The profile areas and their contract. The core fields (namespaces, user, hostname, env,
-- command, …) are the schema's, the planner's and the grants summary's own; every other
-- field belongs to one area module, listed here and nowhere else:
--
--   mounts     the filesystem view (mounts, root)
--   network    the network (network)
--   security   the boundary (capabilities, no_new_privs, seccomp, limits, terminal, keep_fds,
--              allow_setid_files)
--   requires   what a profile needs of the lunshare and the caller that run it (requires)
--   checks     what `lunshare test` runs to show the profile works here (checks)
--   naming     a running sandbox's name, which ps, stop and enter know it by (name)
--
-- An area module has:
--   FIELDS        the top-level profile fields it owns
--   constructors  names visible inside profiles (`ro_bind "/usr"`); each returns plain
--                 data. The loader wraps them: the table a call returns is remembered
--                 with the call's line (provenance), and an error raised with level 2
--                 points at the profile line as "NAME: message".
--   check(c, p, a)  c:fail(path, msg), c:warn(path, msg), c:type(v, path, want),
--                 c:keys(t, path, allowed), c:list(v, path, what); path is the field path
--                 ("mounts[3].source"), the checker finds its file:line itself, through
--                 `extends` too
--   plan(p, add, a)  add(phase, step) appends a step in one of lunshare.plan.PHASES, its
--                 place (where) taken from the op; step.origin = a.origin("mounts[3]");
--                 returns true, or nil and a message
--   grants(p, a)  { [category] = { item, … } } what its fields grant in effect, for the
--                 caller a.caller: its part of the summary `diff` compares and `check`
--                 warns over (lunshare.grants)
-- and optionally:
--   finish(plan, p, a)  called once the plan is laid out (plan.steps in order), to fill
--                 what its steps need from the whole plan (the record of a named run)
--   MERGE         { field = "replace"|"table"|"list"|"set"|{ key = rule, … } } how the
--                 field merges over an `extends` parent (lunshare.compose); default
--                 "replace"
--   MERGE_KEY     { field = function(entry) -> key } for `without "KEY"` in a "list"
--                 field; default entry.target or .dst or .name or .dest or .path or [1]
--
-- `a`, the area context, holds what every area needs about the profile and the caller,
-- computed once by M.context and passed to each: the namespace set, whether a capability
-- is kept, the caller, and the origin of a field.
local checks = require "lunshare.checks"
local mounts = require "lunshare.mounts"
local naming = require "lunshare.naming"
local network = require "lunshare.network"
local requires = require "lunshare.requires"
local security = require "lunshare.security"
local source_map = require "lunshare.source_map"

local M = {}

M.LIST = { mounts, network, security, requires, checks, naming }

-- Every field the areas own, in the order of the list.
M.FIELDS = {}
for _, area in ipairs(M.LIST) do
  for _, f in ipairs(area.FIELDS) do M.FIELDS[#M.FIELDS + 1] = f end
end

-- The area context of profile p for caller (lunshare.plan.context(), or nil when only
-- the profile is looked at, as check does), and for check the parameter declarations the
-- loader read (decls). p may be a profile that failed its checks: what is not of the
-- right type counts as absent.
--   ns             { user = true, mount = true, … }: the namespaces p unshares
--   keeps(name)    whether p keeps the capability ("sys_admin", any spelling)
--   caller         the caller, or nil
--   origin(path)   the file:line the field path came from ("mounts[3]", "network")
--   params         { name = { decl =, file =, line = } }: the parameters p declares, the
--                  first declaration of each (empty unless the loader gave them)
--   writable_host  the field path of the first mount through which the sandbox writes to
--                  a host path ("mounts[4]"), or nil
function M.context(p, caller, decls)
  local ns, caps = {}, {}
  for _, n in ipairs(type(p.namespaces) == "table" and p.namespaces or {}) do
    if type(n) == "string" then ns[n] = true end
  end
  for _, c in ipairs(type(p.capabilities) == "table" and p.capabilities or {}) do
    local name = security.cap_name(c)
    if name then caps[name] = true end
  end
  return {
    ns = ns,
    keeps = function(name) return caps[security.cap_name(name) or name] == true end,
    caller = caller,
    origin = function(path) return source_map.origin(p, path) end,
    params = decls or {},
    -- The field of the first mount that writes to a host path, or nil (lunshare.mounts).
    writable_host = mounts.writable_host(p, ns),
    -- The path as the file that wrote the entry counts it (mounts[1], not mounts[19]).
    own = function(path) return source_map.own(p, path) end,
  }
end

-- The names profiles see from the areas (their constructors), merged.
function M.constructors()
  local names = {}
  for _, area in ipairs(M.LIST) do
    for k, v in pairs(area.constructors or {}) do names[k] = v end
  end
  return names
end

-- The areas' merge rules, merged over rules.
function M.merge_rules(rules)
  for _, area in ipairs(M.LIST) do
    for k, v in pairs(area.MERGE or {}) do rules[k] = v end
  end
  return rules
end

-- The key function an area gives for `without` in a list field, or nil.
function M.merge_key(field)
  for _, area in ipairs(M.LIST) do
    local k = (area.MERGE_KEY or {})[field]
    if k then return k end
  end
  return nil
end

function M.check(c, p, a)
  for _, area in ipairs(M.LIST) do area.check(c, p, a) end
end

-- Each area's steps through add; nil and a message when one cannot plan.
function M.plan(p, add, a)
  for _, area in ipairs(M.LIST) do
    local ok, err = area.plan(p, add, a)
    if ok == nil and err then return nil, err end
  end
  return true
end

-- Each area's finishing touch on the laid-out plan.
function M.finish(plan, p, a)
  for _, area in ipairs(M.LIST) do
    if area.finish then area.finish(plan, p, a) end
  end
end

-- Each area's part of the grants summary, merged into s.
function M.grants(p, a, s)
  for _, area in ipairs(M.LIST) do
    for k, v in pairs(area.grants(p, a)) do s[k] = v end
  end
  return s
end

return M
