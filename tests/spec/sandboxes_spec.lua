-- Named sandboxes, the pure parts: names, the record step a named plan ends its
-- supervisor steps with, and what the record says. #unit
local json = require "lunshare.json"
local planner = require "lunshare.plan"
local sandboxes = require "lunshare.sandboxes"
local schema = require "lunshare.schema"

local ctx = {
  ids = { uid = 1000, euid = 1000, gid = 1000, user = "alice" },
  environ = { "TERM=xterm", "SECRET=1" },
  subid = function() return 100000, 65536 end,
}

local function with(t)
  local c = {}
  for k, v in pairs(ctx) do c[k] = v end
  for k, v in pairs(t) do c[k] = v end
  return c
end

describe("named sandboxes #unit", function()
  it("takes names of [A-Za-z0-9_.-], 1 to 64, not starting with a dot", function()
    for _, ok in ipairs({ "a", "web-1", "x.y_z", string.rep("n", 64) }) do
      assert.is_nil(sandboxes.check_name(ok), ok)
    end
    for _, bad in ipairs({ "", ".x", "..", "a/b", "a b", string.rep("n", 65), "é" }) do
      assert.truthy(sandboxes.check_name(bad), bad)
    end
    assert.truthy(sandboxes.check_name(7))
  end)

  it("a plan without a name records nothing", function()
    local plan = planner.build({ namespaces = schema.NAMESPACES }, ctx)
    for _, s in ipairs(plan.steps) do assert.not_equal("record", s.op) end
  end)

  it("a named plan records last of the supervisor's steps, with the command's confinement", function()
    local p = { namespaces = schema.NAMESPACES, name = "fromprofile", limits = { nofile = 64 } }
    local plan = assert(planner.build(p, with({ name = "web", profile = "default" })))
    local last_host, rec
    for i, s in ipairs(plan.steps) do
      if s.where == "supervisor" then last_host = i end
      if s.op == "record" then rec = s end
    end
    assert.equal("record", plan.steps[last_host].op)
    assert.equal("web", rec.name)
    assert.equal("command line", rec.origin)
    local d = json.decode(rec.data)
    assert.equal("web", d.name)
    assert.equal("default", d.profile)
    -- The clone's namespaces, and the time namespace the child enters after it.
    local want = {}
    for i, n in ipairs(plan.steps[1].namespaces) do want[i] = n end
    want[#want + 1] = "time"
    assert.same(want, d.namespaces)
    local ops = {}
    for _, s in ipairs(d.enter.steps) do ops[#ops + 1] = s.op end
    assert.equal("setsid session_keyring rlimit caps no_new_privs seccomp", table.concat(ops, " "))
    assert.is_true(d.enter.reaper)
    -- The very environment the exec step gives.
    local exec = plan.steps[#plan.steps]
    assert.same(exec.env, d.enter.env)
  end)

  it("a profile's name names the plan when the command line gives none", function()
    local plan = assert(planner.build({ namespaces = { "user" }, name = "fromprofile" }, ctx))
    local rec
    for _, s in ipairs(plan.steps) do if s.op == "record" then rec = s end end
    assert.equal("fromprofile", rec.name)
  end)
end)
