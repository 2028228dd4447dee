-- The one place that talks rtnetlink for the Lua side: handles on a namespace, and the
-- dumps of its links, addresses and routes as `ip` shows them. The REPL's live objects
-- (lunshare.ip) and topologies (lunshare.topology) both stand on it; the requests
-- themselves are lunshare.core's netlink methods (link_add, addr_add, route_add, …).
--
-- A view is a cache over a set of namespaces for one command: one handle and one dump per
-- namespace, asked again only after a change there (view:forget). Namespaces are named as
-- named netns (nil is the caller's own), in /run/netns or, for a rootless topology, in the
-- directory handle of its pins.
local core = require "lunshare.core"

local M = {}

-- The kernel's numbers the network modules compare with, from lunshare.core.
M.RT_TABLE_MAIN = core.RT_TABLE_MAIN
M.errno = core.errno

-- A failure of the network's own work (a dump that failed, a request the kernel refused):
-- raised as a value the caller's protected part recognises and reports as one line.
local Failure = {}
Failure.__tostring = function(f) return f.msg end

function M.raise(msg) error(setmetatable({ msg = tostring(msg) }, Failure), 0) end
function M.failure(e) return getmetatable(e) == Failure and e.msg or nil end

-- v when it is not nil; raises the message that came with it otherwise.
function M.must(v, msg, ...)
  if v == nil then M.raise(msg) end
  return v, msg, ...
end

-- A netlink handle in netns name (nil: the caller's own) of directory dir (nil: /run/netns,
-- a path, or a directory handle); nil, message, errno when that netns cannot be opened.
function M.open(name, dir)
  if name == nil then return core.netlink() end
  return core.netlink({ name = name, dir = dir })
end

-- "default" or "10.1.0.0/24": a route's destination as `ip route` writes it.
function M.route_dst(r)
  if r.dst == "default" then return "default" end
  return r.dst .. "/" .. r.dst_len
end

-- Whether dumped route r is want ({ to = "default"|CIDR|address, via = }) in the main table.
function M.route_is(r, want)
  if r.table ~= M.RT_TABLE_MAIN then return false end
  if want.to ~= M.route_dst(r) and want.to ~= r.dst then return false end
  return want.via == nil or r.via == want.via
end

-- index -> name of the links of handle nl.
local function names_of(links)
  local names = {}
  for _, l in ipairs(links) do names[l.index] = l.name end
  return names
end

-- The links of nl, each with master as a name (as `ip link` shows it) and master_index;
-- nil, message, errno when the dump fails.
function M.links(nl)
  local links, msg, errno = nl:links()
  if not links then return nil, msg, errno end
  local names = names_of(links)
  for _, l in ipairs(links) do
    l.master_index = l.master
    l.master = l.master and names[l.master] or l.master
  end
  return links
end

-- The addresses of nl, each with dev (its link's name: from links, a dump of nl's links,
-- when the caller has one).
function M.addrs(nl, links)
  local msg, errno
  if not links then links, msg, errno = nl:links() end
  if not links then return nil, msg, errno end
  local rows, amsg, aerrno = nl:addrs()
  if not rows then return nil, amsg, aerrno end
  local names = names_of(links)
  for _, a in ipairs(rows) do a.dev = names[a.index] end
  return rows
end

-- The routes of nl's main table (all tables with all), each with dev (its link's name;
-- links as for M.addrs).
function M.routes(nl, all, links)
  local msg, errno
  if not links then links, msg, errno = nl:links() end
  if not links then return nil, msg, errno end
  local dumped, rmsg, rerrno = nl:routes()
  if not dumped then return nil, rmsg, rerrno end
  local names, rows = names_of(links), {}
  for _, r in ipairs(dumped) do
    if all or r.table == M.RT_TABLE_MAIN then
      r.dev = names[r.oif]
      rows[#rows + 1] = r
    end
  end
  return rows
end

-- ---- a view over several namespaces ------------------------------------------------------

local View = {}
View.__index = View

-- A view of the namespaces of directory dir (see M.open). With absent, none of them exists,
-- nor the caller's own (a rootless topology whose holder is gone).
function M.view(dir, absent)
  return setmetatable({ dir = dir, absent = absent, nl = {}, dumps = {} }, View)
end

local function key(host) return host or "" end

-- The handle on host's netns; nil and a message when it does not exist or cannot be opened.
function View:handle(host)
  if self.absent then return nil, "no such netns" end
  local k = key(host)
  local h = self.nl[k]
  if h == nil then
    local msg
    h, msg = M.open(host, self.dir)
    if not h then return nil, msg end
    self.nl[k] = h
  end
  return h
end

-- The names of the named netns, as a set.
function View:netns()
  if self.absent then return {} end
  if not self.netns_set then
    local set = {}
    local list = M.must(core.netns_list(self.dir))
    for _, n in ipairs(list) do set[n] = true end
    self.netns_set = set
  end
  return self.netns_set
end

function View:has_netns(host) return self:netns()[host] == true end

-- What of host's namespace has been dumped, asked once: "links" (by name and by index),
-- "addrs" or "routes" (the main table's); nil for a netns that does not exist. A dump that
-- fails raises.
function View:dump(host, what)
  local k = key(host)
  local d = self.dumps[k]
  if not d then
    d = {}
    self.dumps[k] = d
  end
  if d[what] == nil then
    local nl = self:handle(host)
    if not nl then
      d[what] = false
    else
      d.list = d.list or M.must(M.links(nl))
      if what == "links" then
        local by = {}
        for _, l in ipairs(d.list) do by[l.name] = l; by[l.index] = l end
        d.links = by
      elseif what == "addrs" then
        d.addrs = M.must(M.addrs(nl, d.list))
      else
        d.routes = M.must(M.routes(nl, false, d.list))
      end
    end
  end
  return d[what] or nil
end

-- The link named name in host's netns (as M.links gives it), or nil.
function View:link(host, name)
  local by = self:dump(host, "links")
  return by and by[name]
end

-- Whether link dev in host's netns has address cidr ("10.0.0.1/24").
function View:has_addr(host, dev, cidr)
  local l = self:link(host, dev)
  local addrs = l and self:dump(host, "addrs")
  if not addrs then return false end
  local a, len = cidr:match("^(.-)/(%d+)$")
  for _, x in ipairs(addrs) do
    if x.index == l.index and x.address == a and x.prefix == tonumber(len) then return true end
  end
  return false
end

-- Whether host's main table has route r ({ to =, via = }).
function View:has_route(host, r)
  for _, x in ipairs(self:dump(host, "routes") or {}) do
    if M.route_is(x, r) then return true end
  end
  return false
end

-- Forgets what was dumped of host's netns after a change there: all of it, or one dump
-- ("routes", "addrs").
function View:forget(host, what)
  local d = self.dumps[key(host)]
  if what and d then d[what] = nil else self.dumps[key(host)] = nil end
end

-- Notes what the caller just made, so that the view stays true without a new dump.
function View:note_netns(host)
  if self.netns_set then self.netns_set[host] = true end
end

function View:note_addr(host, dev, cidr)
  local d, l = self.dumps[key(host)], self:link(host, dev)
  local a, len = cidr:match("^(.-)/(%d+)$")
  if d and d.addrs and l then d.addrs[#d.addrs + 1] = { index = l.index, address = a, prefix = tonumber(len) } end
end

-- Forgets host's netns altogether (it was deleted): its handle is closed.
function View:drop(host)
  local h = self.nl[key(host)]
  if h then h:close() end
  self.nl[key(host)], self.dumps[key(host)] = nil, nil
  self.netns_set = nil
end

function View:close()
  for _, h in pairs(self.nl) do h:close() end
  self.nl, self.dumps = {}, {}
end

return M
