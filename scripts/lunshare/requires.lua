-- Profile area: `requires`, what a profile needs of the lunshare that runs it and of its
-- caller, said up front so that an older lunshare or the wrong caller gets one clear line
-- instead of errors about fields it does not know or a run that fails halfway:
--   requires = { lunshare = ">= 0.2", root = true }
-- `lunshare` is a version constraint: clauses "OP VERSION" joined by commas (">= 0.2, < 1"),
-- OP one of >= > <= < == (a bare version means >=). `root = true`: only a root caller can
-- run it (a host-side veth, a named netns in /run/netns). Each file of an `extends` chain
-- is held to its own `requires` as it is loaded (profile.lua), before anything else of it
-- is checked; here the shape is checked.
local core = require "lunshare.core"
local util = require "lunshare.util"

local M = {}

M.FIELDS = { "requires" }
M.KEYS = { "lunshare", "root" }
M.OPS = { ">=", ">", "<=", "<", "==" }

local function parse_version(v)
  if type(v) ~= "string" or not v:match("^%d+[%.%d]*$") or v:find("%.%.") or v:find("%.$") then return nil end
  local parts = {}
  for n in v:gmatch("%d+") do parts[#parts + 1] = tonumber(n) end
  if #parts > 3 then return nil end
  return parts
end
M.parse_version = parse_version

-- -1, 0, 1: a compared with b, missing components as 0.
local function compare(a, b)
  for i = 1, 3 do
    local x, y = a[i] or 0, b[i] or 0
    if x ~= y then return x < y and -1 or 1 end
  end
  return 0
end

-- The clauses of a constraint: { { op, version, text } … }, or nil and why.
function M.parse(spec)
  if type(spec) ~= "string" then return nil, "expected a version constraint like \">= 0.2\", got " .. type(spec) end
  local out = {}
  for clause in (spec .. ","):gmatch("([^,]*),") do
    local op, v = clause:match("^%s*([<>=]*)%s*([^%s]*)%s*$")
    if op == "" then op = ">=" end
    if not op or not util.contains(M.OPS, op) then
      return nil, "unknown comparison in '" .. clause .. "'; expected one of " .. table.concat(M.OPS, " ")
    end
    local parsed = parse_version(v)
    if not parsed then return nil, "expected a version like 0.2 or 1.0.3 in '" .. clause .. "'" end
    out[#out + 1] = { op = op, version = parsed, text = op .. " " .. v }
  end
  if #out == 0 then return nil, "expected a version constraint like \">= 0.2\"" end
  return out
end

-- Whether version (a string, "0.2.0") meets spec; nil and why when the spec is malformed.
function M.satisfied(spec, version)
  local clauses, why = M.parse(spec)
  if not clauses then return nil, why end
  local v = assert(parse_version(version))
  for _, c in ipairs(clauses) do
    local r = compare(v, c.version)
    local ok = (c.op == ">=" and r >= 0) or (c.op == ">" and r > 0) or (c.op == "<=" and r <= 0) or
      (c.op == "<" and r < 0) or (c.op == "==" and r == 0)
    if not ok then return false, c.text end
  end
  return true
end

local function version() return core.version end

local function is_root()
  local ids = core.ids()
  return (ids.euid or ids.uid) == 0
end

-- What of a file's `requires` this lunshare and caller do not meet: the message and the
-- field ("lunshare", "root"), or nil. A malformed `requires` is the checker's to report.
function M.unmet(req)
  if type(req) ~= "table" then return nil end
  if type(req.lunshare) == "string" then
    local ok, clause = M.satisfied(req.lunshare, version())
    if ok == false then
      return string.format("this profile needs lunshare %s (it says %s); this is lunshare %s: upgrade lunshare to use it",
        req.lunshare, clause, version()), "lunshare"
    end
  end
  if req.root == true and not is_root() then
    return "this profile needs a root caller (it makes what only root may: a host-side link, a named netns …); " ..
      "run it as root", "root"
  end
  return nil
end

function M.check(c, p)
  local r = p.requires
  if r == nil then return end
  if not c:type(r, "requires", "table") then return end
  c:keys(r, "requires", M.KEYS)
  if r.lunshare ~= nil then
    local ok, why = M.parse(r.lunshare)
    if not ok then c:fail("requires.lunshare", why) end
  end
  if r.root ~= nil then c:type(r.root, "requires.root", "boolean") end
end

function M.plan() return true end
function M.grants() return {} end

return M
