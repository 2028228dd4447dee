-- Profile area: the network.
--   network = "none"               own netns with loopback up (the default when "net" is
--                                  among the namespaces)
--   network = "host"               the host's network ("net" must not be unshared)
--   network = "user"               outbound access through pasta, ports forwarded in
--                                  (scripts/lunshare/usernet.lua)
--   network = { egress = { … } }   only an HTTP(S) proxy to the listed hosts
--                                  (scripts/lunshare/egress.lua)
--   network = { join = "NAME" }    as root: the named netns /run/netns/NAME (made by
--                                  `ip netns add`, or a host of root's topology)
--   network = { join = "TOPOLOGY/HOST" }  as a user: host HOST of the user's own rootless
--                                  topology TOPOLOGY (`lunshare net up`; `net list` shows both)
-- A joined netns is entered by the supervisor before the clone, and the sandbox is cloned
-- there without a netns of its own: with a user namespace of its own, that namespace is
-- not the netns's owner, so the sandbox can change nothing of it (core/net_ops.c).
--   network = { links = { veth { name = "eth0", host = "lsh0", address = "10.0.0.2/24",
--                                host_address = "10.0.0.1/24", gateway = "10.0.0.1" } } }
--   network = { veth { … }, … }   the same, as a list
-- A veth's host end is made by the supervisor with its peer born inside the sandbox's
-- namespace, and removed when the run ends.
local egress = require "lunshare.egress"
local state = require "lunshare.state"
local usernet = require "lunshare.usernet"
local util = require "lunshare.util"

local M = {}

M.FIELDS = { "network" }

local VETH_KEYS = { "type", "name", "host", "address", "host_address", "mtu", "gateway",
  "routes", "bridge" }
local ROUTE_KEYS = { "to", "via", "dev" }

-- Profile helpers: plain data, so that a profile stays data.
M.constructors = {
  veth = function(t)
    local v = { type = "veth" }
    for k, x in pairs(type(t) == "table" and t or {}) do v[k] = x end
    return v
  end,
}

local function list(v)
  if v == nil then return {} end
  if type(v) == "string" then return { v } end
  return v
end
M.list = list

M.valid_cidr = util.valid_cidr

-- What a caller who is not root is told of a host-side link, word for word what
-- core/net_ops.c says when the kernel refuses one (EPERM): the planner refuses a rootless
-- profile's veth with it (so that check says what run would), as plug refuses a veth.
M.HOST_LINK_NEEDS_ROOT = "a host-side link needs CAP_NET_ADMIN in the host's network namespace: run as root, " ..
  "or keep both ends in namespaces you own (`lunshare net up FILE` as that user, then " ..
  "network = { join = \"TOPOLOGY/HOST\" })"

-- An MTU a link takes: an integer from the kernel's minimum for an Ethernet link (68,
-- IPv4's) to 65535. The one check for a profile's, a topology file's and a topology step's.
M.MTU_RANGE = "an MTU from 68 to 65535"
function M.valid_mtu(v) return math.type(v) == "integer" and v >= 68 and v <= 65535 end

-- No control character either: a link name is printed.
function M.valid_ifname(s)
  return type(s) == "string" and #s >= 1 and #s <= 15 and not s:find("[/%s%c]")
end

-- A join's target: "NAME" (a named netns), or "TOPOLOGY/HOST" (a host of a rootless
-- topology). Returns topology or nil, and the netns or host name; nil when the value is
-- neither.
local function one_name(x)
  return x ~= "" and x ~= "." and x ~= ".." and #x <= 200 and not x:find("[/%c]")
end
function M.join_target(v)
  if type(v) ~= "string" then return nil end
  local topo, host = v:match("^([^/]*)/([^/]*)$")
  if topo then
    if one_name(topo) and one_name(host) then return topo, host end
    return nil
  end
  if one_name(v) then return false, v end
  return nil
end

-- Whether profile joins a host of the caller's rootless topology (with ctx, the caller).
function M.joins_topology(profile, ctx)
  local n = profile.network
  local ids = ctx and ctx.ids
  if type(n) ~= "table" or not ids or (ids.euid or ids.uid) == 0 then return false end
  return (M.join_target(n.join)) and true or false
