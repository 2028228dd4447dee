-- The planner is a pure function: a profile and a caller context in, steps out. #unit
local planner = require "lunshare.plan"
local schema = require "lunshare.schema"

local ctx = {
  ids = { uid = 1000, euid = 1000, gid = 1000, user = "alice" },
  environ = { "TERM=xterm", "SECRET=1", "PATH=/home/alice/bin:/usr/bin", "LANG=C.UTF-8" },
  subid = function(kind) return kind == "uid" and 100000 or 200000, 65536 end,
}

-- A root caller, for the plans whose shape is the point: without a user namespace, a caller
-- who is not root has none (what the planner says then is tested below).
local root = setmetatable({ ids = { uid = 0, euid = 0, gid = 0, user = "root" } }, { __index = ctx })

local function ops(plan)
  local t = {}
  for i, s in ipairs(plan.steps) do t[i] = s.op end
  return table.concat(t, " ")
end

local function find(plan, op)
  for _, s in ipairs(plan.steps) do if s.op == op then return s end end
end

describe("planner #unit", function()
  it("plans the default profile's steps in order", function()
    local p = { namespaces = schema.NAMESPACES, hostname = "lunshare", user = { uid = 0, gid = 0 } }
    local plan = planner.build(p, ctx)
    -- A mount namespace without mounts still makes every mount private first.
    assert.equal("clone setgroups uid_map gid_map hostname timens setsid session_keyring sysctl " ..
      "mount_private lo_up close_fds caps no_new_privs seccomp exec", ops(plan))
    assert.equal("/", find(plan, "mount_private").path)
    assert.equal("supervisor", plan.steps[1].where)
    -- pid 1 forks the command and reaps: a field of the exec step, where it happens.
    assert.is_true(find(plan, "exec").reaper)
  end)

  it("fills every step's where from its op, in one place: plan.fill_step, which enter and hot-plug use too", function()
    local core = require "lunshare.core"
    local H = require "helpers"
    local OPS = core.ops()
    local t = planner.fill_step({ op = "hostname", name = "x", where = "supervisor" }, "enter web")
    assert.same({ op = "hostname", name = "x", where = OPS.hostname.where, origin = "enter web" }, t)
    assert.equal("f.lua:3", planner.fill_step({ op = "exec", origin = "f.lua:3" }).origin)
    assert.is_nil(planner.fill_step({ op = "reaper" }))
    local plan = assert(planner.build({ namespaces = schema.NAMESPACES }, ctx))
    for _, st in ipairs(plan.steps) do assert.equal(OPS[st.op].where, st.where, st.op) end
    -- No other script sets a step's where: the filler was written twice once.
    local r = H.sh("grep -rnE '\\.where *= *[^= ]' " .. H.quote(H.root .. "/scripts/lunshare") .. " | grep -v '/plan.lua:'")
    assert.equal("", r.out)
    assert.equal(1, r.code)
  end)

  it("clones every namespace but time, which the child makes itself", function()
    local plan = planner.build({ namespaces = schema.NAMESPACES }, ctx)
    assert.same({ "user", "mount", "pid", "net", "ipc", "uts", "cgroup" }, plan.steps[1].namespaces)
    assert.truthy(find(plan, "timens"))
  end)

  it("maps the caller to the id asked for inside", function()
    local plan = planner.build({ namespaces = { "user" }, user = { uid = 5, gid = 7 } }, ctx)
    assert.equal("5 1000 1\n", find(plan, "uid_map").map)
    assert.equal("7 1000 1\n", find(plan, "gid_map").map)
    assert.is_false(find(plan, "setgroups").allow)
  end)

  it("maps a root caller to the first id of root's subordinate range, never to host root", function()
    local rctx = setmetatable({ ids = { uid = 0, gid = 0, user = "root" } }, { __index = ctx })
    local plan = planner.build({ namespaces = { "user" }, user = { uid = 0, gid = 0, map = "self" } }, rctx)
    assert.equal("0 100000 1\n", find(plan, "uid_map").map)
    assert.equal("0 200000 1\n", find(plan, "gid_map").map)
    assert.is_nil(find(plan, "setgroups"))
    local ids = find(plan, "set_ids")
    assert.same({ 0, 0, "child" }, { ids.uid, ids.gid, ids.where })
  end)

  it("maps a root caller without subordinate ranges to the fixed unprivileged id", function()
    local rctx = setmetatable({ ids = { uid = 0, gid = 0, user = "root" }, subid = function() return false end },
      { __index = ctx })
    local plan = planner.build({ namespaces = { "user" } }, rctx)
    assert.equal("0 2000000000 1\n", find(plan, "uid_map").map)
    assert.equal("0 2000000000 1\n", find(plan, "gid_map").map)
  end)

  it("maps root inside to host root only for map = host_root, and only for root", function()
    local rctx = setmetatable({ ids = { uid = 0, gid = 0, user = "root" } }, { __index = ctx })
    local plan = planner.build({ namespaces = { "user" }, user = { map = "host_root" } }, rctx)
    assert.equal("0 0 1\n", find(plan, "uid_map").map)
    local none, err = planner.build({ namespaces = { "user" }, user = { map = "host_root" } }, ctx)
    assert.is_nil(none)
    assert.truthy(err:find("only root can run it"), err)
  end)

  it("adds the subordinate range through newuidmap for map = subid", function()
    local plan = planner.build({ namespaces = { "user" }, user = { map = "subid" } }, ctx)
    local u = find(plan, "uid_map")
    assert.equal("0 1000 1\n1 100000 65536\n", u.map)
    assert.equal("newuidmap", u.helper)
    assert.is_nil(find(plan, "setgroups"))
  end)

  it("fails clearly when subid ranges are missing", function()
    local c = setmetatable({ subid = function() return false end }, { __index = ctx })
    local plan, err = planner.build({ namespaces = { "user" }, user = { map = "subid" } }, c)
    assert.is_nil(plan)
    assert.truthy(err:find("/etc/subuid"))
  end)

  it("lets root write any map itself, and setgroups stays allowed", function()
    local c = setmetatable({ ids = { uid = 0, euid = 0, gid = 0 } }, { __index = ctx })
    local plan = planner.build({ namespaces = { "user" }, user = { map = { { 0, 100000, 65536 } } } }, c)
    assert.equal("0 100000 65536\n", find(plan, "uid_map").map)
    assert.is_nil(find(plan, "uid_map").helper)
    assert.is_nil(find(plan, "setgroups"))
  end)

  it("refuses a map onto the host ids a root run's egress proxy takes its id from, at either edge", function()
    local c = setmetatable({ ids = { uid = 0, euid = 0, gid = 0 } }, { __index = ctx })
    local egress = require "lunshare.egress"
    local from, count = egress.PROXY_IDS[1], egress.PROXY_IDS[2]
    for _, r in ipairs({ { 0, from, 1 }, { 0, from - 10, 11 }, { 0, from + count - 1, 5 }, { 5, 1000, from } }) do
      local plan, err = planner.build({ namespaces = { "user" }, user = { map = { { 1, 1, 1 }, r } } }, c)
      assert.is_nil(plan, table.concat(r, " "))
      assert.truthy(err:find("user.map[2]: host ids " .. from .. "..", 1, true), err)
    end
    for _, r in ipairs({ { 0, from - 10, 10 }, { 0, from + count, 65536 } }) do
      assert.truthy(planner.build({ namespaces = { "user" }, user = { map = { r } } }, c), table.concat(r, " "))
    end
  end)

  it("sends an unprivileged caller's explicit ranges through newuidmap", function()
    local plan = planner.build({ namespaces = { "user" }, user = { map = { { 0, 100000, 65536 } } } }, ctx)
    assert.equal("newuidmap", find(plan, "uid_map").helper)
    assert.equal("newgidmap", find(plan, "gid_map").helper)
  end)

  it("runs pid 1 as the command when asked", function()
    local plan = planner.build({ namespaces = { "pid" }, pid1 = "command" }, root)
    assert.is_nil(find(plan, "exec").reaper)
  end)

  it("clears the environment but for the kept names, and sets PATH", function()
    local env = planner.environment({ env = { keep = { "TERM" }, set = { FOO = "bar" } } }, ctx.environ)
    assert.same({ "TERM=xterm", "PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin", "FOO=bar" }, env)
  end)

  it("keeps the caller's environment with clear = false, minus unset", function()
    local env = planner.environment({ env = { clear = false, unset = { "SECRET" } } }, ctx.environ)
    assert.same({ "TERM=xterm", "PATH=/home/alice/bin:/usr/bin", "LANG=C.UTF-8" }, env)
  end)

  it("uses the command line over the profile's command", function()
    local plan = planner.build({ command = { "/bin/sh" } }, setmetatable({ argv = { "id", "-u" } }, { __index = ctx }))
    assert.same({ "id", "-u" }, find(plan, "exec").argv)
    plan = planner.build({ command = { "/bin/bash" } }, ctx)
    assert.same({ "/bin/bash" }, find(plan, "exec").argv)
  end)

  it("refuses to a caller who is not root namespaces without a user namespace, not none at all", function()
    local plan, err = planner.build({ _file = "t.lua", namespaces = { "mount", "pid", "time" } }, ctx)
    assert.is_nil(plan)
    assert.equal("t.lua: namespaces: without a user namespace, a caller who is not root cannot make the others " ..
      "(mount, pid, time): keep \"user\" in namespaces, or run as root", err)
    assert.truthy(planner.build({ namespaces = { "mount", "pid", "time" } }, root))
    assert.truthy(planner.build({ namespaces = {} }, ctx))
  end)

  it("puts exec last and clone first", function()
    local plan = planner.build({ namespaces = { "uts" }, hostname = "h", cwd = "/tmp" }, root)
    assert.equal("clone", plan.steps[1].op)
    assert.equal("exec", plan.steps[#plan.steps].op)
    assert.equal("/tmp", find(plan, "chdir").path)
  end)

  it("gives each step an explanation a person could type", function()
    local explain = require "lunshare.explain"
    local plan = planner.build({ namespaces = { "net", "uts" }, hostname = "h" }, root)
    assert.equal("unshare --net --uts", explain.step(plan.steps[1]))
    assert.equal("hostname h", explain.step(find(plan, "hostname")))
  end)
end)
