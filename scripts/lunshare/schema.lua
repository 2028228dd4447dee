-- The profile schema: what each field may hold, checked with every error collected and
-- each error naming the field path, what was expected and the nearest valid name.
local evaluator = require "lunshare.evaluator"
local areas = require "lunshare.areas"
local security = require "lunshare.security"
local source_map = require "lunshare.source_map"
local util = require "lunshare.util"

local M = {}

M.NAMESPACES = { "user", "mount", "pid", "net", "ipc", "uts", "cgroup", "time" }

-- Fields of the language whose mechanics are not built yet: `run` refuses a profile that
-- sets them rather than ignoring them, and `check` refuses it first, with the same line
-- (explain, show and diff still read it, and warn).
M.NOT_BUILT = {}

-- The refusal of run (the CLI's and the API's) for a profile that sets such a field, or nil.
function M.unbuilt(p)
  for _, f in ipairs(util.sorted_keys(M.NOT_BUILT)) do
    if p[f] ~= nil then
      return string.format("%s: %s: this version of lunshare cannot apply '%s' yet; remove it to run",
        source_map.origin(p, f), f, f)
    end
  end
end

-- The core fields (the schema's, the planner's and the grants summary's own), then each
-- area's (lunshare.areas): no field is two owners' (tests/spec/areas_spec.lua).
M.CORE_FIELDS = {
  "description", "extends", "namespaces", "hostname", "domainname", "user", "time", "env",
  "cwd", "command", "pid1",
}
local FIELDS = {}
for _, f in ipairs(M.CORE_FIELDS) do FIELDS[#FIELDS + 1] = f end
for _, f in ipairs(areas.FIELDS) do FIELDS[#FIELDS + 1] = f end
M.FIELDS = FIELDS

local sub_path = util.sub_path
M.sub_path = sub_path

local Checker = {}
Checker.__index = Checker

-- A checker for profile p: origins maps its tables to where each entry came from
-- (source_map), so every error names the file and line of the offending entry.
function M.checker(p, file, origins)
  return setmetatable({ profile = p, file = file, origins = origins or {}, errors = {},
    warnings = {} }, Checker)
end

function Checker:where(path)
  local o = source_map.lookup(self.origins, self.profile, path)
  local f, l = source_map.split_origin(o)
  return f or self.file, l
end

-- Whether the path goes through a misspelt constructor's placeholder, which its unknown
-- name's error already covers.
function Checker:misspelt(path)
  local t = self.profile
  for _, k in ipairs(source_map.split_path(path or "")) do
    if type(t) ~= "table" then return false end
    t = rawget(t, k)
    if t ~= nil and evaluator.MISSPELT[t] then return true end
  end
  return false
end

-- An error at a field path ("mounts[3].source"): what was expected, in words.
function Checker:fail(path, msg)
  if self:misspelt(path) then return end
  local f, l = self:where(path)
  self.errors[#self.errors + 1] = { file = f, line = l, path = source_map.own_path(self.origins, self.profile, path),
    msg = msg }
end

-- A warning: the profile is valid but probably not what its author wants.
function Checker:warn(path, msg)
  local f, l = self:where(path)
  self.warnings[#self.warnings + 1] = { file = f, line = l, path = source_map.own_path(self.origins, self.profile, path),
    msg = msg, warning = true }
end

function Checker:type(v, path, want)
  if v == nil then return false end
  local t = type(v)
  if want == "integer" then
    if math.type(v) == "integer" then return true end
    self:fail(path, "expected an integer, got " .. (t == "number" and tostring(v) or t))
    return false
  end
  if t ~= want then
    self:fail(path, "expected " .. (want == "table" and "a table" or "a " .. want) .. ", got " .. t)
    return false
  end
  return true
end

function Checker:keys(t, path, allowed)
  for _, k in ipairs(util.sorted_keys(t)) do
    if not util.contains(allowed, k) then
      local where = type(k) == "string" and (path == "" and k or path .. "." .. k) or sub_path(path, k)
      self:fail(where, "unknown field" .. util.suggest(k, allowed) ..
        "; expected one of " .. table.concat(allowed, ", "))
    end
  end
end


-- Whether v is a list: a table whose keys are exactly 1..n. Any other key is an error
-- that names it, so that nothing rides along in a list unchecked.
function Checker:list(v, path, what)
  if not self:type(v, path, "table") then return false end
  local n, count = rawlen(v), 0
  for k in next, v do
    count = count + 1
    if math.type(k) ~= "integer" or k < 1 or k > n then
      self:fail(sub_path(path, k), "unknown field: " .. path .. " is a list" .. (what and (" of " .. what) or ""))
      return false
    end
  end
  if count ~= n then
    self:fail(path, "expected a list" .. (what and (" of " .. what) or "") .. " without holes (nil entries)")
    return false
  end
  return true
end

-- For other checkers with fail() and type() (a topology's): the same list check.
M.check_list = Checker.list

function Checker:string_list(v, path)
  if not self:list(v, path, "strings") then return end
  for i, s in ipairs(v) do
    if type(s) ~= "string" then self:fail(path .. "[" .. i .. "]", "expected a string, got " .. type(s))
    elseif s:find("\0", 1, true) then self:fail(path .. "[" .. i .. "]", "a NUL byte cannot pass exec") end
  end
end

local HOSTNAME = "^[%w][%w%-%.]*$"

local function check_user(c, u)
  if not c:type(u, "user", "table") then return end
  c:keys(u, "user", { "uid", "gid", "map" })
  if u.uid ~= nil and c:type(u.uid, "user.uid", "integer") and (u.uid < 0 or u.uid > 0xfffffffe) then
    c:fail("user.uid", "expected an id from 0 to 4294967294")
  end
  if u.gid ~= nil and c:type(u.gid, "user.gid", "integer") and (u.gid < 0 or u.gid > 0xfffffffe) then
    c:fail("user.gid", "expected an id from 0 to 4294967294")
  end
  local m = u.map
  if m ~= nil and m ~= "self" and m ~= "subid" and m ~= "host_root" and type(m) ~= "table" then
    c:fail("user.map", "expected \"self\", \"subid\", \"host_root\" or a list of {inside, outside, count}" ..
      util.suggest(tostring(m), { "self", "subid", "host_root" }))
  elseif type(m) == "table" and c:list(m, "user.map", "{inside, outside, count} ranges") then
    for i, r in ipairs(m) do
      local p = "user.map[" .. i .. "]"
      if type(r) == "table" and not c:list(r, p, "three integers") then
        -- named already
      elseif type(r) ~= "table" or #r ~= 3 or math.type(r[1]) ~= "integer" or
          math.type(r[2]) ~= "integer" or math.type(r[3]) ~= "integer" then
        c:fail(p, "expected {inside, outside, count}: three integers" ..
          (type(r) == "table" and #r == 3 and (", got " .. util.value_text(r[1]) .. ", " .. util.value_text(r[2]) .. ", " ..
            util.value_text(r[3])) or ""))
      elseif r[3] < 1 then
        c:fail(p, "expected {inside, outside, count} with count >= 1, got count " .. r[3])
      elseif r[1] < 0 or r[2] < 0 or r[1] + r[3] > 4294967295 or r[2] + r[3] > 4294967295 then
        -- The kernel's ids are 32 bits, and 4294967295 is (uid_t)-1, never mapped.
        c:fail(p, string.format("the range {%d, %d, %d} goes past id 4294967294", r[1], r[2], r[3]))
      end
    end
  end
end

local function check_env(c, e)
  if not c:type(e, "env", "table") then return end
  c:keys(e, "env", { "clear", "keep", "set", "unset" })
  if e.clear ~= nil then c:type(e.clear, "env.clear", "boolean") end
  if e.keep ~= nil then c:string_list(e.keep, "env.keep") end
  if e.unset ~= nil then c:string_list(e.unset, "env.unset") end
  if e.set ~= nil and c:type(e.set, "env.set", "table") then
    for _, k in ipairs(util.sorted_keys(e.set)) do
      local v = e.set[k]
      if type(k) ~= "string" or not k:match("^[%a_][%w_]*$") then
        c:fail("env.set", "bad variable name '" .. tostring(k) .. "'")
      elseif type(v) ~= "string" then
        c:fail("env.set." .. k, "expected a string, got " .. type(v))
      elseif v:find("\0", 1, true) then
        c:fail("env.set." .. k, "a NUL byte cannot pass exec")
      end
    end
  end
end

-- The kernel takes a clock offset only while the clock it makes stays within 0 and
-- KTIME_SEC_MAX / 2 seconds (kernel/time/namespace.c); an offset beyond that half is
-- refused whatever the host's uptime. (A negative one must also be smaller than the
-- host's uptime, which only run can see.)
M.TIME_OFFSET_MAX = 4611686018

-- A clock offset: whole seconds, or a duration ("1d", "-2h30m"), as seconds; or nil and
-- what was expected.
function M.offset_seconds(v)
  if math.type(v) == "integer" then return v end
  if type(v) ~= "string" then
    return nil, "expected whole seconds or a duration like \"1d\", got " .. (type(v) == "number" and tostring(v) or type(v))
  end
  local sign, rest = v:match("^(%-?)(.+)$")
  local n, err = security.parse_value(rest, "seconds")
  if not n or n < 0 then return nil, err or ("expected a duration like \"1d\", got \"" .. v .. "\"") end
  return sign == "-" and -n or n
end

local function check_time(c, t)
  if not c:type(t, "time", "table") then return end
  c:keys(t, "time", { "monotonic", "boottime" })
  for _, k in ipairs({ "monotonic", "boottime" }) do
    if t[k] ~= nil then
      local n, err = M.offset_seconds(t[k])
      if not n then
        c:fail("time." .. k, err)
      elseif n > M.TIME_OFFSET_MAX or n < -M.TIME_OFFSET_MAX then
        c:fail("time." .. k, "the kernel takes offsets within " .. M.TIME_OFFSET_MAX ..
          " seconds (about 146 years) either way, got " .. n)
      end
    end
  end
end

-- Checks a profile table; returns the list of errors (empty when it is valid) and the
-- list of warnings. origins: from the loader, or the profile's source text (for specs);
-- decls: the parameter declarations the loader read ({ name = { decl, file, line } }),
-- which the areas see as a.params (the checks name parameters).
function M.check(p, file, origins, decls)
  if type(origins) == "string" then
    local src = origins
    origins = {}
    if type(p) == "table" then source_map.annotate(p, src, file, origins) end
  end
  local c = M.checker(p, file, origins)
  if type(p) ~= "table" then
    c.errors[1] = { file = file, path = "", msg = "a profile must return a table, got " .. type(p) }
    return c.errors, c.warnings
  end
  c:keys(p, "", FIELDS)
  if p.description ~= nil then c:type(p.description, "description", "string") end
  if p.namespaces ~= nil and c:list(p.namespaces, "namespaces", "namespace names") then
    local seen = {}
    for i, n in ipairs(p.namespaces) do
      local path = "namespaces[" .. i .. "]"
      if type(n) ~= "string" then
        c:fail(path, "expected a namespace name, got " .. type(n))
      elseif not util.contains(M.NAMESPACES, n) then
        c:fail(path, "unknown namespace '" .. n .. "'" .. util.suggest(n, M.NAMESPACES) ..
          "; expected one of " .. table.concat(M.NAMESPACES, ", "))
      elseif seen[n] then
        c:fail(path, "namespace '" .. n .. "' is listed twice")
      end
      seen[n] = true
    end
  end
  local a = areas.context(p, nil, decls)
  local ns = a.ns
  for _, f in ipairs({ "hostname", "domainname" }) do
    if p[f] ~= nil and c:type(p[f], f, "string") then
      if not p[f]:match(HOSTNAME) or #p[f] > 64 then
        c:fail(f, "expected a host name of letters, digits, '-' and '.', at most 64 bytes, got '" .. p[f] .. "'")
      elseif not ns.uts then
        c:fail(f, "setting a " .. f .. " needs the uts namespace (add \"uts\" to namespaces)")
      end
    end
  end
  if p.user ~= nil then
    check_user(c, p.user)
    if not ns.user then c:fail("user", "id maps need the user namespace (add \"user\" to namespaces)") end
  end
  if p.time ~= nil then
    check_time(c, p.time)
    if not ns.time then c:fail("time", "clock offsets need the time namespace (add \"time\" to namespaces)") end
  end
  if p.env ~= nil then check_env(c, p.env) end
  if p.cwd ~= nil and c:type(p.cwd, "cwd", "string") then
    if p.cwd:sub(1, 1) ~= "/" then
      c:fail("cwd", "expected an absolute path, got '" .. p.cwd .. "'")
    elseif p.cwd:find("\0", 1, true) then
      c:fail("cwd", "a path cannot hold a NUL byte")
    end
  end
  if p.command ~= nil then
    c:string_list(p.command, "command")
    if type(p.command) == "table" and #p.command == 0 then c:fail("command", "expected a non-empty list") end
  end
  if p.pid1 ~= nil and p.pid1 ~= "reaper" and p.pid1 ~= "command" then
    c:fail("pid1", "expected \"reaper\" or \"command\"" .. util.suggest(tostring(p.pid1), { "reaper", "command" }))
  end
  for _, f in ipairs(util.sorted_keys(M.NOT_BUILT)) do
    if p[f] ~= nil then
      c:warn(f, "this version of lunshare checks '" .. f .. "' but cannot apply it yet: run refuses this profile")
    end
  end
  -- What a valid profile grants and risks is warned about from its effect, for the caller
  -- who asks (lunshare.grants), not here.
  areas.check(c, p, a)
  return c.errors, c.warnings
end

-- How much of a file name, a field path and a message an error line shows: all three
-- can hold what a profile wrote.
M.SHOWN = { file = 256, path = 256, msg = 1024 }

-- "file:line: path: message", the one line a person reads for each error. Whatever a
-- profile put in it is escaped, once (util.text: a message is built of raw text), and cut
-- to a readable length.
function M.format_error(e)
  local esc = util.text
  local where = esc(e.file or "?", M.SHOWN.file)
  if e.line then where = where .. ":" .. e.line end
  -- Whatever built the message, no heap address reaches the terminal ("table: 0x55…").
  local msg = esc((tostring(e.msg):gsub("%f[%a](%a+): 0x%x+", function(t)
    if t == "table" or t == "function" or t == "userdata" or t == "thread" then return "a " .. t end
  end)), M.SHOWN.msg)
  if e.warning then msg = "warning: " .. msg end
  if e.path and e.path ~= "" then
    return where .. ": " .. esc(e.path, M.SHOWN.path) .. ": " .. msg
  end
  return where .. ": " .. msg
end

return M