end

local function check_addresses(c, v, path)
  if v ~= nil and type(v) ~= "string" and type(v) ~= "table" then
    c:fail(path, "expected an address with a prefix like \"10.0.0.2/24\", or a list of them, got " .. type(v))
    return
  end
  if type(v) == "table" and not c:list(v, path, "addresses") then return end
  for i, a in ipairs(list(v)) do
    local p = type(v) == "table" and (path .. "[" .. i .. "]") or path
    if not M.valid_cidr(a, true) then
      c:fail(p, "expected an address with a prefix like \"10.0.0.2/24\" or \"fd00::2/64\", got " ..
        tostring(a))
    end
  end
end

M.check_addresses = check_addresses

local function check_routes(c, routes, path)
  if not c:list(routes, path, "routes") then return end
  for i, r in ipairs(routes) do
    local p = path .. "[" .. i .. "]"
    if c:type(r, p, "table") then
      c:keys(r, p, ROUTE_KEYS)
      if r.to ~= "default" and not M.valid_cidr(r.to) then
        c:fail(p .. ".to", "expected \"default\" or a CIDR, got " .. util.value_text(r.to))
      end
      if r.via ~= nil and not M.valid_cidr(r.via) then c:fail(p .. ".via", "expected a gateway address") end
      if r.via == nil and r.dev == nil then c:fail(p, "a route needs via (a gateway) or dev (a link)") end
      if r.dev ~= nil and not M.valid_ifname(r.dev) then
        c:fail(p .. ".dev", "expected a link name of 1 to 15 bytes without '/', spaces or control characters")
      end
    end
  end
end
M.check_routes = check_routes

local function check_veth(c, v, path)
  if not c:type(v, path, "table") then return end
  c:keys(v, path, VETH_KEYS)
  if v.type ~= "veth" then c:fail(path .. ".type", "expected \"veth\" (write veth { … })") end
  if v.name ~= nil and not M.valid_ifname(v.name) then
    c:fail(path .. ".name", "expected a link name of 1 to 15 bytes without '/' or spaces")
  end
  if not M.valid_ifname(v.host) then
    c:fail(path .. ".host", "expected the host-side link name (1 to 15 bytes), e.g. \"lsh0\"")
  end
  check_addresses(c, v.address, path .. ".address")
  check_addresses(c, v.host_address, path .. ".host_address")
  if v.mtu ~= nil and c:type(v.mtu, path .. ".mtu", "integer") and not M.valid_mtu(v.mtu) then
    c:fail(path .. ".mtu", "expected " .. M.MTU_RANGE)
  end
  if v.gateway ~= nil and not M.valid_cidr(v.gateway) then
    c:fail(path .. ".gateway", "expected a gateway address like \"10.0.0.1\"")
  end
  if v.routes ~= nil then check_routes(c, v.routes, path .. ".routes") end
  if v.bridge ~= nil and not M.valid_ifname(v.bridge) then
    c:fail(path .. ".bridge", "expected the name of a bridge on the host")
  end
end

