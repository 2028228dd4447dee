-- explain: one formatter per op of the C op tables, and a plan it prints is one the
-- executor takes: explain refuses what spawn would, with spawn's own message. #unit
local core = require "lunshare.core"
local explain = require "lunshare.explain"
local planner = require "lunshare.plan"
local profile = require "lunshare.profile"
local cli = require "lunshare.cli"
local H = require "helpers"

local ctx = { ids = { uid = 1000, euid = 1000, gid = 1000, user = "alice" }, environ = { "TERM=xterm" },
  subid = function() return false end }

local function capture(fn)
  local out, err = {}, {}
  local real_out, real_err = io.stdout, io.stderr
  local fake = function(buf)
    return { write = function(self, ...) for _, s in ipairs({ ... }) do buf[#buf + 1] = s end return self end,
      flush = function() return true end }
  end
  io.stdout, io.stderr = fake(out), fake(err)
  local ok, code = pcall(fn)
  io.stdout, io.stderr = real_out, real_err
  assert(ok, code)
  return code, table.concat(out), table.concat(err)
end

local function default_plan()
  local p = assert(profile.load(H.root .. "/profiles/default.lua"))
  return assert(planner.build(p, ctx)), p
end

describe("explain #unit", function()
  it("has a formatter for every op of the executor, and none for an op it lacks", function()
    local ops = core.ops()
    for name in pairs(ops) do assert.is_function(explain.FORMAT[name], "no formatter for " .. name) end
    for name in pairs(explain.FORMAT) do assert.truthy(ops[name], "a formatter for no op: " .. name) end
  end)

  it("formats a step of each op from its required fields alone", function()
    local value = { string = "/x", integer = 1, boolean = true, list = { "a" } }
    for name, op in pairs(core.ops()) do
      local s = { op = name, where = op.where }
      for f in pairs(op.required) do s[f] = value[op.fields[f]] end
      if name == "seccomp" then s.rules = { "errno:1 ptrace" } end
      local text = explain.step(s)
      assert.is_string(text, name)
      assert.truthy(#text > 0 and not text:find("nil", 1, true), name .. ": " .. text)
    end
  end)

  it("prints every step of the default profile's plan: who, what, the command, where from", function()
    local plan, p = default_plan()
    local text = explain.text(plan, p)
    local n = 0
    for num, where, op in text:gmatch("\n%s*(%d+)  (%S+)%s+(%S+)") do
      n = n + 1
      local s = plan.steps[tonumber(num)]
      assert.same({ s.where, s.op }, { where, op })
    end
    assert.equal(#plan.steps, n)
    for _, s in ipairs(plan.steps) do
      assert.truthy(text:find(explain.step(s):match("[^\n]*"), 1, true), s.op)
      assert.truthy(text:find("# " .. s.origin, 1, true), s.origin)
    end
    -- The reaper is shown where it happens, on the exec line, and the scratch tmpfs that
    -- rootfs pivots through is shown too.
    assert.truthy(text:find("exec        pid 1 forks the command, reaps orphans and forwards signals; " ..
      "the command: env -i ", 1, true), text)
    assert.truthy(text:find("mount -t tmpfs -o nosuid,nodev,mode=0700 tmpfs /tmp && cd /tmp && " ..
      "mkdir newroot oldroot && pivot_root . oldroot", 1, true), text)
  end)

  it("keeps no text in the steps: the plan is only what the executor reads", function()
    local plan = default_plan()
    local ops = core.ops()
    for _, s in ipairs(plan.steps) do
      for k in pairs(s) do
        assert.truthy(k == "op" or k == "where" or k == "origin" or ops[s.op].fields[k], s.op .. "." .. k)
      end
    end
  end)
end)

describe("explain refuses what spawn would #unit", function()
  local file
  setup(function()
    file = os.tmpname() .. ".lua"
    local f = assert(io.open(file, "w"))
    f:write("return { namespaces = { 'user', 'mount', 'pid', 'net' }, mounts = { tmpfs '/tmp' } }\n")
    f:close()
  end)
  teardown(function() os.remove(file) end)

  -- Explains the profile with the mounts area adding one more step in phase, and keeps
  -- the plan the planner checked; returns explain's status, stderr and that plan.
  local function explain_with(phase, extra)
    local mounts = require "lunshare.mounts"
    local real_plan, real_check = mounts.plan, planner.check
    local seen
    mounts.plan = function(p, add, c)
      local ok, err = real_plan(p, add, c)
      add(phase, extra)
      return ok, err
    end
    planner.check = function(plan)
      seen = plan
      return real_check(plan)
    end
    local ok, code, out, err = pcall(capture, function() return cli.main({ "explain", file }) end)
    mounts.plan, planner.check = real_plan, real_check
    assert(ok, code)
    return code, out, err, seen
  end

  it("a step with a field the executor does not know", function()
    local code, out, err, plan = explain_with("mounts", { op = "tmpfs", dst = "/x", sise = "1M" })
    local ok, spawn_msg = pcall(core.spawn, plan)
    assert.is_false(ok)
    assert.truthy(spawn_msg:find("unknown field 'sise'", 1, true), spawn_msg)
    assert.equal(2, code)
    assert.equal("", out)
    assert.equal("lunshare: " .. file .. ": " .. spawn_msg .. "\n", err)
  end)

  it("a field of the wrong type", function()
    local code, _, err, plan = explain_with("mounts", { op = "tmpfs", dst = "/x", mode = "0755" })
    local ok, spawn_msg = pcall(core.spawn, plan)
    assert.is_false(ok)
    assert.truthy(spawn_msg:find("field 'mode' must be an integer", 1, true), spawn_msg)
    assert.equal(2, code)
    assert.equal("lunshare: " .. file .. ": " .. spawn_msg .. "\n", err)
  end)

  it("a missing required field", function()
    local code, _, err, plan = explain_with("mounts", { op = "tmpfs" })
    local none, spawn_msg = core.spawn(plan)
    assert.is_nil(none)
    assert.truthy(spawn_msg:find("(tmpfs): missing field dst", 1, true), spawn_msg)
    assert.equal(2, code)
    assert.equal("lunshare: " .. file .. ": " .. spawn_msg .. "\n", err)
  end)

  it("a step out of the plan's order", function()
    local code, _, err, plan = explain_with("prepare", { op = "hostname", name = "x" })
    local none, spawn_msg, errno, step = core.spawn(plan)
    assert.is_nil(none)
    assert.equal("step 1 (hostname): a step of the child, it must come after the clone step", spawn_msg)
    assert.same({ core.errno.EINVAL, 1 }, { errno, step })
    assert.equal(2, code)
    assert.equal("lunshare: " .. file .. ": " .. spawn_msg .. "\n", err)
  end)
end)
