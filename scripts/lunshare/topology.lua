-- Topology files: several named hosts (netns under /run/netns, as `ip netns add` makes
-- them), switches (bridges) and the veth links between them, with addresses and routes.
--
--   return {
--     hosts = { netns1 = { routes = { { to = "default", via = "10.0.0.1" } } } },
--     switches = { lsbr0 = { address = "10.1.0.254/24" } },      -- in the caller's netns
--     links = {
--       { { name = "veth1", address = "10.0.0.1/24" },           -- end a: no host = here
--         { host = "netns1", name = "veth1_peer", address = "10.0.0.2/24" } },
--       { { name = "lsp1", switch = "lsbr0" }, { host = "h2", name = "eth0", address = "10.1.0.2/24" } },
--     },
--   }
--
-- `up` builds what is missing and records what it built in a state file; a second `up`
-- finds everything and changes nothing. `status` compares the file with the kernel.
-- `down` removes exactly what the state file says `up` built (a netns made by someone
-- else stays). A veth is made with its peer born in the far namespace (one request, no
-- move), and a host's links go with its netns, so `down` deletes them only where the
-- namespace stays.
local util = require "lunshare.util"

local M = {}

local HOST_KEYS = { "routes", "lo" }
local SWITCH_KEYS = { "host", "address", "mtu" }
local END_KEYS = { "host", "name", "address", "switch", "mtu" }
local TOP_KEYS = { "description", "hosts", "switches", "links" }

-- ---- loading and checking ------------------------------------------------------------

