-- The command line's one-off additions (--bind, --setenv, …: lunshare.options) as a last
-- layer over the profile: a profile table of their own, merged over the loaded chain as a
-- child would be, so that they are checked like any field and `explain` names their
-- origin "command line".
local mounts = require "lunshare.mounts"
local util = require "lunshare.util"

local M = {}

M.ORIGIN = util.CMDLINE_ORIGIN

local C = mounts.constructors

-- "SRC:DST" or "SRC".
local function src_dst(v)
  local src, dst = v:match("^([^:]*):(.*)$")
  if src then return src, dst end
  return v, nil
end

-- option -> function(layer, value, profile): what the option adds to the layer.
M.ENTRY = {
  ["--bind"] = function(l, v) l.mounts[#l.mounts + 1] = C.bind(src_dst(v)) end,
  ["--ro-bind"] = function(l, v) l.mounts[#l.mounts + 1] = C.ro_bind(src_dst(v)) end,
  ["--tmpfs"] = function(l, v) l.mounts[#l.mounts + 1] = C.tmpfs(v) end,
  ["--setenv"] = function(l, v)
    local k, val = v:match("^([^=]*)=(.*)$")
    l.env.set[k or v] = val or false -- false: checked (and refused) like a profile's
  end,
  ["--unsetenv"] = function(l, v) l.env.unset[#l.env.unset + 1] = v end,
  ["--chdir"] = function(l, v) l.cwd = v end,
  ["--hostname"] = function(l, v) l.hostname = v end,
  ["--share-net"] = function(l, _, p)
    for _, n in ipairs(type(p.namespaces) == "table" and p.namespaces or {}) do
      if n == "net" then l.namespaces = { "-net" } end
    end
    if p.network ~= nil then l.network = "host" end
  end,
}

-- The layer for entries ({ { option, value }, … } in command-line order) over profile p,
-- or nil when there are none.
function M.build(entries, p)
  if #entries == 0 then return nil end
  local l = { mounts = {}, env = { set = {}, unset = {} } }
  for _, e in ipairs(entries) do
    local f = M.ENTRY[e.option]
    assert(f, "no layer entry for " .. tostring(e.option))
    f(l, e.value, p)
  end
  if #l.mounts == 0 then l.mounts = nil end
  if next(l.env.set) == nil then l.env.set = nil end
  if #l.env.unset == 0 then l.env.unset = nil end
  if next(l.env) == nil then l.env = nil end
  return l
end

-- Records "command line" as the origin of every entry of the layer (origins: the loader's
-- table -> { key -> origin }).
function M.mark(t, origins)
  origins[t] = { [""] = M.ORIGIN }
  for k, v in pairs(t) do
    origins[t][k] = M.ORIGIN
    if type(v) == "table" then M.mark(v, origins) end
  end
end

return M
