-- The network area: profile checks, constructors as plain data, planned steps, and the
-- topology checker. #unit
local planner = require "lunshare.plan"
local profile = require "lunshare.profile"
local schema = require "lunshare.schema"
local topology = require "lunshare.topology"

local ctx = { ids = { uid = 1000, gid = 1000, user = "alice" }, environ = {}, subid = function() end }
-- A root caller, for the plans of a netns without a user namespace and of host links.
local root = { ids = { uid = 0, gid = 0, user = "root" }, environ = {}, subid = function() end }

local function errors_of(src)
  local v = assert(profile.evaluate(src, "t.lua"))
  local out = {}
  for i, e in ipairs(schema.check(v, "t.lua", src)) do out[i] = schema.format_error(e) end
  return table.concat(out, "\n"), v
end

-- The security area's steps (session, keyring, ping_group_range, privileges) are its own
-- spec's business (tests/spec/security_spec.lua); these lists show the network's.
local SECURITY_OPS = { setsid = true, session_keyring = true, sysctl = true, caps = true,
  no_new_privs = true, seccomp = true }

local function ops(plan)
  local t = {}
  for _, s in ipairs(plan.steps) do
    if not SECURITY_OPS[s.op] then t[#t + 1] = s.op .. "@" .. s.where end
  end
  return table.concat(t, " ")
end

describe("network area #unit", function()
  it("veth { } returns plain data", function()
    local _, v = errors_of([[return { namespaces = { "net" }, network = { links = { veth { host = "lsh0" } } } }]])
    local l = v.network.links[1]
    assert.is_nil(getmetatable(l))
    assert.same({ type = "veth", host = "lsh0" }, l)
  end)

  it("accepts the four forms", function()
    assert.equal("", (errors_of([[return { namespaces = { "net" }, network = "none" }]])))
    assert.equal("", (errors_of([[return { network = "host" }]])))
    assert.equal("", (errors_of([[return { network = { join = "netns1" } }]])))
    assert.equal("", (errors_of([[return { namespaces = { "net" }, network = { links = {
      veth { name = "eth0", host = "lsh0", address = { "10.0.0.2/24", "fd00::2/64" },
        host_address = "10.0.0.1/24", gateway = "10.0.0.1", mtu = 1400,
        routes = { { to = "10.9.0.0/16", via = "10.0.0.1" } }, bridge = "lsbr0" } } } }]])))
  end)

  it("names the field, what was expected, and the nearest name", function()
    local e = errors_of([[return { network = "hots" }]])
    assert.truthy(e:find("t.lua:1: network: expected \"none\", \"host\"", 1, true), e)
    assert.truthy(e:find("did you mean 'host'", 1, true) or e:find("host", 1, true), e)
    e = errors_of([[return { namespaces = { "net" }, network = { links = { veth { host = "lsh0", adress = "x" } } } }]])
    assert.truthy(e:find("network.links[1].adress: unknown field", 1, true), e)
    e = errors_of([[return { namespaces = { "net" }, network = { links = { veth { host = "lsh0", address = "10.0.0.300/24" } } } }]])
    assert.truthy(e:find("network.links[1].address: expected an address with a prefix", 1, true), e)
    e = errors_of([[return { namespaces = { "net" }, network = "host" }]])
    assert.truthy(e:find("remove \"net\" from namespaces", 1, true), e)
    e = errors_of([[return { network = { links = { veth { host = "lsh0" } } } }]])
    assert.truthy(e:find("network: a veth needs the net namespace", 1, true), e)
    e = errors_of([[return { namespaces = { "net" }, network = { veth { host = "lsh0" }, lniks = {} } }]])
    assert.truthy(e:find("network.lniks: unknown field (did you mean 'links'?)", 1, true), e)
    e = errors_of([[return { namespaces = { "net" }, network = { links = { veth { host = "averyveryverylongname" } } } }]])
    assert.truthy(e:find("network.links[1].host", 1, true), e)
  end)

  it("network is no longer refused by run", function()
    assert.is_nil(schema.NOT_BUILT.network)
  end)

  it("plans loopback up by default in an own netns, and nothing for host", function()
    local plan = planner.build({ namespaces = { "net" } }, root)
    assert.equal("clone@supervisor lo_up@child close_fds@child exec@child", ops(plan))
    plan = planner.build({ network = "host" }, ctx)
    assert.equal("clone@supervisor close_fds@child exec@child", ops(plan))
  end)

  it("plans a veth: host side in the supervisor, inside in the child, with ip explanations", function()
    local _, p = errors_of([[return { namespaces = { "net" }, network = { links = {
      veth { host = "lsh0", address = "10.0.0.2/24", host_address = "10.0.0.1/24", gateway = "10.0.0.1" } } } }]])
    local plan = planner.build(p, root)
    assert.equal("clone@supervisor veth@supervisor lo_up@child link_setup@child route@child close_fds@child exec@child", ops(plan))
    local function find(op) for _, st in ipairs(plan.steps) do if st.op == op then return st end end end
    local v = find("veth")
    assert.equal("lsh0", v.name)
    assert.equal("eth0", v.peer)
    assert.same({ "10.0.0.1/24" }, v.addresses)
    local explain = require "lunshare.explain"
    assert.truthy(explain.step(v):find("ip link add lsh0 type veth peer name eth0 netns PID", 1, true))
    assert.equal("ip route add default via 10.0.0.1 dev eth0", explain.step(find("route")))
    -- Every field the planner sets is one the C op knows.
    local core_ok, core = pcall(require, "lunshare.core")
    if core_ok then assert.truthy(core.plan_check(plan)) end
  end)

  it("takes a list of veths as short for links", function()
    local _, p = errors_of([[return { namespaces = { "net" }, network = { veth { host = "lsh0" } } }]])
    assert.equal("", (errors_of([[return { namespaces = { "net" }, network = { veth { host = "lsh0" } } }]])))
    local plan = planner.build(p, root)
    assert.equal("clone@supervisor veth@supervisor lo_up@child link_setup@child close_fds@child exec@child", ops(plan))
  end)

  it("refuses a veth to a caller who is not root, at the link's entry, in the words run would give", function()
    local src = "return {\n  namespaces = { \"user\", \"net\" },\n  network = { links = {\n    veth { host = \"lsh0\" },\n" ..
      "    veth { host = \"lsh1\" },\n  } },\n}\n"
    local _, p = errors_of(src)
    p._file, p._source = "t.lua", src
    local plan, err = planner.build(p, ctx)
    assert.is_nil(plan)
    local network = require "lunshare.network"
    assert.equal("t.lua:4: network.links[1]: veth lsh0: " .. network.HOST_LINK_NEEDS_ROOT, err)
    assert.truthy(planner.build(p, root))
  end)

  it("refuses a join run would refuse: root's netns for a user, a topology's host for root or without a user namespace", function()
    local plan, err = planner.build({ namespaces = { "user", "mount" }, network = { join = "netns1" } }, ctx)
    assert.is_nil(plan)
    assert.truthy(err:find("network.join: the netns netns1 in /run/netns is root's, which only root can join; " ..
      "as a user, join a host of your own rootless topology: join = \"TOPOLOGY/HOST\"", 1, true), err)
    plan, err = planner.build({ namespaces = { "user", "mount" }, network = { join = "walk/netns1" } }, root)
    assert.is_nil(plan)
    assert.truthy(err:find("as root, the hosts of a topology are named netns in /run/netns: write " ..
      "join = \"netns1\"", 1, true), err)
    plan, err = planner.build({ namespaces = { "mount" }, network = { join = "walk/netns1" } }, ctx)
    assert.is_nil(plan)
    assert.truthy(err:find("joined from a user namespace of the sandbox's own (add \"user\"", 1, true), err)
    plan, err = planner.build({ namespaces = { "user", "mount" }, user = { map = "subid" },
      network = { join = "walk/netns1" } }, { ids = ctx.ids, environ = {}, subid = function() return 100000, 65536 end })
    assert.is_nil(plan)
    assert.truthy(err:find("user.map: a host of a rootless topology is joined with your own uid and gid only", 1, true), err)
  end)

  it("takes TOPOLOGY/HOST or a netns name, and nothing else", function()
    assert.equal("", (errors_of([[return { namespaces = { "user" }, network = { join = "walk/netns1" } }]])))
    for _, bad in ipairs({ "a/b/c", "/b", "a/", "../b", "a/..", "x\ny" }) do
      assert.truthy(errors_of("return { network = { join = " .. string.format("%q", bad) .. " } }"):find(
        "network.join: expected the name of a netns", 1, true), bad)
    end
  end)

  it("plans a join before the clone, which then makes no netns, with a user namespace or without", function()
    local plan = planner.build({ namespaces = { "mount" }, network = { join = "netns1" } }, root)
    assert.equal("netns_join@supervisor clone@supervisor mount_private@child close_fds@child exec@child", ops(plan))
    plan = assert(planner.build({ namespaces = { "user", "net", "mount" }, network = { join = "netns1" } }, root))
    assert.equal("netns_join", plan.steps[1].op)
    assert.equal("netns1", plan.steps[1].name)
    assert.same({ "user", "mount" }, plan.steps[2].namespaces)
  end)

  it("the executor refuses a hand-made join with a netns of the sandbox's own, or a topology's host without a user namespace", function()
    local plan = assert(planner.build({ namespaces = { "user", "mount" }, network = { join = "walk/netns1" } }, ctx))
    assert.truthy(planner.check(plan))
    local clone = plan.steps[2]
    assert.equal("clone", clone.op)
    clone.namespaces = { "user", "net", "mount" }
    local ok, err = planner.check(plan)
    assert.is_nil(ok)
    assert.truthy(err:find("a netns_join step and the net namespace do not go together", 1, true), err)
    -- Without a user namespace of its own the child would be the holder's root: refused
    -- (the maps go too, so that the refusal is the join's).
    clone.namespaces = { "mount" }
    for i = #plan.steps, 1, -1 do
      local op = plan.steps[i].op
      if op == "uid_map" or op == "gid_map" or op == "setgroups" then table.remove(plan.steps, i) end
    end
    ok, err = planner.check(plan)
    assert.is_nil(ok)
    assert.truthy(err:find("joining a host of a rootless topology needs the user namespace", 1, true), err)
    -- A named netns needs none: root without a user namespace joins as `ip netns exec` does.
    plan.steps[1].topology, plan.steps[1].state_root, plan.steps[1].state_path = nil, nil, nil
    assert.truthy(planner.check(plan))
  end)

  it("plans a rootless topology's host: the holder's state, and the maps in the holder's ids", function()
    local plan = assert(planner.build({ namespaces = { "user", "net", "mount" }, user = { uid = 5, gid = 7 },
      network = { join = "walk/netns1" } }, ctx))
    local j = plan.steps[1]
    assert.equal("netns_join", j.op)
    assert.equal("netns1", j.name)
    assert.equal("walk", j.topology)
    assert.truthy(j.state_root and j.state_path, "the state directory")
    assert.same({ "user", "mount" }, plan.steps[2].namespaces)
    local maps = {}
    for _, s in ipairs(plan.steps) do
      if s.op == "uid_map" or s.op == "gid_map" then maps[s.op] = s.map end
    end
    assert.same({ uid_map = "5 0 1\n", gid_map = "7 0 1\n" }, maps)
  end)
end)

describe("topology files #unit", function()
  it("checks hosts, switches and link ends with paths", function()
    local errs = topology.check({ hosts = { h1 = {} }, links = {
      { { name = "lsv0", address = "10.0.0.300/24" }, { host = "h2", name = "eth0" } },
      { { name = "lsv1" } } } }, "t.lua")
    local e = table.concat(errs, "\n")
    assert.truthy(e:find("t.lua: links[1][1].address", 1, true), e)
    assert.truthy(e:find("t.lua: links[1][2].host: no host named h2", 1, true), e)
    assert.truthy(e:find("t.lua: links[2]: expected a pair of ends", 1, true), e)
  end)

  it("suggests and lists only the hosts whose names are valid", function()
    local function has(errs, line)
      for _, l in ipairs(errs) do if l == line then return true end end
      return false
    end
    local errs = topology.check({ hosts = { [".."] = {}, ["a\27b"] = {}, lsh1 = {} },
      links = { { { name = "lsv0" }, { host = "lsh", name = "eth0" } } } }, "t.lua")
    assert.truthy(has(errs, "t.lua: links[1][2].host: no host named lsh (did you mean 'lsh1'?); the hosts are lsh1"),
      table.concat(errs, "\n"))
    errs = topology.check({ hosts = { [".."] = {} }, links = { { { name = "lsv0" }, { host = ".", name = "eth0" } } } }, "t.lua")
    assert.truthy(has(errs, "t.lua: links[1][2].host: no host named ."), table.concat(errs, "\n"))
  end)

  it("holds an MTU to one range, network.valid_mtu's: in a profile's veth, a topology file and a topology step", function()
    local network = require "lunshare.network"
    local ops = require "lunshare.topology.ops"
    for _, case in ipairs({ { 67, false }, { 68, true }, { 1500, true }, { 65535, true }, { 65536, false } }) do
      local v, want = case[1], case[2]
      assert.equal(want, network.valid_mtu(v), v)
      local e = errors_of("return { namespaces = { 'net' }, network = { links = { veth { host = 'lsh0', mtu = " ..
        v .. " } } } }")
      assert.equal(want and "" or "t.lua:1: network.links[1].mtu: expected " .. network.MTU_RANGE, e, v)
      local errs = topology.check({ links = { { { name = "lsv0", mtu = v }, { name = "lsv1" } } } }, "t.lua")
      assert.same(want and {} or { "t.lua: links[1][1].mtu: expected " .. network.MTU_RANGE }, errs, v)
      local ok = ops.check_step({ op = "veth_add", name = "lsv0", peer = "lsv1", mtu = v })
      assert.equal(want, ok == true, v)
    end
    assert.is_false(network.valid_mtu(1500.5))
  end)

  it("the walkthrough file is valid", function()
    local t = assert(topology.load((os.getenv("LUNSHARE_ROOT") or ".") .. "/docs/examples/walkthrough.lua"))
    assert.same({ netns1 = {} }, t.hosts)
    assert.equal("veth1_peer", t.links[1][2].name)
  end)
end)
