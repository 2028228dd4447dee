-- The network as live objects, for the REPL and Lua programs: netns, link, addr and route,
-- named and used as the `ip` command's objects and verbs (`ip netns add netns1` is
-- ip.netns.add("netns1")). Each object holds a name and the namespace it lives in, asks the
-- kernel afresh when it is printed, and fails by raising the kernel's message
-- ("add veth veth1 (peer veth1_peer): File exists"). The netlink work goes through
-- lunshare.rtnetlink, as topologies' does. (Named lunshare.ip, not net: `net` is the
-- namespace kind, the profile's network area is lunshare.network, and `lunshare net` is
-- about topology files; lunshare.net stays as another name of this module.)
--
--   local ip = require("lunshare").ip
--   local ns1 = ip.netns.add("netns1")
--   local veth1 = ip.link.add{ kind = "veth", name = "veth1", peer = "veth1_peer", netns = ns1 }
--   veth1:addr("10.0.0.1/24"):up()
--   ns1:link("veth1_peer"):addr("10.0.0.2/24"):up()
--   print(ns1:links())
local core = require "lunshare.core"
local rtnl = require "lunshare.rtnetlink"

local M = {}

-- A list that prints as an aligned table of the given columns.
local List = {}
List.__index = List

local function cell(v)
  if v == nil then return "" end
  if type(v) == "boolean" then return v and "yes" or "no" end
  return tostring(v)
end

