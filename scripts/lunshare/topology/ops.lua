-- The steps of a topology plan, each described once: its fields, the command it replaces
-- (what `net explain` prints and `net up` reports), how the applier performs it, and how
-- `net status` compares it with the kernel. A step is plain data:
--   { op = "addr_add", host = "netns1", dev = "veth1_peer", address = "10.0.0.2/24",
--     origin = "walkthrough.lua:13" }
-- host names the netns a step works in (absent: the caller's own, or inside a rootless
-- holder the holder's). Every step of `up` makes sure of one thing and changes nothing
-- that is already so: a second `up` makes no change.
local util = require "lunshare.util"
local rtnl = require "lunshare.rtnetlink"
local lcore = require "lunshare.core"
local network = require "lunshare.network"
local schema = require "lunshare.topology.schema"

local M = {}

local E = rtnl.errno
local raise, must = rtnl.raise, rtnl.must

local function core() return lcore end

-- ---- fields ------------------------------------------------------------------------------

local valid_host = schema.valid_host
local valid_ifname = network.valid_ifname
local valid_cidr = network.valid_cidr

local KINDS = {
  host = { valid_host, "a netns name" },
  ifname = { valid_ifname, "a link name" },
  cidr = { function(v) return valid_cidr(v, true) end, "an address with a prefix" },
  dst = { function(v) return v == "default" or valid_cidr(v) end, "\"default\" or an address" },
  gateway = { function(v) return valid_cidr(v) end, "an address" },
  mtu = { network.valid_mtu, "an MTU" },
  boolean = { function(v) return type(v) == "boolean" end, "true or false" },
}

-- ---- how a step reads as a command -------------------------------------------------------

local q = util.shell_quote

-- The netns file of host as commands name it: /run/netns/NAME is named by its name; a
-- rootless topology's pins by their path.
local function netns_arg(p, host) return q(p.netns_dir and (p.netns_dir .. "/" .. host) or host) end

-- "ip" working in host's netns.
local function ip(p, host)
  if host == nil then return "ip" end
  if p.netns_dir then return "nsenter --net=" .. netns_arg(p, host) .. " ip" end
  return "ip -n " .. q(host)
end

local function where(host) return host and ("netns " .. host) or "here" end

-- ---- the view of the kernel the applier and status share --------------------------------

local function handle(env, host)
  local nl, msg = env.view:handle(host)
  if not nl then raise(msg) end
  return nl
end

local function link_of(env, host, dev)
  local l = env.view:link(host, dev)
  if not l then raise("no link " .. dev .. " in " .. where(host)) end
  return l
end

-- ---- the ops -------------------------------------------------------------------------------
-- fields: name -> kind (a "?" after the kind: optional); ip(step, plan): the command;
-- make(step, env): performs the step, true when it changed something; for status, either
-- row(step, view) -> { { key, what, state, detail }… } (the objects the step makes) or
-- part(step) -> key and holds(step, view) -> ok, detail (a property of one of them).

local OPS = {}
M.OPS = OPS

OPS.holder = {
  fields = { create = "boolean" },
  ip = function(s, p)
    local enter = "nsenter -t PID -U -m -n --preserve-credentials  # PID from " .. q(p.holder) ..
      "; every later step runs in there"
    if not s.create then return enter end
    return "unshare --user --map-root-user --mount --net sleep infinity &  # the holder, made by the first up\n" .. enter
  end,
  make = function(s, env) return env.enter_holder(s.create) end,
}

OPS.netns_add = {
  fields = { host = "host" },
  ip = function(s, p)
    if p.netns_dir then
      return "touch " .. netns_arg(p, s.host) .. " && unshare --net=" .. netns_arg(p, s.host) .. " true"
    end
    return "ip netns add " .. q(s.host)
  end,
  make = function(s, env)
    if env.view:has_netns(s.host) then return false end
    env.record("hosts", s.host)
    local ok, msg, errno = core().netns_create(s.host, env.netns_dir)
    if not ok then
      env.unrecord("hosts")
      if errno == E.EPERM or errno == E.EACCES then
        msg = msg .. " (named netns in /run/netns need root; run as a user to get a rootless topology)"
      end
      raise(msg)
    end
    env.view:note_netns(s.host)
    return true
  end,
  row = function(s, view)
    return { { "host " .. s.host, "host " .. s.host, view:has_netns(s.host) and "ok" or "missing" } }
  end,
}

OPS.lo_up = {
  fields = { host = "host" },
  ip = function(s, p) return ip(p, s.host) .. " link set lo up" end,
  make = function(s, env)
    local lo = env.view:link(s.host, "lo")
    if not lo or lo.up then return false end
    must(handle(env, s.host):link_set("lo", { up = true }))
    lo.up = true
    return true
  end,
  part = function(s) return "host " .. s.host end,
  holds = function(s, view)
    local lo = view:link(s.host, "lo")
    return not lo or lo.up, "lo down"
  end,
}

local function link_key(host, name) return "link " .. (host or "") .. "/" .. name end

OPS.bridge_add = {
  fields = { host = "host?", name = "ifname", mtu = "mtu?" },
  ip = function(s, p)
    return ip(p, s.host) .. " link add " .. q(s.name) .. (s.mtu and (" mtu " .. s.mtu) or "") .. " type bridge"
  end,
  make = function(s, env)
    local l = env.view:link(s.host, s.name)
    if l then
      if l.kind ~= "bridge" then
        raise("switch " .. s.name .. ": a link of that name exists in " .. where(s.host) .. " and is not a bridge")
      end
      return false
    end
    env.record("switches", { host = s.host, name = s.name })
    local ok, msg = handle(env, s.host):link_add{ kind = "bridge", name = s.name, mtu = s.mtu }
    if not ok then
      env.unrecord("switches")
      raise(msg)
    end
    env.view:forget(s.host)
    return true
  end,
  row = function(s, view)
    local l = view:link(s.host, s.name)
    local state = not l and "missing" or (l.kind ~= "bridge" and "differs" or "ok")
    return { { link_key(s.host, s.name), "switch " .. s.name, state, state == "differs" and "not a bridge" or nil } }
  end,
}

OPS.veth_add = {
  fields = { host = "host?", name = "ifname", peer = "ifname", peer_host = "host?", mtu = "mtu?" },
  ip = function(s, p)
    return ip(p, s.host) .. " link add " .. q(s.name) .. (s.mtu and (" mtu " .. s.mtu) or "") ..
      " type veth peer name " .. q(s.peer) .. (s.peer_host and (" netns " .. netns_arg(p, s.peer_host)) or "")
  end,
  make = function(s, env)
    local la, lb = env.view:link(s.host, s.name), env.view:link(s.peer_host, s.peer)
    if la and lb then return false end
    if la or lb then
      raise(string.format("link %s (%s) / %s (%s): only one end exists; remove it or rename",
        s.name, where(s.host), s.peer, where(s.peer_host)))
    end
    env.record("links", { host = s.host, name = s.name, peer_host = s.peer_host, peer = s.peer })
    -- The peer is born in its namespace: one request, and no move (a move costs the
    -- kernel a synchronize_net).
    local ok, msg = handle(env, s.host):link_add{ kind = "veth", name = s.name, peer = s.peer, mtu = s.mtu,
      peer_netns = s.peer_host and { name = s.peer_host, dir = env.netns_dir } or nil }
    if not ok then
      env.unrecord("links")
      raise(msg)
    end
    env.view:forget(s.host)
    env.view:forget(s.peer_host)
    return true
  end,
  row = function(s, view)
    local rows = {}
    for _, e in ipairs({ { s.host, s.name }, { s.peer_host, s.peer } }) do
      rows[#rows + 1] = { link_key(e[1], e[2]), "link " .. e[2] .. " (" .. where(e[1]) .. ")",
        view:link(e[1], e[2]) and "ok" or "missing" }
    end
    return rows
  end,
}

OPS.link_master = {
  fields = { host = "host?", dev = "ifname", master = "ifname" },
  ip = function(s, p) return ip(p, s.host) .. " link set " .. q(s.dev) .. " master " .. q(s.master) end,
  make = function(s, env)
    local x = link_of(env, s.host, s.dev)
    local sw = env.view:link(s.host, s.master)
    if sw and x.master_index == sw.index then return false end
    must(handle(env, s.host):link_set(s.dev, { master = s.master }))
    x.master, x.master_index = s.master, sw and sw.index
    return true
  end,
  part = function(s) return link_key(s.host, s.dev) end,
  holds = function(s, view)
    local x, sw = view:link(s.host, s.dev), view:link(s.host, s.master)
    return x and sw and x.master_index == sw.index, "not on switch " .. s.master
  end,
}

OPS.addr_add = {
  fields = { host = "host?", dev = "ifname", address = "cidr" },
  ip = function(s, p) return ip(p, s.host) .. " addr add " .. q(s.address) .. " dev " .. q(s.dev) end,
  make = function(s, env)
    if env.view:has_addr(s.host, s.dev, s.address) then return false end
    link_of(env, s.host, s.dev)
    must(handle(env, s.host):addr_add(s.dev, s.address))
    env.view:note_addr(s.host, s.dev, s.address)
    return true
  end,
  part = function(s) return link_key(s.host, s.dev) end,
  holds = function(s, view) return view:has_addr(s.host, s.dev, s.address), "no address " .. s.address end,
}

OPS.link_up = {
  fields = { host = "host?", dev = "ifname" },
  ip = function(s, p) return ip(p, s.host) .. " link set " .. q(s.dev) .. " up" end,
  make = function(s, env)
    local x = link_of(env, s.host, s.dev)
    if x.up then return false end
    must(handle(env, s.host):link_set(s.dev, { up = true }))
    x.up = true
    return true
  end,
  part = function(s) return link_key(s.host, s.dev) end,
  holds = function(s, view)
    local x = view:link(s.host, s.dev)
    return x and x.up, "down"
  end,
}

local function route_text(s) return s.to .. (s.via and (" via " .. s.via) or "") .. (s.dev and (" dev " .. s.dev) or "") end

OPS.route_add = {
  fields = { host = "host", to = "dst", via = "gateway?", dev = "ifname?" },
  ip = function(s, p) return ip(p, s.host) .. " route add " .. q(s.to) ..
    (s.via and (" via " .. q(s.via)) or "") .. (s.dev and (" dev " .. q(s.dev)) or "") end,
  make = function(s, env)
    if env.view:has_route(s.host, s) then return false end
    must(handle(env, s.host):route_add{ dst = s.to, via = s.via, dev = s.dev })
    env.view:forget(s.host, "routes")
    return true
  end,
  row = function(s, view)
    local what = "route " .. route_text(s) .. " (netns " .. s.host .. ")"
    return { { "route " .. s.host .. " " .. route_text(s), what, view:has_route(s.host, s) and "ok" or "missing" } }
  end,
}

-- ---- removals: down, and an up's rollback ------------------------------------------------
-- A removal that finds nothing to remove is done; a failure is a problem, and the others
-- go on (env.problem), so that one stuck object does not keep the rest.

OPS.link_del = {
  fields = { host = "host?", name = "ifname" },
  ip = function(s, p) return ip(p, s.host) .. " link del " .. q(s.name) end,
  make = function(s, env)
    if env.view.absent then return false end
    local nl, msg = env.view:handle(s.host)
    if not nl then
      env.problem("link " .. s.name .. " (" .. where(s.host) .. "): " .. tostring(msg))
      return false
    end
    local ok, err, errno = nl:link_del(s.name)
    if ok then return true end
    if errno ~= E.ENODEV then env.problem(err) end
    return false
  end,
}

OPS.netns_del = {
  fields = { host = "host" },
  ip = function(s, p)
    if p.netns_dir then return "umount -l " .. netns_arg(p, s.host) .. " && rm " .. netns_arg(p, s.host) end
    return "ip netns del " .. q(s.host)
  end,
  make = function(s, env)
    if env.view.absent then
      -- The holder is gone and its mount namespace with it: the pin is an empty file here.
      local ok, err = env.pins:remove(s.host)
      if ok == nil then env.problem(err) end
      return ok == true
    end
    -- A handle lunshare holds in the namespace would keep it (and its links) alive.
    env.view:drop(s.host)
    local ok, msg, errno = core().netns_delete(s.host, env.netns_dir)
    if ok then return true end
    if errno ~= E.ENOENT then env.problem(msg) end
    return false
  end,
}

-- The kernel takes a deleted namespace's links a moment later, with the ends they had in
-- namespaces that stay: waiting for those (two seconds at most) makes `down` return with
-- everything gone, so that an `up` right after finds nothing in its way.
M.GONE_WAIT, M.GONE_POLL = 2, 0.005

OPS.link_gone = {
  fields = { host = "host?", name = "ifname", peer_host = "host" },
  ip = function(s) return "# no command: link " .. q(s.name) .. " (" .. where(s.host) ..
    ") goes with netns " .. q(s.peer_host) .. " a moment later; down waits for it" end,
  make = function(s, env)
    if env.view.absent then return false end
    local nl = env.view:handle(s.host)
    for _ = 1, math.ceil(M.GONE_WAIT / M.GONE_POLL) do
      if not (nl and nl:link_index(s.name)) then return false end
      core().sleep(M.GONE_POLL)
    end
    env.problem("link " .. s.name .. " (" .. where(s.host) .. ") outlived its peer's namespace")
    return false
  end,
}

OPS.holder_end = {
  fields = {},
  ip = function(_, p) return "kill -KILL PID; rm " .. q(p.holder) .. "  # the holder: its namespaces go with it" end,
  make = function(_, env) return env.end_holder() end,
}

-- ---- the plan as data and as text ----------------------------------------------------------

-- Whether step s is one this table describes with valid fields; nil and why otherwise.
-- The applier checks every step before it performs any, so a plan made by hand (the Lua
-- API, or a plan edited on its way) cannot name what the applier does not know.
function M.check_step(s)
  if type(s) ~= "table" then return nil, "a step is a table" end
  local op = type(s.op) == "string" and OPS[s.op]
  if not op then return nil, "unknown op " .. util.escape(tostring(s.op)) end
  for k in pairs(s) do
    if k ~= "op" and k ~= "origin" and op.fields[k] == nil then
      return nil, s.op .. ": unknown field " .. util.escape(tostring(k))
    end
  end
  if s.origin ~= nil and type(s.origin) ~= "string" then return nil, s.op .. ": origin must be a string" end
  for k, kind in pairs(op.fields) do
    local base, optional = kind:match("^(%a+)(%??)$")
    local v = s[k]
    if v == nil then
      if optional == "" then return nil, s.op .. ": " .. k .. " is missing" end
    elseif not KINDS[base][1](v) then
      return nil, s.op .. ": " .. k .. ": expected " .. KINDS[base][2]
    end
  end
  return true
end

-- The command step s replaces, in plan p: one line, or a few for the holder.
function M.text(s, p) return OPS[s.op].ip(s, p) end

return M
