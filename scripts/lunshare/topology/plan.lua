-- Planning: a loaded topology becomes the plan `net up` performs, and a journal the plan
-- `net down` performs. A plan is plain data, a pure function of the file (or the journal)
-- and of the caller (root, or a user and so a rootless holder):
--   { verb = "up"|"down", file = FILE, name = NAME (of its state), rootless = true|nil,
--     holder = PATH, netns_dir = PATH (rootless: its pid file, its pins' directory),
--     journal = PATH (down: where the steps come from),
--     steps = { { op = "netns_add", host = "netns1", origin = "FILE:10" }, … } }
-- `net explain` prints it, `net explain --json` prints this very table, and `net up`
-- hands it to the applier (lunshare.topology.apply), which checks it again.
-- The order is the execution order: the holder first (rootless), then hosts (named netns,
-- loopback up), switches (bridges, up, addressed), links (each veth pair born with its peer
-- in its namespace, then per end: switch, addresses, up), and routes last, once every
-- link they go through is up.
local util = require "lunshare.util"
local schema = require "lunshare.topology.schema"
local journal = require "lunshare.topology.journal"
local holder = require "lunshare.topology.holder"
local ops = require "lunshare.topology.ops"
local core = require "lunshare.core"
local network = require "lunshare.network"

local M = {}

local list = network.list

-- Where a rootless plan's holder and pins are, for its text (nothing is opened).
local function rootless_fields(plan)
  local paths = holder.paths(plan.name)
  plan.rootless, plan.holder, plan.netns_dir = true, paths.holder, paths.pins
end

-- The plan of `up` for loaded topology t; rootless: built inside a holder.
function M.up(t, rootless)
  local plan = { verb = "up", file = t._file, name = journal.name(t._file), steps = {} }
  if rootless then rootless_fields(plan) end
  local function add(step, tbl, key)
    step.origin = schema.origin(t, tbl, key)
    plan.steps[#plan.steps + 1] = step
  end
  if rootless then add({ op = "holder", create = true }, t) end
  for _, name in ipairs(util.sorted_keys(t.hosts)) do
    add({ op = "netns_add", host = name }, t.hosts, name)
    if t.hosts[name].lo ~= false then add({ op = "lo_up", host = name }, t.hosts, name) end
  end
  for _, name in ipairs(util.sorted_keys(t.switches)) do
    local s = t.switches[name]
    add({ op = "bridge_add", host = s.host, name = name, mtu = s.mtu }, t.switches, name)
    add({ op = "link_up", host = s.host, dev = name }, t.switches, name)
    for _, a in ipairs(list(s.address)) do
      add({ op = "addr_add", host = s.host, dev = name, address = a }, s, "address")
    end
  end
  for i, l in ipairs(t.links) do
    local a, b = l[1], l[2]
    add({ op = "veth_add", host = a.host, name = a.name, peer_host = b.host, peer = b.name, mtu = a.mtu or b.mtu },
      t.links, i)
    for j, e in ipairs(l) do
      if e.switch then
        add({ op = "link_master", host = e.host, dev = e.name, master = e.switch }, e, "switch")
      end
      for _, cidr in ipairs(list(e.address)) do
        add({ op = "addr_add", host = e.host, dev = e.name, address = cidr }, e, "address")
      end
      add({ op = "link_up", host = e.host, dev = e.name }, l, j)
    end
  end
  for _, name in ipairs(util.sorted_keys(t.hosts)) do
    local routes = t.hosts[name].routes or {}
    for k, r in ipairs(routes) do
      add({ op = "route_add", host = name, to = r.to, via = r.via, dev = r.dev }, routes, k)
    end
  end
  return plan
end

-- The removals of what journal st records, in reverse: links whose namespaces both stay,
-- switches, hosts (a link inside a netns that goes, goes with it, for a fraction of the
-- cost), then a wait for the ends that stay of links whose peer's namespace went. Each
-- step's origin is the journal line that recorded it.
function M.removals(st)
  local steps, dying = {}, {}
  local function add(step, kind, i)
    step.origin = st.path and st.lines and st.lines[kind][i] and (st.path .. ":" .. st.lines[kind][i]) or st.path
    steps[#steps + 1] = step
  end
  for _, h in ipairs(st.hosts) do dying[h] = true end
  for i = #st.links, 1, -1 do
    local l = st.links[i]
    if not dying[l.host or ""] and not dying[l.peer_host or ""] then
      add({ op = "link_del", host = l.host, name = l.name }, "links", i)
    end
  end
  for i = #st.switches, 1, -1 do
    local sw = st.switches[i]
    if not dying[sw.host or ""] then add({ op = "link_del", host = sw.host, name = sw.name }, "switches", i) end
  end
  for i = #st.hosts, 1, -1 do add({ op = "netns_del", host = st.hosts[i] }, "hosts", i) end
  for i, l in ipairs(st.links) do
    if not dying[l.host or ""] and dying[l.peer_host or ""] then
      add({ op = "link_gone", host = l.host, name = l.name, peer_host = l.peer_host }, "links", i)
    end
  end
  return steps
end

-- The plan of `down` for the topology named by file, from its journal st (nil: nothing
-- was built); rootless: inside its holder, which it ends.
function M.down(file, st, rootless)
  local plan = { verb = "down", file = file, name = journal.name(file), journal = st and st.path, steps = {} }
  if rootless then rootless_fields(plan) end
  if not st then return plan end
  if rootless then plan.steps[1] = { op = "holder", create = false, origin = st.path } end
  for _, s in ipairs(M.removals(st)) do plan.steps[#plan.steps + 1] = s end
  if rootless then plan.steps[#plan.steps + 1] = { op = "holder_end", origin = st.path } end
  return plan
end

-- The hosts of a plan of up, in order.
function M.hosts(plan)
  local out = {}
  for _, s in ipairs(plan.steps) do
    if s.op == "netns_add" then out[#out + 1] = s.host end
  end
  return out
end

-- ---- as a person reads it ------------------------------------------------------------------

-- The plan as text: each step with the command it replaces and where it came from. Every
-- string a topology controls is escaped (the commands are shell-quoted as well).
function M.text(plan, description)
  local esc = util.escape
  local who = plan.rootless and ("as uid " .. core.ids().uid ..
    ": rootless, inside a holder process") or "as root"
  local out = { string.format("net %s plan for %s (%s)\n", plan.verb, esc(plan.file), who) }
  if type(description) == "string" then out[#out + 1] = "  " .. esc(description) .. "\n" end
  if plan.verb == "down" and #plan.steps == 0 then
    out[#out + 1] = "  nothing built by up, nothing to remove\n"
  end
  for i, s in ipairs(plan.steps) do
    local text = util.escape_lines(ops.text(s, plan)):gsub("\n", "\n" .. string.rep(" ", 18))
    out[#out + 1] = string.format("%3d  %-11s  %s\n       # %s\n", i, s.op, text, esc(s.origin or ""))
  end
  return table.concat(out)
end

return M
