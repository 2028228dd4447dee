-- Every field of every area, at every depth, given a value of the wrong type, is a profile
-- error (file:line: path: what was expected), never an internal error: check, the plan
-- (explain and run), the warnings and the grants summary (diff) all take it. #unit
--
-- The fields come from the schema itself, not from a list written here: the keys the
-- checkers allow (Checker:keys), the fields of every mount kind (mounts.KINDS), and every
-- key of a few profiles that between them set every area's fields. A field added to an
-- area is fuzzed here the day it lands.
local H = require "helpers"
local grants = require "lunshare.grants"
local explain = require "lunshare.explain"
local mounts = require "lunshare.mounts"
local planner = require "lunshare.plan"
local profile = require "lunshare.profile"
local schema = require "lunshare.schema"
local source_map = require "lunshare.source_map"
local util = require "lunshare.util"
local warnings = require "lunshare.warnings"

-- Between them, every field of every area (and the core fields), each of the right type.
local SEEDS = {
  [[return {
  description = "every core, mount and security field",
  namespaces = { "user", "mount", "pid", "ipc", "uts", "net", "time", "cgroup" },
  user = { uid = 0, gid = 0, map = "self" },
  time = { monotonic = "1d", boottime = 5 },
  env = { clear = true, keep = { "TERM" }, set = { A = "b" }, unset = { "X" } },
  hostname = "h", domainname = "d", cwd = "/", command = { "/bin/sh" }, pid1 = "reaper",
  root = { mode = "0755", size = "64M", readonly = true },
  mounts = {
    ro_bind "/usr", bind { "/tmp", "/t", optional = true }, dev_bind_try "/dev/null",
    tmpfs { "/tmp", size = "64M", mode = "1777" }, proc "/proc", dev "/dev", mqueue "/dev/mqueue",
    overlay { "/o", lower = { "/usr" }, upper = "/tmp/u", work = "/tmp/w" },
    symlink("usr/bin", "/bin"), dir { "/d", mode = "0755" }, file { "/f", content = "x", mode = "0644" },
    file { "/g", template = "{hostname}" }, remount_ro "/usr",
  },
  capabilities = { "net_raw" }, no_new_privs = true,
  seccomp = { default = true, allow = { "ptrace" }, deny = { "bpf", keyctl = "EPERM" }, kill = { "reboot" } },
  limits = { nofile = { 64, 128 }, nproc = { soft = 10, hard = 20 }, memory = "64M", pids = 10, cpus = 1,
    time = "30s", cpu = 5 },
  terminal = false, keep_fds = { 3 },
  requires = { lunshare = ">= 0.1", root = false },
  checks = {
    { "runs", run = { "true" }, succeeds = true, timeout = "5s", stdin = "x", prints = "", stderr = { pattern = "." } },
    { "fails", run = { "false" }, exit = 1 },
    { "hidden", cannot_read = "/home" }, { "offline", cannot_reach = "127.0.0.1" },
    { "read-only", cannot_write_outside = "/tmp" },
  },
}]],
  [[return {
  namespaces = { "user", "net" }, user = { map = { { 0, 0, 1 } } },
  network = { links = { veth { host = "lsh0", name = "eth0", address = { "10.0.0.2/24" },
    host_address = "10.0.0.1/24", mtu = 1400, gateway = "10.0.0.1",
    routes = { { to = "default", via = "10.0.0.1", dev = "eth0" } } } } },
}]],
  [[return { namespaces = { "net" }, network = { veth { host = "lsh0", bridge = "lsbr0", address = "10.0.0.2/24" } } }]],
  [[return { namespaces = { "net" }, network = { join = "x" } }]],
  [[return { namespaces = { "net" }, network = { mode = "user", ports = { "8080:80" } } }]],
  [[return { namespaces = { "net" }, network = { egress = { "deb.debian.org" } } }]],
  [[return { namespaces = { "user", "mount", "net" }, user = { map = "subid" }, network = "none", mounts = { ro_bind "/usr" } }]],
  -- Over a parent: every field merged (compose) before it is checked.
  [[return {
  extends = "default",
  namespaces = { "-time", "+ipc" },
  env = { keep = { "X" }, set = { B = "c" }, unset = { "Y" } },
  mounts = { without "/tmp", tmpfs "/tmp", bind_try "/srv" },
  capabilities = { "+net_raw" },
  limits = { nofile = 64 },
  checks = { without "the caller's home is hidden", { "runs", run = { "true" } } },
}]],
}

-- Values of every type a profile can write, for a field whose right type is another.
local WRONG = {
  string = { 7, true, { "x" } },
  number = { "x", 1.5, true, { 1 } },
  boolean = { "x", 7, {} },
  table = { "x", 1.5, true, { {} }, { x = {} }, { [2] = "x" } },
  ["nil"] = { "x", 7, {} },
}

