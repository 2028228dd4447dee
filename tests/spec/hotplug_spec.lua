-- Hot-plug, the pure parts: whether a sandbox's record shows the @setid-files rules that
-- a writable plugged bind needs, what ps says of a plugged object, and the plug step of a
-- bind (the profile's own bind step). #unit
local hotplug = require "lunshare.hotplug"
local json = require "lunshare.json"
local mounts = require "lunshare.mounts"
local planner = require "lunshare.plan"
local schema = require "lunshare.schema"

local ctx = { ids = { uid = 1000, euid = 1000, gid = 1000, user = "alice" }, environ = {}, name = "web",
  subid = function() return 100000, 65536 end }

-- The record's data as the planner writes it for profile p.
local function record_of(p, c)
  local plan = assert(planner.build(p, c or ctx))
  for _, s in ipairs(plan.steps) do
    if s.op == "record" then return json.decode(s.data) end
  end
end

describe("hot-plug #unit", function()
  it("lets a writable bind into a sandbox whose filter has @setid-files, and no other", function()
    local ns = schema.NAMESPACES
    assert.is_true(hotplug.setid_guarded(record_of({ namespaces = ns })))
    assert.is_false(hotplug.setid_guarded(record_of({ namespaces = ns, seccomp = false })))
    assert.is_false(hotplug.setid_guarded(record_of({ namespaces = ns, seccomp = { allow = { "@setid-files" } } })))
    assert.is_false(hotplug.setid_guarded({ enter = { steps = {} } }))
    assert.is_false(hotplug.setid_guarded({}))
  end)

  it("plans a plugged bind as the profile's bind step: read-only unless writable, nodev, its source resolved", function()
    local resolve = function(p) return "/real" .. p end
    local ro = assert(mounts.plug_step({ kind = "ro_bind", src = "/data/", dst = "/tmp/d" }, resolve))
    assert.same({ op = "bind", src = "/real/data", dst = "/tmp/d", readonly = true, dev = false, optional = false }, ro)
    local rw = assert(mounts.plug_step({ kind = "bind", src = "/data", dst = "/tmp/d" }, resolve))
    assert.is_false(rw.readonly)
    local none, err = mounts.plug_step({ kind = "bind", src = "/gone" }, function() return nil, "x", require("lunshare.core").errno.ENOENT end)
    assert.is_nil(none)
    assert.truthy(err:find("/gone does not exist on the host", 1, true), err)
  end)

  it("tells the mount a plug made by its id: the one new mount whose parent is not new", function()
    local before = { [20] = 1, [21] = 20, [22] = 20 }
    -- One new mount on an old one (wherever mountinfo says it is).
    assert.equal(30, hotplug.new_mount(before, { [20] = 1, [21] = 20, [22] = 20, [30] = 22 }))
    -- A recursive bind: its submounts hang under it.
    assert.equal(30, hotplug.new_mount(before, { [20] = 1, [21] = 20, [22] = 20, [30] = 21, [31] = 30, [32] = 31 }))
    -- Nothing new, or two new tops (something else mounted beside it): no answer.
    assert.is_nil(hotplug.new_mount(before, before))
    assert.is_nil(hotplug.new_mount(before, { [20] = 1, [21] = 20, [22] = 20, [30] = 21, [40] = 22 }))
    -- A mount gone meanwhile changes nothing about which one is new.
    assert.equal(30, hotplug.new_mount(before, { [20] = 1, [21] = 20, [30] = 21 }))
  end)

  it("says what is plugged by the id unplug takes", function()
    assert.equal("/tmp/d(ro from /data)", hotplug.describe({ kind = "bind", id = "/tmp/d", src = "/data", rw = false }))
    assert.equal("/tmp/d(rw from /data)", hotplug.describe({ kind = "bind", id = "/tmp/d", src = "/data", rw = true }))
    assert.equal("lsh0@br0 10.0.0.1/24(veth to eth1 10.0.0.2/24)", hotplug.describe({ kind = "veth", id = "lsh0",
      inside = "eth1", bridge = "br0", address = { "10.0.0.2/24" }, host_address = { "10.0.0.1/24" } }))
    assert.equal("lsa0 10.1.0.1/24(veth to db:lsb0 10.1.0.2/24)", hotplug.describe({ kind = "veth", id = "lsa0",
      to = "db", peer = "lsb0", address = { "10.1.0.1/24" }, peer_address = { "10.1.0.2/24" } }))
  end)

  it("shows a veth to another sandbox only while that sandbox's pid 1 is the one recorded", function()
    local sandboxes = require "lunshare.sandboxes"
    local core = require "lunshare.core"
    local me = core.ids().pid
    local st = assert(core.proc_stat(me))
    assert.is_true(sandboxes.plug_alive({ kind = "veth", id = "lsa0", to = "db", to_pid = me, to_starttime = st.starttime }))
    assert.is_false(sandboxes.plug_alive({ kind = "veth", id = "lsa0", to = "db", to_pid = me, to_starttime = st.starttime + 1 }))
    assert.is_false(sandboxes.plug_alive({ kind = "veth", id = "lsa0", to = "db" }))
    assert.is_true(sandboxes.plug_alive({ kind = "veth", id = "lsh0", inside = "eth1" }))
  end)

  it("records the netns a sandbox joined, for ps", function()
    local root = { ids = { uid = 0, euid = 0, gid = 0, user = "root" }, environ = {}, name = "web",
      subid = function() return 100000, 65536 end }
    assert.equal("lsj", record_of({ namespaces = { "user", "mount", "pid" }, network = { join = "lsj" } }, root).net_joined)
    assert.equal("t/h", record_of({ namespaces = { "user", "mount", "pid" }, network = { join = "t/h" } }).net_joined)
    assert.is_nil(record_of({ namespaces = schema.NAMESPACES }).net_joined)
  end)

  it("records a profile's host links with their addresses", function()
    local d = record_of({ namespaces = schema.NAMESPACES, network = { links = { { type = "veth", host = "lsh0",
      host_address = "10.0.0.1/24", address = "10.0.0.2/24" } } } },
      setmetatable({ ids = { uid = 0, euid = 0, gid = 0, user = "root" } }, { __index = ctx }))
    assert.same({ "lsh0" }, d.links)
    assert.same({ lsh0 = { "10.0.0.1/24" } }, d.addresses)
  end)
end)