local function fail_list(errs, path, msg) errs[#errs + 1] = path .. ": " .. msg end

local function check(t, file)
  local errs = {}
  local net = require "lunshare.network"
  local c = { fail = function(_, path, msg) fail_list(errs, path, msg) end }
  function c.type(_, v, path, want)
    if type(v) ~= want then fail_list(errs, path, "expected a " .. want .. ", got " .. type(v)); return false end
    return true
  end
  function c.keys(_, v, path, allowed)
    for _, k in ipairs(util.sorted_keys(v)) do
      if type(k) ~= "string" or not util.contains(allowed, k) then
        fail_list(errs, path .. "." .. tostring(k), "unknown field" .. util.suggest(tostring(k), allowed) ..
          "; expected one of " .. table.concat(allowed, ", "))
      end
    end
  end
  c.list = require("lunshare.schema").check_list
  if type(t) ~= "table" then return { file .. ": a topology must return a table" } end
  c:keys(t, "topology", TOP_KEYS)
  local hosts, switches = t.hosts or {}, t.switches or {}
  for _, name in ipairs(util.sorted_keys(hosts)) do
    local h, p = hosts[name], "hosts." .. tostring(name)
    if type(name) ~= "string" or name:find("/") then fail_list(errs, p, "a host is named by a netns name") end
    if c:type(h, p, "table") then
      c:keys(h, p, HOST_KEYS)
      if h.routes ~= nil then net.check_routes(c, h.routes, p .. ".routes") end
    end
  end
  for _, name in ipairs(util.sorted_keys(switches)) do
    local s, p = switches[name], "switches." .. tostring(name)
    if not net.valid_ifname(name) then fail_list(errs, p, "a switch is named by a link name (1 to 15 bytes)") end
    if c:type(s, p, "table") then
      c:keys(s, p, SWITCH_KEYS)
      if s.host and not hosts[s.host] then fail_list(errs, p .. ".host", "no host named " .. tostring(s.host)) end
      for _, a in ipairs(net.list(s.address)) do
        if not net.valid_cidr(a, true) then fail_list(errs, p .. ".address", "bad address " .. tostring(a)) end
      end
    end
  end
  local names = {}
  for i, l in ipairs(t.links or {}) do
    local p = "links[" .. i .. "]"
    if type(l) ~= "table" or #l ~= 2 then
      fail_list(errs, p, "expected a pair of ends { { name = … }, { host = …, name = … } }")
    else
      for j = 1, 2 do
        local e, pe = l[j], p .. "[" .. j .. "]"
        if c:type(e, pe, "table") then
          c:keys(e, pe, END_KEYS)
          if not net.valid_ifname(e.name) then fail_list(errs, pe .. ".name", "expected a link name (1 to 15 bytes)") end
          if e.host and not hosts[e.host] then
            fail_list(errs, pe .. ".host", "no host named " .. tostring(e.host) .. util.suggest(tostring(e.host), util.sorted_keys(hosts)))
          end
          if e.switch and not switches[e.switch] then fail_list(errs, pe .. ".switch", "no switch named " .. tostring(e.switch)) end
          for _, a in ipairs(net.list(e.address)) do
            if not net.valid_cidr(a, true) then
              fail_list(errs, pe .. ".address", "expected an address with a prefix like \"10.0.0.1/24\", got " .. tostring(a))
            end
          end
          local key = (e.host or "") .. "/" .. tostring(e.name)
          if names[key] then fail_list(errs, pe .. ".name", "link " .. tostring(e.name) .. " appears twice in " .. (e.host or "this namespace")) end
          names[key] = true
        end
      end
    end
  end
  for i, e in ipairs(errs) do errs[i] = file .. ": " .. e end
  return errs
end

-- Loads a topology file in the profile sandbox (data and pure helpers only).
function M.load(file)
  local src, real = util.read_file(file)
  if not src then return nil, { real } end
  -- The profile sandbox (data and pure helpers, bounded), without the profile language's
  -- modules: a topology has no constructors, and `net up` starts faster for it. Its text
  -- is quoted only when what was opened is a .lua file (as for a profile).
  local evaluator = require "lunshare.evaluator"
  local t, perr = evaluator.evaluate(src, file, {})
  local quote = evaluator.quotable(real)
  if t == nil and perr then
    return nil, { file .. (perr.line and (":" .. perr.line) or "") .. ": " ..
      (quote and perr.msg or evaluator.not_a_profile(perr.msg)) }
  end
  local ok, keys, why = evaluator.check_data(t)
  local errs = ok and check(t, file) or { file .. ": " .. evaluator.path_text(keys) .. ": " .. why }
  if #errs > 0 and not quote then errs = { file .. ": not a topology: its entries do not check" .. evaluator.NOT_SHOWN } end
  if #errs > 0 then return nil, errs end
  t.hosts, t.switches, t.links = t.hosts or {}, t.switches or {}, t.links or {}
  return t
end
M.check = check

-- ---- state -----------------------------------------------------------------------------

-- Where a topology's names and records live. As root: named netns in /run/netns (shared
-- with iproute2) and the state in /run/lunshare/net. As a user: the state in
-- $XDG_RUNTIME_DIR/lunshare/net and the namespaces inside a holder process, pinned in
-- $XDG_RUNTIME_DIR/lunshare/netns (see enter_holder). Both are private state directories
-- (lunshare.state): verified before use, every file opened relative to them. M.netns_dir
-- is nil (/run/netns) or, inside a rootless holder, the handle of the pins' directory.
M.netns_dir = nil

local state = require "lunshare.state"

local function base_name(file) return (file:match("([^/]+)$"):gsub("%.lua$", "")) end
local function state_name(file) return base_name(file) .. ".state" end

-- The state is a journal of JSON lines, one per object, so that recording an object as it
-- is made costs one append (a rewrite per object made a 100-host up quadratic):
--   {"add":"hosts","x":"h1"}  {"add":"links","x":{"host":"h1","name":"lsa2",…}}  {"drop":"links"}
-- It is data: decoded by the bounded JSON decoder and checked record by record; a state
-- file that is not exactly this is refused whole, naming it, before anything is changed.
local KINDS = { "hosts", "switches", "links" }

local function netns_name(v)
  return type(v) == "string" and v ~= "" and #v <= 200 and not v:find("/") and v ~= "." and v ~= ".."
end

local function record_ok(kind, x)
  local net = require "lunshare.network"
  local function only(t, keys)
    for k in pairs(t) do if not util.contains(keys, k) then return false end end
    return true
  end
  if kind == "hosts" then return netns_name(x) end
  if type(x) ~= "table" then return false end
  if kind == "switches" then
    return only(x, { "host", "name" }) and net.valid_ifname(x.name) and (x.host == nil or netns_name(x.host))
  end
  return only(x, { "host", "name", "peer_host", "peer" }) and net.valid_ifname(x.name) and
    net.valid_ifname(x.peer) and (x.host == nil or netns_name(x.host)) and
    (x.peer_host == nil or netns_name(x.peer_host))
