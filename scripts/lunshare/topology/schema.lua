-- Topology files: what they may hold, and loading one safely. A topology comes from anyone
-- (check and explain of a stranger's file must never act), so it is evaluated as a profile
-- is: in the bounded profile evaluator, as plain data of bounded size, and the work on it
-- afterwards in a bounded region. Every entry keeps the file:line it came from (the source
-- map profiles use), and every error names file:line, the field path, what was expected
-- and the nearest valid name.
--
--   return {
--     description = "…",
--     hosts = { netns1 = { routes = { { to = "default", via = "10.0.0.1" } }, lo = true } },
--     switches = { lsbr0 = { address = "10.1.0.254/24", host = "netns1", mtu = 1500 } },
--     links = {        -- veth pairs: end 1, end 2; an end without host is "here"
--       { { name = "veth1", address = "10.0.0.1/24" },
--         { host = "netns1", name = "veth1_peer", address = "10.0.0.2/24", switch = …, mtu = … } },
--     },
--   }
local util = require "lunshare.util"
local schema = require "lunshare.schema"
local net = require "lunshare.network"
local evaluator = require "lunshare.evaluator"
local source_map = require "lunshare.source_map"

local M = {}

M.TOP_KEYS = { "description", "hosts", "switches", "links" }
M.HOST_KEYS = { "routes", "lo" }
M.SWITCH_KEYS = { "host", "address", "mtu" }
M.END_KEYS = { "host", "name", "address", "switch", "mtu" }

-- A host is a named netns: a file name in /run/netns (or the pins' directory), printable.
function M.valid_host(v)
  return type(v) == "string" and v ~= "" and #v <= 200 and not v:find("[/%c]") and v ~= "." and v ~= ".."
end

local HOST_WANTED = "a host is named by a netns name (1 to 200 bytes, no '/' or control characters)"
local LINK_WANTED = "expected a link name (1 to 15 bytes, no '/', spaces or control characters)"

local function where(host) return host and ("host " .. host) or "the caller's namespace" end

local function check_mtu(c, v, path)
  if v ~= nil and c:type(v, path, "integer") and not net.valid_mtu(v) then
    c:fail(path, "expected " .. net.MTU_RANGE)
  end
end

-- The errors of topology t (a loaded value) of file, as { file, line, path, msg } records;
-- origins (source_map's) gives each its line.
function M.errors(t, file, origins)
  local sub = schema.sub_path
  local c = schema.checker(t, file, origins)
  if type(t) ~= "table" then
    c:fail("", "a topology must return a table, got " .. type(t))
    return c.errors
  end
  c:keys(t, "", M.TOP_KEYS)
  if t.description ~= nil then c:type(t.description, "description", "string") end
  local hosts = (t.hosts == nil or c:type(t.hosts, "hosts", "table")) and t.hosts or {}
  local switches = (t.switches == nil or c:type(t.switches, "switches", "table")) and t.switches or {}
  local host_names = {}
  for _, name in ipairs(util.sorted_keys(hosts)) do
    -- Only valid names are suggested or listed: an invalid one has its own error.
    if M.valid_host(name) then host_names[#host_names + 1] = name end
  end
  local function known_host(v, path)
    if v == nil then return true end
    if type(v) ~= "string" or not hosts[v] then
      c:fail(path, "no host named " .. tostring(v) .. util.suggest(tostring(v), host_names) ..
        (#host_names > 0 and ("; the hosts are " .. table.concat(host_names, ", ")) or
        (next(hosts) == nil and "; this file has no hosts" or "")))
      return false
    end
    return true
  end

  -- Names of links and switches, per namespace: one of each.
  local taken = {}
  local function take(host, name, path, what)
    local k = (host or "") .. "/" .. name
    if taken[k] then
      c:fail(path, what .. " " .. name .. " is named twice in " .. where(host) .. " (also at " .. taken[k] .. ")")
    else
      taken[k] = path
    end
  end

  for _, name in ipairs(util.sorted_keys(hosts)) do
    local h, p = hosts[name], sub("hosts", name)
    if not M.valid_host(name) then c:fail(p, HOST_WANTED) end
    if c:type(h, p, "table") then
      c:keys(h, p, M.HOST_KEYS)
      if h.lo ~= nil then c:type(h.lo, p .. ".lo", "boolean") end
      if h.routes ~= nil then net.check_routes(c, h.routes, p .. ".routes") end
    end
  end
  for _, name in ipairs(util.sorted_keys(switches)) do
    local s, p = switches[name], sub("switches", name)
    if not net.valid_ifname(name) then c:fail(p, "a switch is named by a link name (1 to 15 bytes, no '/', spaces or control characters)") end
    if c:type(s, p, "table") then
      c:keys(s, p, M.SWITCH_KEYS)
      if known_host(s.host, p .. ".host") and type(name) == "string" then take(s.host, name, p, "switch") end
      net.check_addresses(c, s.address, p .. ".address")
      check_mtu(c, s.mtu, p .. ".mtu")
    end
  end
  local switch_names = {}
  for _, name in ipairs(util.sorted_keys(switches)) do
    if type(name) == "string" then switch_names[#switch_names + 1] = name end
  end
  if t.links ~= nil and c:list(t.links, "links", "links") then
    for i, l in ipairs(t.links) do
      local p = "links[" .. i .. "]"
      if type(l) ~= "table" or rawlen(l) ~= 2 then
        c:fail(p, "expected a pair of ends { { name = … }, { host = …, name = … } }")
      elseif c:list(l, p, "two ends") then
        for j = 1, 2 do
          local e, pe = l[j], p .. "[" .. j .. "]"
          if c:type(e, pe, "table") then
            c:keys(e, pe, M.END_KEYS)
            local host_ok = known_host(e.host, pe .. ".host")
            if not net.valid_ifname(e.name) then
              c:fail(pe .. ".name", LINK_WANTED)
            elseif host_ok then
              take(e.host, e.name, pe .. ".name", "link")
            end
            if e.switch ~= nil then
              local s = type(e.switch) == "string" and type(switches[e.switch]) == "table" and switches[e.switch]
              if not s then
                c:fail(pe .. ".switch", "no switch named " .. tostring(e.switch) ..
                  util.suggest(tostring(e.switch), switch_names))
              elseif host_ok and s.host ~= e.host then
                -- A link joins a bridge of its own namespace: the kernel refuses any other.
                c:fail(pe .. ".switch", "switch " .. e.switch .. " is in " .. where(s.host) ..
                  ", this end in " .. where(e.host) .. ": an end joins a switch of its own namespace")
              end
            end
            net.check_addresses(c, e.address, pe .. ".address")
            check_mtu(c, e.mtu, pe .. ".mtu")
          end
        end
      end
    end
  end
  -- A route through a link names one of that host's own.
  for _, name in ipairs(util.sorted_keys(hosts)) do
    local h = hosts[name]
    if type(h) == "table" and type(h.routes) == "table" then
      for k, r in ipairs(h.routes) do
        if type(r) == "table" and type(r.dev) == "string" and r.dev ~= "lo" and not taken[name .. "/" .. r.dev] then
          c:fail(sub("hosts", name) .. ".routes[" .. k .. "].dev", "no link " .. r.dev .. " in host " .. tostring(name))
        end
      end
    end
  end
  return c.errors
end

-- Each error as the one line a person reads ("file:line: path: message", escaped).
function M.format(errors)
  local out = {}
  for i, e in ipairs(errors) do out[i] = schema.format_error(e) end
  return out
end

-- The errors of t as lines, for callers that have a table and no source (specs, the REPL).
function M.check(t, file, origins)
  return M.format(M.errors(t, file or "topology", origins))
end

-- Loads and checks file (M.load, within the bounds the caller holds).
local function load(file)
  local src, real = util.read_file(file)
  if not src then return nil, { real } end
  -- The profile evaluator with no constructors: a topology is data and pure helpers. Its
  -- text is quoted only when what was opened is a .lua file (as for a profile).
  local t, perr = evaluator.evaluate(src, file, {})
  local quote = evaluator.quotable(real)
  if t == nil and perr then
    return nil, M.format({ { file = file, line = perr.line,
      msg = quote and perr.msg or evaluator.not_a_profile(perr.msg) } })
  end
  local okmap, map = pcall(source_map.parse, src)
  if not okmap then map = nil end
  local plain, keys, why = evaluator.check_data(t)
  if not plain and not quote then
    return nil, { util.escape(file) .. ": not a topology: its entries do not check" .. evaluator.NOT_SHOWN }
  end
  if not plain then
    return nil, M.format({ { file = file, line = map and source_map.line_of(map, keys),
      path = evaluator.path_text(keys), msg = why } })
  end
  -- Provenance is a help, never a reason to fail: without it errors name the file only.
  local origins = setmetatable({}, { __mode = "k" })
  if map and type(t) == "table" then pcall(source_map.annotate, t, map, file, origins) end
  local errors = M.errors(t, file, origins)
  if #errors > 0 and not quote then
    return nil, { util.escape(file) .. ": not a topology: its entries do not check" .. evaluator.NOT_SHOWN }
  end
  if #errors > 0 then return nil, M.format(errors) end
  t.hosts, t.switches, t.links = t.hosts or {}, t.switches or {}, t.links or {}
  -- Where it came from, beside its data (as a loaded profile keeps _file and _origins).
  t._file, t._origins = file, origins
  return t
end

-- Loads the topology file: the table (hosts, switches and links always present, with
-- _file and _origins), or nil and the list of error lines. Within the bounds of
-- evaluator.bounded (a command may hold one region around this and what follows).
function M.load(file)
  local ok, t, errs = evaluator.bounded(file, load, file)
  if not ok then return nil, { util.escape(file) .. ": " .. t } end
  return t, errs
end

-- The file:line entry key of table tbl (an entry of loaded topology t) came from; the
-- table's own line without a key, the file's when nothing is known.
function M.origin(t, tbl, key)
  local o = t._origins and t._origins[tbl]
  return (o and (o[key == nil and "" or key] or o[""])) or
    (t._origins and t._origins[t] and t._origins[t][""]) or t._file or "topology"
end

return M
