-- A topology's journal: what `up` made, so that `down` removes exactly that (a netns made
-- by `ip netns add` stays). It lives in the private state directory "net" (lunshare.state)
-- as NAME.state, NAME being the file's name without .lua, and is JSON lines, one per
-- object, each appended before its object is made (a rewrite per object made a 100-host
-- up quadratic; an up killed at any point leaves a journal down can clean):
--   {"hosts":["h1","h2"]}                  the file's hosts at the last up (for net list)
--   {"add":"hosts","x":"h1"}               made: a named netns
--   {"add":"switches","x":{"name":"lsbr0"}}  a bridge ("host" when not here)
--   {"add":"links","x":{"host":"h1","name":"lsa2","peer_host":"h2","peer":"lsb2"}}  a veth pair
--   {"drop":"links"}                       the last add of links was refused: not made
-- It is data: decoded by the bounded JSON decoder and checked record by record; a journal
-- that is not exactly this is refused whole, naming it, before anything is changed.
local util = require "lunshare.util"
local net = require "lunshare.network"
local valid_host = require("lunshare.topology.schema").valid_host

local M = {}

M.KINDS = { "hosts", "switches", "links" }

-- The name a topology file's state goes by: its file name without .lua.
function M.name(file)
  local base = tostring(file):match("([^/]+)/*$") or tostring(file)
  base = base:gsub("%.lua$", "")
  return base ~= "" and base or "topology"
end

local function file_of(name) return name .. ".state" end
M.file = file_of

local function record_ok(kind, x)
  local function only(t, keys)
    for k in pairs(t) do if not util.contains(keys, k) then return false end end
    return true
  end
  if kind == "hosts" then return valid_host(x) end
  if type(x) ~= "table" then return false end
  if kind == "switches" then
    return only(x, { "host", "name" }) and net.valid_ifname(x.name) and (x.host == nil or valid_host(x.host))
  end
  return only(x, { "host", "name", "peer_host", "peer" }) and net.valid_ifname(x.name) and
    net.valid_ifname(x.peer) and (x.host == nil or valid_host(x.host)) and
    (x.peer_host == nil or valid_host(x.peer_host))
end

local function hosts_ok(v)
  if type(v) ~= "table" or #v > 100000 then return false end
  local n = 0
  for _ in pairs(v) do n = n + 1 end
  if n ~= #v then return false end
  for _, h in ipairs(v) do if not valid_host(h) then return false end end
  return true
end

local function empty() return { hosts = {}, switches = {}, links = {}, lines = { hosts = {}, switches = {}, links = {} } } end
M.empty = empty

-- The journal of topology name in state directory dir: { hosts =, switches =, links = }
-- (what was made, in order), lines (the journal line of each), uses (the file's hosts at
-- the last up, or nil) and path (for messages); nil when there is none; nil and a message
-- when it is not valid.
function M.read(dir, name)
  local records, lines_or_err = dir:read_json_lines(file_of(name))
  if not records then return nil, lines_or_err and (lines_or_err .. "; nothing was changed") end
  local line_of = lines_or_err
  local st = empty()
  st.path = dir:file(file_of(name))
  local function bad(i, why)
    return nil, st.path .. ": not a valid state file (line " .. line_of[i] .. ": " .. why .. "); nothing was changed"
  end
  for i, e in ipairs(records) do
    if type(e) ~= "table" then return bad(i, "expected an object") end
    if e.hosts ~= nil and e.add == nil and e.drop == nil then
      if next(e, nil) ~= "hosts" or next(e, "hosts") ~= nil or not hosts_ok(e.hosts) then
        return bad(i, "expected only hosts, a list of netns names")
      end
      st.uses = e.hosts
    else
      local kind = e.add or e.drop
      if not util.contains(M.KINDS, kind) then return bad(i, "expected \"add\" or \"drop\" of hosts, switches or links") end
      for k in pairs(e) do
        if not util.contains(e.add ~= nil and { "add", "x" } or { "drop" }, k) then
          return bad(i, "expected only add and x, or drop")
        end
      end
      if e.add ~= nil then
        if not record_ok(kind, e.x) then return bad(i, "not a valid record of " .. kind) end
        st[kind][#st[kind] + 1] = e.x
        st.lines[kind][#st[kind]] = line_of[i]
      else
        if #st[kind] == 0 then return bad(i, "a drop with nothing to drop") end
        st.lines[kind][#st[kind]] = nil
        st[kind][#st[kind]] = nil
      end
    end
  end
  return st
end

-- Appends one record (a table as above). Returns true, or nil and a message.
function M.append(dir, name, entry)
  return dir:append_json(file_of(name), entry)
end

-- Rewrites the whole journal to hold st's objects and uses (after a rollback): written
-- aside, then renamed over; with neither, removes it.
function M.rewrite(dir, name, st)
  local lines = {}
  if st.uses then lines[1] = { hosts = st.uses } end
  local objects = 0
  for _, kind in ipairs(M.KINDS) do
    for _, x in ipairs(st[kind]) do
      lines[#lines + 1] = { add = kind, x = x }
      objects = objects + 1
    end
  end
  if objects == 0 and not st.uses then return dir:remove(file_of(name)) end
  return dir:replace_json_lines(file_of(name), lines)
end

function M.remove(dir, name) return dir:remove(file_of(name)) end

-- The names of the topologies with a journal in dir, sorted.
function M.list(dir)
  local names, err = dir:list()
  if not names then return nil, err end
  local out = {}
  for _, n in ipairs(names) do
    local base = n:match("^(.+)%.state$")
    if base then out[#out + 1] = base end
  end
  table.sort(out)
  return out
end

return M