end

-- The recorded state of file: { hosts =, switches =, links = }; nil when there is none;
-- nil and a message when the state file is not valid.
local function read_state(dir, file)
  local lines, err = dir:read_json_lines(state_name(file))
  if not lines then return nil, err and (err .. "; nothing was changed") end
  local st = { hosts = {}, switches = {}, links = {} }
  local function bad(i, why)
    return nil, dir:file(state_name(file)) .. ": not a valid state file (line " .. i .. ": " .. why ..
      "); nothing was changed"
  end
  for i, e in ipairs(lines) do
    if type(e) ~= "table" then return bad(i, "expected an object") end
    local kind = e.add or e.drop
    if not util.contains(KINDS, kind) then return bad(i, "expected \"add\" or \"drop\" of hosts, switches or links") end
    for k in pairs(e) do
      if not util.contains(e.add ~= nil and { "add", "x" } or { "drop" }, k) then
        return bad(i, "expected only add and x, or drop")
      end
    end
    if e.add ~= nil then
      if not record_ok(kind, e.x) then return bad(i, "not a valid record of " .. kind) end
      st[kind][#st[kind] + 1] = e.x
    else
      if #st[kind] == 0 then return bad(i, "a drop with nothing to drop") end
      st[kind][#st[kind]] = nil
    end
  end
  return st
end

-- Appends one record to the journal (inside up's protected part: a failure is up's).
local function journal(dir, file, entry)
  local ok, err = dir:append_json(state_name(file), entry)
  if not ok then error({ topology = err }, 0) end
end

-- Rewrites the whole state (after a rollback): written aside, then renamed over; with
-- nothing left, removes it.
local function write_state(dir, file, st)
  local lines = {}
  for _, kind in ipairs(KINDS) do
    for _, x in ipairs(st[kind]) do lines[#lines + 1] = { add = kind, x = x } end
  end
  if #lines == 0 then return dir:remove(state_name(file)) end
  return dir:replace_json_lines(state_name(file), lines)
end

-- ---- the live view of the namespaces -------------------------------------------------

-- One netlink handle and one cached dump per namespace ("" is the caller's). An absent
-- world (a rootless topology without its holder) has no links at all.
local function world(absent)
  local core = require "lunshare.core"
  local w = { nl = {}, links = {}, addrs = {} }
  function w.handle(host)
    local k = host or ""
    if not w.nl[k] then
      w.nl[k] = assert(core.netlink(host and { name = host, dir = M.netns_dir } or nil))
    end
    return w.nl[k]
  end
  function w.link(host, name)
    if absent then return nil end
    local k = host or ""
    if not w.links[k] then
      local by = {}
      for _, l in ipairs(assert(w.handle(host):links())) do by[l.name] = l; by[l.index] = l end
      w.links[k] = by
    end
    return w.links[k][name]
  end
  function w.has_addr(host, dev, cidr)
    local k = host or ""
    if not w.addrs[k] then w.addrs[k] = assert(w.handle(host):addrs()) end
    local l = w.link(host, dev)
    local a, len = cidr:match("^(.-)/(%d+)$")
    for _, x in ipairs(w.addrs[k]) do
      if l and x.index == l.index and x.address == a and x.prefix == tonumber(len) then return true end
    end
    return false
  end
  function w.forget(host) w.links[host or ""], w.addrs[host or ""] = nil, nil end
  function w.close() for _, h in pairs(w.nl) do h:close() end end
  return w
end

-- Whether a dumped main table holds route r ({ to =, via = }).
local function has_route(have, r)
  for _, x in ipairs(have) do
    local dst = x.dst == "default" and "default" or (x.dst .. "/" .. x.dst_len)
    if x.table == 254 and (dst == r.to or x.dst == r.to) and (r.via == nil or x.via == r.via) then
      return true
    end
  end
  return false
end

local function where(host) return host and ("netns " .. host) or "here" end
local function ipns(host) return host and ("ip -n " .. host .. " ") or "ip " end

-- Walks the topology; for each object calls visit(kind, spec) in build order.
local function ends(t)
  local list = {}
  for _, l in ipairs(t.links) do list[#list + 1] = l end
  return list
end

local remove_recorded -- below, with down

-- ---- up --------------------------------------------------------------------------------

-- Brings the loaded topology t of file up, recording in the state directory dir. Returns
-- a list of the changes made (empty when none), or nil and a message naming what failed.
local function up_in(file, t, dir)
  local core = require "lunshare.core"
  local st, serr = read_state(dir, file)
  if serr then return nil, serr end
  st = st or { hosts = {}, switches = {}, links = {} }
  local before = { hosts = #st.hosts, switches = #st.switches, links = #st.links }
  local changes = {}
  local w = world()
  local function note(s) changes[#changes + 1] = s end
  local function try(ok, msg)
    if not ok then error({ topology = msg }, 0) end
    return ok
  end
  -- An object is recorded before it is made, so that an up killed at any point leaves a
  -- state that down can clean (down ignores what is missing); a refused creation is
  -- unrecorded at once, as the name may belong to someone else.
  local function record(kind, x)
    st[kind][#st[kind] + 1] = x
    journal(dir, file, { add = kind, x = x })
  end
  local function unrecord_unless(ok_, kind)
    if not ok_ then
      st[kind][#st[kind]] = nil
      journal(dir, file, { drop = kind })
    end
  end
  local ok, err = pcall(function()
    local existing = {}
    for _, n in ipairs(try(core.netns_list(M.netns_dir))) do existing[n] = true end
    for _, name in ipairs(util.sorted_keys(t.hosts)) do
      if not existing[name] then
        record("hosts", name)
        local r, msg, errno = core.netns_create(name, M.netns_dir)
        if not r and (errno == 1 or errno == 13) then
          msg = msg .. " (named netns in /run/netns need root; run as a user to get a rootless topology)"
        end
        unrecord_unless(r, "hosts")
        try(r, msg)
        note("ip netns add " .. name)
      end
      if t.hosts[name].lo ~= false then
        local lo = w.link(name, "lo")
        if lo and not lo.up then
          try(w.handle(name):link_set("lo", { up = true }))
          note(ipns(name) .. "link set lo up")
        end
      end
    end
    for _, name in ipairs(util.sorted_keys(t.switches)) do
      local s = t.switches[name]
      local l = w.link(s.host, name)
      if not l then
        record("switches", { host = s.host, name = name })
        local r, msg = w.handle(s.host):link_add{ kind = "bridge", name = name, mtu = s.mtu, up = true }
        unrecord_unless(r, "switches")
        try(r, msg)
        note(ipns(s.host) .. "link add " .. name .. " type bridge; " .. ipns(s.host) .. "link set " .. name .. " up")
        w.forget(s.host)
      elseif l.kind ~= "bridge" then
        try(nil, "switch " .. name .. ": a link of that name exists in " .. where(s.host) .. " and is not a bridge")
      elseif not l.up then
        try(w.handle(s.host):link_set(name, { up = true }))
        note(ipns(s.host) .. "link set " .. name .. " up")
      end
      for _, a in ipairs(require("lunshare.network").list(s.address)) do
        if not w.has_addr(s.host, name, a) then
          try(w.handle(s.host):addr_add(name, a))
          note(ipns(s.host) .. "addr add " .. a .. " dev " .. name)
        end
      end
    end
    for _, l in ipairs(ends(t)) do
      local a, b = l[1], l[2]
      local la, lb = w.link(a.host, a.name), w.link(b.host, b.name)
      if not la and not lb then
        record("links", { host = a.host, name = a.name, peer_host = b.host, peer = b.name })
        local r, msg = w.handle(a.host):link_add{ kind = "veth", name = a.name, peer = b.name,
          mtu = a.mtu or b.mtu, peer_netns = b.host and { name = b.host, dir = M.netns_dir } or nil }
        unrecord_unless(r, "links")
        try(r, msg)
        note(ipns(a.host) .. "link add " .. a.name .. " type veth peer name " .. b.name ..
          (b.host and (" netns " .. b.host) or ""))
        w.forget(a.host)
        w.forget(b.host)
      elseif not la or not lb then
        try(nil, string.format("link %s (%s) / %s (%s): only one end exists; remove it or rename",
          a.name, where(a.host), b.name, where(b.host)))
      end
      for _, e in ipairs({ a, b }) do
        local x = w.link(e.host, e.name)
        if e.switch then
          local sw = w.link(t.switches[e.switch].host, e.switch)
          if x.master ~= (sw and sw.index) then
            try(w.handle(e.host):link_set(e.name, { master = e.switch }))
            note(ipns(e.host) .. "link set " .. e.name .. " master " .. e.switch)
          end
        end
        for _, cidr in ipairs(require("lunshare.network").list(e.address)) do
          if not w.has_addr(e.host, e.name, cidr) then
            try(w.handle(e.host):addr_add(e.name, cidr))
            note(ipns(e.host) .. "addr add " .. cidr .. " dev " .. e.name)
          end
        end
        if not x.up then
          try(w.handle(e.host):link_set(e.name, { up = true }))
          note(ipns(e.host) .. "link set " .. e.name .. " up")
        end
      end
    end
    for _, name in ipairs(util.sorted_keys(t.hosts)) do
      local routes = t.hosts[name].routes
      if routes and #routes > 0 then
        local have = assert(w.handle(name):routes())
        for _, r in ipairs(routes) do
          if not has_route(have, r) then
            try(w.handle(name):route_add{ dst = r.to, via = r.via, dev = r.dev })
            note(ipns(name) .. "route add " .. r.to .. (r.via and (" via " .. r.via) or "") ..
              (r.dev and (" dev " .. r.dev) or ""))
          end
        end
      end
    end
  end)
  w.close()
  if not ok then
    -- A failed up leaves nothing of its own behind: what this run made is removed, and
    -- the state goes back to what earlier runs recorded.
    local mine, kept = { hosts = {}, switches = {}, links = {} }, { hosts = {}, switches = {}, links = {} }
    for _, k in ipairs({ "hosts", "switches", "links" }) do
      for i, x in ipairs(st[k]) do
        local into = i > before[k] and mine or kept
        into[k][#into[k] + 1] = x
      end
    end
    remove_recorded(mine)
    local wok, werr = write_state(dir, file, kept)
    if type(err) == "table" then return nil, err.topology .. (wok == nil and ("; " .. werr) or "") end
    error(err, 0)
  end
  return changes
end

-- ---- down --------------------------------------------------------------------------------

-- Removes the objects a state records, in reverse: the list of removals and of problems.
function remove_recorded(st)
  local core = require "lunshare.core"
  local done, problems, dying, nls = {}, {}, {}, {}
  for _, h in ipairs(st.hosts) do dying[h] = true end
  local function handle(host)
    local k = host or ""
    if not nls[k] then nls[k] = core.netlink(host and { name = host, dir = M.netns_dir } or nil) end
    return nls[k]
  end
  local function del(host, name)
    local nl = handle(host)
    local ok, msg, errno = false, "no netlink handle for " .. where(host), nil
    if nl then ok, msg, errno = nl:link_del(name) end
    if ok then done[#done + 1] = ipns(host) .. "link del " .. name
    elseif errno ~= 19 then problems[#problems + 1] = msg end
  end
  -- A link inside a netns that goes away goes with it, for a fraction of the cost.
  for i = #st.links, 1, -1 do
    local l = st.links[i]
    if not dying[l.host or ""] and not dying[l.peer_host or ""] then del(l.host, l.name) end
  end
  for i = #st.switches, 1, -1 do
    local sw = st.switches[i]
    if not dying[sw.host or ""] then del(sw.host, sw.name) end
  end
  for i = #st.hosts, 1, -1 do
    local ok, msg, errno = core.netns_delete(st.hosts[i], M.netns_dir)
    if ok then done[#done + 1] = "ip netns del " .. st.hosts[i]
    elseif errno ~= 2 then problems[#problems + 1] = msg end
  end
  -- The kernel takes a deleted namespace's links a moment later, with the ends they had
  -- in namespaces that stay: wait for those (at most two seconds), so that `down` returns
  -- with everything gone and an `up` right after finds nothing in its way.
  local waiting = {}
  for _, l in ipairs(st.links) do
    if not dying[l.host or ""] and dying[l.peer_host or ""] then waiting[#waiting + 1] = l end
  end
  for _ = 1, 400 do
    local left = {}
    for _, l in ipairs(waiting) do
      local nl = handle(l.host)
      if nl and nl:link_index(l.name) then left[#left + 1] = l end
    end
    waiting = left
    if #waiting == 0 then break end
    core.sleep(0.005)
  end
  for _, l in ipairs(waiting) do
    problems[#problems + 1] = "link " .. l.name .. " (" .. where(l.host) .. ") outlived its peer's namespace"
  end
  for _, h in pairs(nls) do h:close() end
  return done, problems
end

-- Removes what `up` recorded in dir. Returns the list of removals (empty when nothing was
-- up), or nil, a message and whether anything was changed (a state file that is not
-- valid changes nothing).
local function down_in(file, dir)
  local st, serr = read_state(dir, file)
  if serr then return nil, serr, false end
  if not st then return {} end
  local done, problems = remove_recorded(st)
  if #problems > 0 then return nil, table.concat(problems, "\n"), true end
  local ok, err = dir:remove(state_name(file))
  if ok == nil then return nil, err end
  return done
end

-- ---- status ------------------------------------------------------------------------------

-- Compares the loaded topology t with the kernel: a list of { what =, state =
-- "ok"|"missing"|"differs", detail = } rows.
local function status_in(t, absent)
  local core = require "lunshare.core"
  local rows = {}
  local function row(what, st, detail) rows[#rows + 1] = { what = what, state = st, detail = detail } end
  local existing = {}
  for _, n in ipairs(not absent and core.netns_list(M.netns_dir) or {}) do existing[n] = true end
  local w = world(absent)
  for _, name in ipairs(util.sorted_keys(t.hosts)) do
    row("host " .. name, existing[name] and "ok" or "missing")
  end
  for _, name in ipairs(util.sorted_keys(t.switches)) do
    local s = t.switches[name]
    if s.host and not existing[s.host] then
      row("switch " .. name, "missing")
    else
      local l = w.link(s.host, name)
      row("switch " .. name, not l and "missing" or (l.up and "ok" or "differs"), l and not l.up and "down" or nil)
    end
  end
  for _, l in ipairs(t.links) do
    for _, e in ipairs(l) do
      local what = "link " .. e.name .. " (" .. where(e.host) .. ")"
      if e.host and not existing[e.host] then
        row(what, "missing")
      else
        local x = w.link(e.host, e.name)
        if not x then
          row(what, "missing")
        else
          local diff = {}
          if not x.up then diff[#diff + 1] = "down" end
          for _, a in ipairs(require("lunshare.network").list(e.address)) do
            if not w.has_addr(e.host, e.name, a) then diff[#diff + 1] = "no address " .. a end
          end
          if e.switch then
            local sw = w.link(t.switches[e.switch].host, e.switch)
            if not sw or x.master ~= sw.index then diff[#diff + 1] = "not on switch " .. e.switch end
          end
          row(what, #diff == 0 and "ok" or "differs", #diff > 0 and table.concat(diff, ", ") or nil)
        end
      end
    end
  end
  for _, name in ipairs(util.sorted_keys(t.hosts)) do
    local routes = t.hosts[name].routes or {}
    if #routes > 0 and existing[name] then
      local have = w.handle(name):routes() or {}
      for _, r in ipairs(routes) do
        local what = "route " .. r.to .. (r.via and (" via " .. r.via) or "") .. " (netns " .. name .. ")"
        row(what, has_route(have, r) and "ok" or "missing")
      end
    elseif #routes > 0 then
      for _, r in ipairs(routes) do row("route " .. r.to .. " (netns " .. name .. ")", "missing") end
    end
  end
  w.close()
  return rows
end

-- ---- the CLI: lunshare net up|down|status FILE ------------------------------------------

local USAGE = "net: expected 'up FILE', 'down FILE' or 'status FILE'"

-- ---- rootless: a holder process ----------------------------------------------------------
--
-- A user cannot pin a netns in /run/netns, nor touch the host's network. So a rootless
-- topology lives in the user, mount and network namespaces of a small holder process
-- (core.hold: it only sleeps) that the first `up` clones; "here" is the holder's own network
-- namespace, hosts are netns pinned by bind mounts on files under
-- $XDG_RUNTIME_DIR/lunshare/netns (the mounts exist only in the holder's mount namespace),
-- and the holder's pid is kept next to the state. Each command enters the holder (setns of
-- user, mount and net through its pidfd; lunshare is single-threaded there) and then works
-- as root does. `down` ends the holder, and with it every namespace it held. From outside:
--   nsenter -t $(cut -d' ' -f1 $XDG_RUNTIME_DIR/lunshare/net/NAME.holder) -U -m -n --preserve-credentials …

local function holder_name(file) return base_name(file) .. ".holder" end

-- The holder recorded for file in dir, if that process is still the holder: pid, pidfd;
-- nil when there is none (or it is gone); false and a message when the holder file is
-- not valid. The file names the pid and its user namespace, so a recycled pid is never
-- taken for the holder.
local function find_holder(dir, file)
  local core = require "lunshare.core"
  local text, err = dir:read(holder_name(file), 64)
  if not text then
    if err then return false, err .. "; nothing was changed" end
    return nil
  end
  local pid, userns = text:match("^(%d+) (%d+:%d+)\n$")
  pid = pid and #pid <= 9 and math.tointeger(tonumber(pid))
  if not pid or pid < 1 then
    return false, dir:file(holder_name(file)) .. ": not a valid holder file (expected \"PID DEV:INODE\"); " ..
      "nothing was changed"
  end
  local pidfd = core.pidfd_open(pid)
  if not pidfd or core.ns_id(pid, "user") ~= userns then return nil end
  return pid, pidfd
end

-- The rootless pins' directory, opened in the mount namespace this process is in (the
-- holder's, once entered: the pins are mounts there).
local function open_pins()
  local pins, err = state.open("netns")
  if not pins then return nil, err end
  M.netns_dir = pins:handle()
  return pins
end

-- Enters the holder of a rootless topology (its state in dir), cloning one when create is
-- set. Returns the pidfd and whether it was made now; nil when there is none; nil and a
-- message when that fails.
local function enter_holder(dir, file, create)
  local core = require "lunshare.core"
  local ids = core.ids()
  local pid, pidfd = find_holder(dir, file)
  if pid == false then return nil, pidfd end
  local made = false
  if not pid then
    if not create then return nil end
    -- The pins' directory exists before the holder's mount namespace copies the view.
    local pins, perr = state.open("netns")
    if not pins then return nil, perr end
    pins:close()
    local cpid, cfd = core.clone({ "user", "mount", "net" })
    if cpid == nil then
      return nil, "a rootless topology needs a user namespace of its own: " .. tostring(cfd) ..
        " (run 'lunshare doctor')"
    end
    if cpid == 0 then core.hold() end
    local ok1, m1 = core.setgroups(cpid, false)
    local ok2, m2 = core.write_idmap(cpid, "uid", "0 " .. ids.uid .. " 1\n")
    local ok3, m3 = core.write_idmap(cpid, "gid", "0 " .. ids.gid .. " 1\n")
    local ok4, m4 = true, nil
    if ok1 and ok2 and ok3 then
      ok4, m4 = dir:replace(holder_name(file), cpid .. " " .. assert(core.ns_id(cpid, "user")) .. "\n")
    end
    if not (ok1 and ok2 and ok3 and ok4) then
      core.kill(cfd, 9)
      if not ok4 then return nil, m4 end
      return nil, "map ids of the topology holder: " .. tostring(m1 or m2 or m3)
    end
    pid, pidfd, made = cpid, cfd, true
  end
  local ok, msg = core.setns(pidfd, "user", "mount", "net")
  if not ok then return nil, "enter the topology holder (pid " .. pid .. "): " .. msg end
  return pidfd, made
end

local function end_holder(dir, file, pidfd)
  require("lunshare.core").kill(pidfd, 9)
  dir:remove(holder_name(file))
end

-- Runs fn(dir) with the "net" state directory (made when create is set), then closes
-- what the command opened. Without a directory (and create unset) fn gets nil.
local function with_state(create, fn)
  local dir, err = state.open("net", { create = create })
  if not dir and err then return nil, err end
  local locked, lerr = not dir or dir:lock()
  if not locked then dir:close() return nil, lerr end
  local pins
  local results = table.pack(pcall(fn, dir, function(p) pins = p end))
  if pins then pins:close() end
  M.netns_dir = nil
  if dir then dir:close() end
  if not results[1] then error(results[2], 0) end
  return table.unpack(results, 2, results.n)
end

-- The directories up made go once empty (a non-empty one stays, and those above it).
local function prune()
  if state.rootless() then state.prune("netns") end
  state.prune("net")
end

function M.up(file)
  local t, errs = M.load(file)
  if not t then return nil, table.concat(errs, "\n"), "usage" end
  return with_state(true, function(dir, keep)
    if not state.rootless() then return up_in(file, t, dir) end
    local pidfd, made = enter_holder(dir, file, true)
    if not pidfd then return nil, made end
    local pins, perr = open_pins()
    keep(pins)
    local changes, err = nil, perr
    if pins then changes, err = up_in(file, t, dir) end
    if not changes and made then end_holder(dir, file, pidfd) end
    return changes, err
  end)
end

function M.down(file)
  local done, err = with_state(false, function(dir, keep)
    if not dir then return {} end -- nothing was ever up
    if not state.rootless() then return down_in(file, dir) end
    local pidfd, herr = enter_holder(dir, file, false)
    if not pidfd and herr then return nil, herr end
    -- Without a holder (it was killed) its namespaces are gone; what is left are the
    -- state and the pins' empty files, which go too.
    local pins, perr = open_pins()
    if not pins then return nil, perr end
    keep(pins)
    local d, derr, changed = down_in(file, dir)
    if pidfd and changed ~= false then
      end_holder(dir, file, pidfd)
      if d then d[#d + 1] = "(the rootless holder of " .. file .. " ended)" end
    end
    return d, derr
  end)
  if done then prune() end
  return done, err
end

function M.status(file)
  local t, errs = M.load(file)
  if not t then return nil, table.concat(errs, "\n"), "usage" end
  return with_state(false, function(dir, keep)
    if not state.rootless() then return status_in(t) end
    local pidfd, herr
    if dir then pidfd, herr = enter_holder(dir, file, false) end
    if not pidfd and herr then return nil, herr end
    -- No holder: nothing of a rootless topology exists, not even "here".
    if not pidfd then return status_in(t, true) end
    local pins, perr = open_pins()
    if not pins then return nil, perr end
    keep(pins)
    return status_in(t)
  end)
end

function M.main(args, fail)
  local verb, file = args[1], args[2]
  if not util.contains({ "up", "down", "status" }, verb or "") then
    fail(2, USAGE .. (verb and util.suggest(verb, { "up", "down", "status" }) or ""))
  end
  if not file or args[3] then fail(2, "net " .. verb .. ": expected one topology FILE") end
  if verb == "up" then
    local changes, err, kind = M.up(file)
    if not changes then fail(kind == "usage" and 2 or 1, err) end
    if #changes == 0 then
      io.stdout:write(file, ": up already, nothing to change\n")
    else
      for _, c in ipairs(changes) do io.stdout:write(c, "\n") end
    end
    return 0
  elseif verb == "down" then
    local done, err = M.down(file)
    if not done then fail(1, err) end
    if #done == 0 then io.stdout:write(file, ": nothing built by up, nothing to remove\n") end
    for _, c in ipairs(done) do io.stdout:write(c, "\n") end
    return 0
  end
  local rows, err, kind = M.status(file)
  if not rows then fail(kind == "usage" and 2 or 1, err) end
  local differs = 0
  for _, r in ipairs(rows) do
    if r.state ~= "ok" then differs = differs + 1 end
    io.stdout:write(string.format("%-8s %s%s\n", r.state, r.what, r.detail and (": " .. r.detail) or ""))
  end
  io.stdout:write(differs == 0 and "up: everything matches the file\n" or
    string.format("%d of %d objects differ from the file\n", differs, #rows))
  return differs == 0 and 0 or 1
end

return M
