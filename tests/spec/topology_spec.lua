-- The topology planner without a kernel: the plan `net up` performs for a file (root and
-- rootless), the plan `net down` performs from a journal, and the op table both are made
-- of (lunshare.topology.ops: each op's fields, its ip text, what it does, how status reads
-- it). #unit
local H = require "helpers"
local json = require "lunshare.json"
local topology = require "lunshare.topology"
local planner = require "lunshare.topology.plan"
local ops = require "lunshare.topology.ops"
local journal = require "lunshare.topology.journal"
local holder = require "lunshare.topology.holder"

local WALK = H.root .. "/docs/examples/walkthrough.lua"

-- "op text # line": each step as net explain shows it, its origin by line alone.
local function steps_of(plan)
  local out = {}
  for i, s in ipairs(plan.steps) do
    assert(ops.check_step(s))
    local line = s.origin and s.origin:match(":(%d+)$") or "-"
    out[i] = s.op .. ": " .. ops.text(s, plan) .. " # " .. line
  end
  return out
end

-- A state directory that holds one journal, as lunshare.state's reads it: JSON lines.
local function journal_dir(text)
  return {
    file = function(_, name) return "/state/net/" .. name end,
    read_json_lines = function(_, _)
      local out, lines, n = {}, {}, 0
      for line in text:gmatch("([^\n]*)\n") do
        n = n + 1
        if line ~= "" then
          out[#out + 1] = assert(json.decode(line))
          lines[#out] = n
        end
      end
      return out, lines
    end,
  }
end

-- A topology with hosts, a switch and links, as up journaled it: a link whose peer's
-- namespace goes (h1), one between two namespaces that go, one that stays on both ends,
-- one dropped (refused, never made).
local JOURNAL = table.concat({
  '{"hosts":["h1","h2"]}',
  '{"add":"hosts","x":"h1"}',
  '{"add":"hosts","x":"h2"}',
  '{"add":"switches","x":{"name":"lsbr0"}}',
  '{"add":"links","x":{"name":"lsa1","peer_host":"h1","peer":"eth0"}}',
  '{"add":"links","x":{"host":"h1","name":"lsa2","peer_host":"h2","peer":"lsb2"}}',
  '{"add":"links","x":{"name":"lsc1","peer":"lsc2"}}',
  '{"add":"links","x":{"name":"lsd1","peer":"lsd2"}}',
  '{"drop":"links"}',
}, "\n") .. "\n"

describe("topology planner #unit", function()
  local t = assert(topology.load(WALK))

  it("plans the walkthrough's up as root: each step, the ip command it replaces, its line", function()
    local plan = planner.up(t, false)
    assert.same({ "up", WALK, "walkthrough" }, { plan.verb, plan.file, plan.name })
    assert.is_nil(plan.rootless)
    assert.same({
      "netns_add: ip netns add netns1 # 10",
      "lo_up: ip -n netns1 link set lo up # 10",
      "veth_add: ip link add veth1 type veth peer name veth1_peer netns netns1 # 12",
      "addr_add: ip addr add 10.0.0.1/24 dev veth1 # 12",
      "link_up: ip link set veth1 up # 12",
      "addr_add: ip -n netns1 addr add 10.0.0.2/24 dev veth1_peer # 13",
      "link_up: ip -n netns1 link set veth1_peer up # 13",
    }, steps_of(plan))
    for _, s in ipairs(plan.steps) do assert.equal(WALK, s.origin:match("^(.*):%d+$")) end
    assert.same({ "netns1" }, planner.hosts(plan))
  end)

  it("plans it rootless: a holder first, and every netns by its pin", function()
    local plan = planner.up(t, true)
    local paths = holder.paths("walkthrough")
    assert.same({ true, paths.holder, paths.pins }, { plan.rootless, plan.holder, plan.netns_dir })
    local pin = paths.pins .. "/netns1"
    local got = steps_of(plan)
    assert.truthy(got[1]:find("^holder: unshare %-%-user %-%-map%-root%-user %-%-mount %-%-net"), got[1])
    assert.truthy(got[1]:find(paths.holder, 1, true), got[1])
    assert.same({
      "netns_add: touch " .. pin .. " && unshare --net=" .. pin .. " true # 10",
      "lo_up: nsenter --net=" .. pin .. " ip link set lo up # 10",
      "veth_add: ip link add veth1 type veth peer name veth1_peer netns " .. pin .. " # 12",
      "addr_add: ip addr add 10.0.0.1/24 dev veth1 # 12",
      "link_up: ip link set veth1 up # 12",
      "addr_add: nsenter --net=" .. pin .. " ip addr add 10.0.0.2/24 dev veth1_peer # 13",
      "link_up: nsenter --net=" .. pin .. " ip link set veth1_peer up # 13",
    }, { table.unpack(got, 2) })
    assert.same({ "holder", true }, { plan.steps[1].op, plan.steps[1].create })
  end)

  it("plans switches and routes in their places: bridges after hosts, routes last", function()
    local file = H.file("return { hosts = { lsh1 = { routes = { { to = 'default', via = '10.1.0.1' } } } },\n" ..
      "  switches = { lsbr0 = { address = '10.1.0.1/24', mtu = 1400 } },\n" ..
      "  links = { { { switch = 'lsbr0', name = 'lsv0' }, { host = 'lsh1', name = 'eth0', address = '10.1.0.2/24' } } } }\n",
      ".lua")
    local st = assert(topology.load(file))
    local order = {}
    for _, s in ipairs(planner.up(st, false).steps) do order[#order + 1] = s.op end
    assert.same({ "netns_add", "lo_up", "bridge_add", "link_up", "addr_add", "veth_add", "link_master", "link_up",
      "addr_add", "link_up", "route_add" }, order)
    os.remove(file)
  end)

  it("plans down from the journal, in reverse, each step at the journal line that recorded it", function()
    local st = assert(journal.read(journal_dir(JOURNAL), "topo"))
    assert.same({ "h1", "h2" }, st.uses)
    local plan = planner.down("/x/topo.lua", st, false)
    assert.same({ "down", "topo", "/state/net/topo.state" }, { plan.verb, plan.name, plan.journal })
    local got = {}
    for i, s in ipairs(plan.steps) do
      assert(ops.check_step(s))
      assert.is_string(ops.text(s, plan))
      got[i] = s.op .. " " .. (s.host or "-") .. " " .. (s.name or "-") .. " " .. s.origin
    end
    -- lsd1 was dropped; lsa2 goes with its namespaces; lsa1's end here goes when h1 does.
    assert.same({
      "link_del - lsc1 /state/net/topo.state:7",
      "link_del - lsbr0 /state/net/topo.state:4",
      "netns_del h2 - /state/net/topo.state:3",
      "netns_del h1 - /state/net/topo.state:2",
      "link_gone - lsa1 /state/net/topo.state:5",
    }, got)
    local rootless = planner.down("/x/topo.lua", st, true)
    assert.same({ "holder", false }, { rootless.steps[1].op, rootless.steps[1].create })
    assert.equal("holder_end", rootless.steps[#rootless.steps].op)
    assert.equal(#plan.steps + 2, #rootless.steps)
    assert.same({}, planner.down("/x/topo.lua", nil, false).steps)
  end)

  it("describes every op once: fields, the ip text, what it does, and how status reads what up made", function()
    local up_ops = {}
    for _, rootless in ipairs({ false, true }) do
      for _, s in ipairs(planner.up(t, rootless).steps) do up_ops[s.op] = true end
    end
    for name, op in pairs(ops.OPS) do
      assert.is_table(op.fields, name)
      for k, kind in pairs(op.fields) do assert.truthy(kind:match("^%a+%??$"), name .. "." .. k) end
      assert.is_function(op.ip, name)
      assert.is_function(op.make, name)
      -- status compares what up makes: an object (row) or a property of one (part, holds).
      if up_ops[name] and name ~= "holder" then
        assert.truthy(type(op.row) == "function" or (type(op.part) == "function" and type(op.holds) == "function"),
          name .. " has no row, and no part and holds")
      end
    end
    assert.is_nil(ops.check_step({ op = "netns_add" }))
    assert.is_nil(ops.check_step({ op = "netns_add", host = "h1", where = "x" }))
    assert.is_nil(ops.check_step({ op = "nope" }))
  end)
end)