-- c: the schema checker; p: the profile; a: the area context (lunshare.areas).
function M.check(c, p, a)
  local ns = a.ns
  local n = p.network
  if n == nil then return end
  if n == "none" then
    if not ns.net then c:fail("network", "\"none\" needs the net namespace (add \"net\" to namespaces)") end
    return
  end
  if n == "host" then
    if ns.net then c:fail("network", "\"host\" shares the host's network: remove \"net\" from namespaces") end
    return
  end
  if egress.is_egress(n) then return egress.check(c, n, ns) end
  if usernet.is_user(n) or (type(n) == "table" and n.mode ~= nil) then return usernet.check(c, n, ns) end
  if type(n) ~= "table" then
    c:fail("network", "expected \"none\", \"host\", \"user\", { join = \"NAME\" }, { egress = { … } } or " ..
      "{ links = { veth { … } } }" .. (type(n) == "string" and util.suggest(n, { "none", "host", "user" }) or ""))
    return
  end
  local allowed = { "join", "links" }
  for _, k in ipairs(util.sorted_keys(n)) do
    if not (math.type(k) == "integer" and k >= 1 and k <= #n) and not util.contains(allowed, k) then
      c:fail(util.sub_path("network", k), "unknown field" .. util.suggest(tostring(k), allowed) ..
        "; expected one of join, links, or a list of veth { … }")
    end
  end
  local entries = 0
  for k in pairs(n) do
    if math.type(k) == "integer" and k >= 1 and k <= #n then entries = entries + 1 end
  end
  if entries ~= #n then c:fail("network", "expected a list of veth links without holes (nil entries)") end
  -- network = { veth { … }, … } is short for network = { links = { veth { … }, … } }.
  if #n > 0 then
    if n.links ~= nil then c:fail("network", "give the veths either in links or as a list, not both") end
    if not ns.net then
      c:fail("network", "a veth needs the net namespace (add \"net\" to namespaces)")
      return
    end
    local links = {}
    for i, v in ipairs(n) do links[i] = v end
    n = { join = n.join, links = links }
  end
  if n.join ~= nil and M.join_target(n.join) == nil then
    c:fail("network.join", "expected the name of a netns (as `ip netns list` shows), or TOPOLOGY/HOST " ..
      "for a host of your rootless topology (as `lunshare net list` shows)")
  end
  if n.join ~= nil and n.links ~= nil then
    c:fail("network", "join and links do not go together: a joined netns is configured by its topology")
  end
  if n.links ~= nil then
    if not ns.net then c:fail("network", "a veth needs the net namespace (add \"net\" to namespaces)") end
    if c:list(n.links, "network.links", "veth links") then
      local seen = {}
      for i, v in ipairs(n.links) do
        check_veth(c, v, "network.links[" .. i .. "]")
        if type(v) == "table" then
          local inside = v.name or ("eth" .. (i - 1))
          if seen[inside] then c:fail("network.links[" .. i .. "].name", "the name " .. inside .. " is used twice") end
          seen[inside] = true
        end
      end
    end
  end
end

-- add(phase, step) appends a plan step in one of lunshare.plan.PHASES.
function M.plan(profile, add, a)
  local n = profile.network
  local ns = a.ns
  if n == "host" then return true end
  local origin = a.origin("network")
  if type(n) == "table" and n.join then
    -- What the executor would refuse whatever the machine, refused while planning so
    -- that check says it first. Whether the name is there is the machine's, left to run
    -- (a topology may be brought up after check).
    local o = a.origin("network.join") .. ": network.join: "
    local ids = a.caller and a.caller.ids
    local root = not ids or (ids.euid or ids.uid) == 0
    local topo, name = M.join_target(n.join)
    if topo and root then
      return nil, o .. "as root, the hosts of a topology are named netns in /run/netns: write " ..
        "join = \"" .. name .. "\" (as `lunshare net list` and `ip netns list` show); TOPOLOGY/HOST " ..
        "names a host of a user's rootless topology"
    end
    if not topo and not root then
      return nil, o .. "the netns " .. name .. " in /run/netns is root's, which only root can join; " ..
        "as a user, join a host of your own rootless topology: join = \"TOPOLOGY/HOST\" " ..
        "(`lunshare net up FILE`, then `lunshare net list` shows them)"
    end
    if topo and not ns.user then
      return nil, o .. "a host of a rootless topology is joined from a user namespace of the sandbox's " ..
        "own (add \"user\" to namespaces): without one the sandbox would hold the holder's capabilities"
    end
    local step = { op = "netns_join", name = name, origin = a.origin("network.join") }
    if topo then
      step.topology = topo
      step.state_root, step.state_path = state.base()
    end
    add("prepare", step)
    return true
  end
  if not ns.net then return true end
  if usernet.is_user(n) then return usernet.plan(profile, add, a.caller, origin, ns) end
  if egress.is_egress(n) then return egress.plan(profile, add, a.caller, origin, ns) end
  local short = type(n) == "table" and #n > 0
  local links = type(n) == "table" and (short and n or n.links) or {}
  -- A veth's host end is made in the host's network namespace, which only root may
  -- change: whatever the machine, the kernel refuses it to anyone else.
  local ids = a.caller and a.caller.ids
  if ids and (ids.euid or ids.uid) ~= 0 then
    for i, v in ipairs(links) do
      local path = short and ("network[" .. i .. "]") or ("network.links[" .. i .. "]")
      return nil, a.origin(path) .. ": " .. (a.own and a.own(path) or path) .. ": veth " .. tostring(v.host) .. ": " ..
        M.HOST_LINK_NEEDS_ROOT
    end
  end
  add("network", { op = "lo_up", origin = origin })
  for i, v in ipairs(links) do M.veth_steps(v, v.name or ("eth" .. (i - 1)), add, origin) end
  return true
end

-- The steps of one veth v whose end inside is named inside: the pair from the host (op:
-- "veth", or "plug_veth" with its fields for a running sandbox, lunshare.hotplug), then
-- inside its MTU, addresses, up, routes and gateway.
function M.veth_steps(v, inside, add, origin, op, fields)
  local host = { op = op or "veth", name = v.host, peer = inside, mtu = v.mtu, master = v.bridge,
    addresses = list(v.host_address), origin = origin }
  for k, x in pairs(fields or {}) do host[k] = x end
  add("host", host)
  add("network", { op = "link_setup", name = inside, mtu = v.mtu, up = true, addresses = list(v.address),
    origin = origin })
  for _, r in ipairs(v.routes or {}) do
    add("network", { op = "route", to = r.to, via = r.via, dev = r.dev or inside, origin = origin })
  end
  if v.gateway then
    add("network", { op = "route", to = "default", via = v.gateway, dev = inside, origin = origin })
  end
end

-- What the network grants in effect, for the grants summary (lunshare.grants): the host's
-- own network (host = true), a named netns joined, or a namespace of its own with its
-- links. Each item: { text, path = the profile field }.
function M.grants(profile, a)
  local n = profile.network
  local ns = a.ns
  if type(n) == "table" and n.join then
    local topo, name = M.join_target(n.join)
    local text = topo and ("joins host " .. name .. " of the caller's rootless topology " .. topo) or
      ("joins the named netns " .. n.join)
    -- With a user namespace of its own, which does not own the netns.
    if ns.user then text = text .. ", which it cannot change" end
    return { network = { { text = text, join = n.join, path = "network.join" } } }
  end
  if not ns.net then
    return { network = { { text = "the host's network (no network namespace)", host = true,
      path = n == "host" and "network" or "namespaces" } } }
  end
  if usernet.is_user(n) then return usernet.grants(profile) end
  if egress.is_egress(n) then return egress.grants(profile) end
  local out = { { text = "a network namespace of its own, loopback up", path = "namespaces" } }
  local short = type(n) == "table" and #n > 0
  local links = type(n) == "table" and (short and n or n.links) or {}
  for i, v in ipairs(links) do
    local parts = { "veth " .. (v.name or ("eth" .. (i - 1))) .. " to the host's " .. v.host }
    if #list(v.address) > 0 then parts[#parts + 1] = "address " .. table.concat(list(v.address), " ") end
    if #list(v.host_address) > 0 then parts[#parts + 1] = "host side " .. table.concat(list(v.host_address), " ") end
    if v.bridge then parts[#parts + 1] = "on the host's bridge " .. v.bridge end
    if v.mtu then parts[#parts + 1] = "mtu " .. v.mtu end
    if v.gateway then parts[#parts + 1] = "gateway " .. v.gateway end
    for _, r in ipairs(v.routes or {}) do
      parts[#parts + 1] = "route " .. r.to .. (r.via and (" via " .. r.via) or "") .. (r.dev and (" dev " .. r.dev) or "")
    end
    out[#out + 1] = { text = table.concat(parts, ", "), link = v.host,
      path = short and ("network[" .. i .. "]") or ("network.links[" .. i .. "]") }
  end
  return { network = out }
end

return M