local function render(rows, cols)
  local w = {}
  for i, c in ipairs(cols) do w[i] = #c end
  for _, r in ipairs(rows) do
    for i, c in ipairs(cols) do w[i] = math.max(w[i], #cell(r[c])) end
  end
  local out = {}
  local function line(vals)
    local parts = {}
    for i, v in ipairs(vals) do parts[i] = v .. string.rep(" ", w[i] - #v) end
    out[#out + 1] = table.concat(parts, "  "):gsub("%s+$", "")
  end
  line(cols)
  for _, r in ipairs(rows) do
    local vals = {}
    for i, c in ipairs(cols) do vals[i] = cell(r[c]) end
    line(vals)
  end
  return table.concat(out, "\n")
end

List.__tostring = function(l) return render(l, l._cols) end

local function list(rows, cols)
  rows._cols = cols
  return setmetatable(rows, List)
end

local function check(ok, msg, ...)
  if ok == nil then error(msg, 3) end
  return ok, msg, ...
end

-- ---- netns ---------------------------------------------------------------------------

local Netns = {}
Netns.__index = Netns

-- The namespace a handle acts in; nil is the caller's own.
local function nl_of(ns)
  if ns == nil then return check(rtnl.open()) end
  return ns:nl()
end

function Netns:nl()
  if not self._nl then self._nl = check(rtnl.open(self.name)) end
  return self._nl
end

function Netns:link(name) return M.link.get(name, self) end
function Netns:links() return M.link.list(self) end
function Netns:addrs() return M.addr.list(self) end
function Netns:routes() return M.route.list(self) end
function Netns:route(t) return M.route.add(t, self) end

function Netns:delete()
  if self._nl then self._nl:close(); self._nl = nil end
  check(core.netns_delete(self.name))
  return true
end

Netns.__tostring = function(ns)
  local ok, links = pcall(M.link.list, ns)
  if not ok then return "netns " .. ns.name .. " (" .. tostring(links) .. ")" end
  return "netns " .. ns.name .. "\n" .. tostring(links)
end

M.netns = {}

local function netns_object(name) return setmetatable({ name = name }, Netns) end

-- ip.netns.add(name): `ip netns add`; ip.netns.get(name): an existing one.
function M.netns.add(name)
  check(core.netns_create(name))
  return netns_object(name)
end

function M.netns.get(name)
  local fd = check(core.netns_open(name))
  fd:close()
  return netns_object(name)
end

function M.netns.list()
  local rows = {}
  for _, n in ipairs(check(core.netns_list())) do rows[#rows + 1] = { name = n } end
  return list(rows, { "name" })
end

setmetatable(M.netns, { __call = function(_, name) return M.netns.get(name) end })

-- ---- link ----------------------------------------------------------------------------

local Link = {}
Link.__index = Link

local function link_object(name, ns) return setmetatable({ name = name, ns = ns }, Link) end

function Link:info()
  for _, l in ipairs(check(rtnl.links(nl_of(self.ns)))) do
    if l.name == self.name then return l end
  end
  error("no link " .. self.name .. (self.ns and (" in netns " .. self.ns.name) or ""), 2)
end

function Link:set(t)
  check(nl_of(self.ns):link_set(self.name, t))
  if t.name then self.name = t.name end
  return self
end

function Link:up() return self:set({ up = true }) end
function Link:down() return self:set({ up = false }) end
function Link:mtu(n) return self:set({ mtu = n }) end
function Link:master(bridge) return self:set({ master = bridge and (bridge.name or bridge) or false }) end

-- Moves the link into another netns (costs a synchronize_net in the kernel, ~16 ms).
function Link:move(ns)
  check(nl_of(self.ns):link_set(self.name, { netns = { name = ns.name } }))
  self.ns = ns
  return self
end

-- link:addr("10.0.0.1/24") adds an address and returns the link (to chain :up()).
function Link:addr(cidr)
  check(nl_of(self.ns):addr_add(self.name, cidr))
  return self
end

function Link:addrs()
  local idx = self:info().index
  local rows = {}
  for _, a in ipairs(M.addr.list(self.ns)) do
    if a.index == idx then rows[#rows + 1] = a end
  end
  return list(rows, { "dev", "family", "address", "prefix" })
end

function Link:delete()
  check(nl_of(self.ns):link_del(self.name))
  return true
end

Link.__tostring = function(l)
  local ok, info = pcall(l.info, l)
  if not ok then return "link " .. l.name .. " (gone)" end
  return render({ info }, { "index", "name", "kind", "up", "mtu", "mac", "master" }) ..
    (l.ns and ("\n(in netns " .. l.ns.name .. ")") or "")
end

M.link = {}

-- ip.link.add{ kind = "veth", name =, peer =, netns = <netns the peer is born in>,
-- mtu =, mac =, master = } in the caller's namespace (or in = a netns object).
function M.link.add(t)
  local spec = {}
  for k, v in pairs(t) do spec[k] = v end
  local in_ns, peer_ns = spec["in"], spec.netns
  spec["in"], spec.netns = nil, nil
  if peer_ns then spec.peer_netns = { name = peer_ns.name } end
  check(nl_of(in_ns):link_add(spec))
  local l = link_object(spec.name, in_ns)
  if spec.peer then l.peer = link_object(spec.peer, peer_ns or in_ns) end
  return l
end

function M.link.get(name, ns)
  local l = link_object(name, ns)
  l:info()
  return l
end

function M.link.list(ns)
  local rows = check(rtnl.links(nl_of(ns)))
  for _, r in ipairs(rows) do r.object = link_object(r.name, ns) end
  return list(rows, { "index", "name", "kind", "up", "mtu", "mac", "master" })
end

-- ---- addr and route ------------------------------------------------------------------

M.addr = {}

local Addr = {}
Addr.__index = Addr
function Addr:delete() check(nl_of(self.ns):addr_del(self.dev, self.address .. "/" .. self.prefix)); return true end
Addr.__tostring = function(a) return render({ a }, { "dev", "family", "address", "prefix" }) end

function M.addr.add(dev, cidr, ns)
  check(nl_of(ns):addr_add(dev, cidr))
  local a, p = cidr:match("^(.-)/(%d+)$")
  return setmetatable({ dev = dev, address = a, prefix = tonumber(p), ns = ns }, Addr)
end

function M.addr.list(ns)
  local rows = check(rtnl.addrs(nl_of(ns)))
  for i, a in ipairs(rows) do
    a.ns = ns
    rows[i] = setmetatable(a, Addr)
  end
  return list(rows, { "dev", "family", "address", "prefix" })
end

M.route = {}

local Route = {}
Route.__index = Route
function Route:delete()
  local dst = self.dst_len and rtnl.route_dst(self) or self.dst
  check(nl_of(self.ns):route_del({ dst = dst, via = self.via, dev = self.dev }))
  return true
end
Route.__tostring = function(r) return render({ r }, { "dst", "dst_len", "via", "dev", "table" }) end

-- ip.route.add{ to = "default"|CIDR, via =, dev = } (in ns when given).
function M.route.add(t, ns)
  check(nl_of(ns):route_add({ dst = t.to or t.dst, via = t.via, dev = t.dev }))
  return setmetatable({ dst = t.to or t.dst, via = t.via, dev = t.dev, ns = ns }, Route)
end

-- The main table's routes, as `ip route` shows them (every table's with all).
function M.route.list(ns, all)
  local rows = check(rtnl.routes(nl_of(ns), all))
  for i, r in ipairs(rows) do
    r.ns = ns
    rows[i] = setmetatable(r, Route)
  end
  return list(rows, { "dst", "dst_len", "via", "dev", "table" })
end

-- The classes, by the name their methods have in lunshare-lua(3) (link:up), for help.
M.classes = { netns = Netns, link = Link, addr = Addr, route = Route }

return M
