-- Which mounts of a root caller become idmapped, and with which ids. #unit
local planner = require "lunshare.plan"

local root = { ids = { uid = 0, euid = 0, gid = 0, user = "root" }, environ = {},
  subid = function() return nil end }
local alice = { ids = { uid = 1000, euid = 1000, gid = 1000, user = "alice" }, environ = {},
  subid = function() return nil end }

local function steps(plan, op)
  local t = {}
  for _, s in ipairs(plan.steps) do if s.op == op then t[#t + 1] = s end end
  return t
end

local function profile(mounts, user)
  return { namespaces = { "user", "mount", "pid" }, user = user, mounts = mounts }
end

describe("idmapped binds #unit", function()
  local mounts = {
    { kind = "ro_bind", src = "/usr" },
    { kind = "bind", src = "/srv/proj", dst = "/build" },
    { kind = "overlay", dst = "/o", lower = { "/l" }, upper = "/srv/ov/up", work = "/srv/ov/work" },
    { kind = "bind", src = "/srv/maybe", optional = true },
  }

  it("makes each writable bind and overlay upper of a root caller an idmapped tree", function()
    local plan = assert(planner.build(profile(mounts), root))
    local trees = steps(plan, "idmap_tree")
    assert.equal(3, #trees)
    assert.same({ "/srv/proj", 2000000000, 2000000000 }, { trees[1].src, trees[1].uid, trees[1].gid })
    assert.equal("supervisor", trees[1].where)
    -- The overlay's upper and work share one mount: their common directory, owned as upper is.
    assert.same({ "/srv/ov", "/srv/ov/up" }, { trees[2].src, trees[2].owner })
    assert.is_true(trees[3].optional)
    local binds = steps(plan, "bind")
    assert.is_nil(binds[1].idmapped) -- read-only: nothing to write as anyone
    assert.equal(1, binds[2].idmapped)
    assert.equal(3, binds[3].idmapped)
    local ov = steps(plan, "overlay")[1]
    assert.same({ 2, "/srv/ov" }, { ov.idmapped, ov.base })
    -- Before the clone: only real root may make an idmapped mount of the host's filesystems.
    assert.equal("idmap_tree", plan.steps[1].op)
  end)

  it("maps to the host id the sandbox's user has", function()
    local plan = assert(planner.build(profile(mounts, { uid = 5, gid = 7 }), root))
    local t = steps(plan, "idmap_tree")[1]
    assert.same({ 2000000000, 2000000000 }, { t.uid, t.gid })
    plan = assert(planner.build(profile(mounts, { map = { { 0, 3000000, 10 } }, uid = 4, gid = 2 }), root))
    t = steps(plan, "idmap_tree")[1]
    assert.same({ 3000004, 3000002 }, { t.uid, t.gid })
  end)

  it("leaves rootless callers, host_root and sandboxes without a user namespace alone", function()
    assert.equal(0, #steps(assert(planner.build(profile(mounts), alice)), "idmap_tree"))
    assert.equal(0, #steps(assert(planner.build(profile(mounts, { map = "host_root" }), root)), "idmap_tree"))
    local nouser = { namespaces = { "mount", "pid" }, mounts = mounts }
    assert.equal(0, #steps(assert(planner.build(nouser, root)), "idmap_tree"))
  end)
end)