-- A Lua literal for v, one top-level field per line so that errors name their line.
local function literal(v, depth)
  local t = type(v)
  if t == "string" then return string.format("%q", v) end
  if t == "number" then return math.type(v) == "integer" and tostring(v) or string.format("%.17g", v) end
  if t ~= "table" then return tostring(v) end
  local parts = {}
  for _, k in ipairs(util.sorted_keys(v)) do
    local key = type(k) == "string" and k:match("^[%a_][%w_]*$") and k or ("[" .. literal(k) .. "]")
    parts[#parts + 1] = key .. " = " .. literal(v[k], (depth or 0) + 1)
  end
  if (depth or 0) == 0 then return "return {\n  " .. table.concat(parts, ",\n  ") .. ",\n}\n" end
  return "{ " .. table.concat(parts, ", ") .. " }"
end

local function copy(v)
  if type(v) ~= "table" then return v end
  local c = {}
  for k, x in next, v do c[k] = copy(x) end
  return c
end

-- The profile as data (its loader keys dropped).
local function data(p)
  local out = {}
  for k, v in next, p do
    if not (type(k) == "string" and k:sub(1, 1) == "_") then out[k] = copy(v) end
  end
  return out
end

-- Every (container path, key) the seeds hold or the checkers allow, per seed.
local function fields_of(p, allowed)
  local out, seen = {}, {}
  local function add(path, k)
    local id = path .. "\0" .. tostring(k) .. "\0" .. type(k)
    if not seen[id] then
      seen[id] = true
      out[#out + 1] = { path = path, key = k }
    end
  end
  local function walk(t, path)
    for _, k in ipairs(util.sorted_keys(t)) do
      add(path, k)
      local v = t[k]
      if type(v) == "table" then
        local sub = util.sub_path(path, k)
        walk(v, sub)
        if path == "mounts" and mounts.KINDS[v.kind] then
          for _, f in ipairs(mounts.KINDS[v.kind].fields) do add(sub, f) end
        end
      end
    end
  end
  walk(p, "")
  for path, keys in pairs(allowed) do
    for _, k in ipairs(keys) do add(path, k) end
  end
  return out
end

-- The table at path in p, or nil when the path does not lead to one.
local function at(p, path)
  local t = p
  for _, k in ipairs(source_map.split_path(path)) do
    if type(t) ~= "table" or type(t[k]) ~= "table" then return nil end
    t = t[k]
  end
  return t
end

-- What each part of lunshare that reads a profile does with src, loaded from a file as
-- check loads it (evaluated, composed over what it extends, checked): nil when all of them
-- take it (valid, or refused with profile errors in the expected form), else what went
-- wrong.
local function problem(src, path)
  local f = assert(io.open(path, "w"))
  f:write(src)
  f:close()
  local ok, err = pcall(function()
    local p, errs = profile.load(path)
    if not p then
      for _, e in ipairs(errs) do
        -- file:line: path: message, the file being this one or one it extends.
        local line = schema.format_error(e)
        if not line:match("^[^:]+%.lua:%d+: [^:]+: ") or line:find("internal error", 1, true) then
          error("not a profile error: " .. line, 0)
        end
      end
      return
    end
    local plan = planner.build(p, planner.context())
    if plan then explain.text(plan, p) end
    warnings.of(p)
    grants.summary(p, grants.context())
  end)
  if not ok then return "raised: " .. tostring(err) end
end

describe("every area field given a value of the wrong type #unit", function()
  local Checker = getmetatable(schema.checker({}, "t.lua")).__index
  local keys = Checker.keys
  local cases = {}
  local first_dirs = profile.first_dirs
  setup(function()
    -- `extends = "default"` is the checkout's default.
    profile.first_dirs = { H.root .. "/profiles" }
    -- The keys each checker allows, for the fields the seeds do not set.
    for i, src in ipairs(SEEDS) do
      local allowed = {}
      Checker.keys = function(c, t, path, list)
        allowed[path] = list
        return keys(c, t, path, list)
      end
      local path = os.tmpname() .. ".lua"
      local f = assert(io.open(path, "w"))
      f:write(src)
      f:close()
      local p, errs = profile.load(path)
      os.remove(path)
      Checker.keys = keys
      assert(p, "seed " .. i .. " does not check: " .. (errs and errs[1] and schema.format_error(errs[1]) or ""))
      -- The seed's own data (not what it composes to) is what the cases change.
      local v = assert(profile.evaluate(src, "seed" .. i .. ".lua"))
      cases[i] = { profile = data(v), fields = fields_of(v, allowed) }
    end
  end)
  teardown(function()
    Checker.keys = keys
    profile.first_dirs = first_dirs
  end)

  it("is a profile error with file:line and field path, in check, explain, run and diff", function()
    local bad, tried = {}, 0
    local path = os.tmpname() .. ".lua"
    finally(function() os.remove(path) end)
    for _, case in ipairs(cases) do
      for _, f in ipairs(case.fields) do
        local right = at(case.profile, f.path)
        for _, wrong in ipairs(right and WRONG[type(right[f.key])] or {}) do
          local p = data(case.profile)
          at(p, f.path)[f.key] = copy(wrong)
          tried = tried + 1
          local why = problem(literal(p), path)
          if why and #bad < 10 then
            bad[#bad + 1] = util.sub_path(f.path, f.key) .. " = " .. literal(wrong, 1) .. ": " .. why
          end
        end
      end
    end
    assert.is_true(tried > 1000, "only " .. tried .. " cases")
    assert.same({}, bad)
  end)
end)
