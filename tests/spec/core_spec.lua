-- lunshare.core from Lua: the io library's conventions (values on success, nil, message,
-- errno on failure; misuse raises) and handles that close themselves. #unit
local core = require "lunshare.core"

local function fd_open(n)
  local f = io.open("/proc/self/fd/" .. n)
  if f then f:close() return true end
  return false
end

describe("lunshare.core #unit", function()
  it("lists the eight namespace kinds, user first", function()
    local kinds = core.ns_kinds()
    assert.equal(8, #kinds)
    assert.equal("user", kinds[1].name)
    assert.equal("mnt", kinds[2].proc)
  end)

  it("identifies namespaces comparably", function()
    local a = core.ns_id(0, "net")
    local b = core.ns_id(core.ids().pid, "net")
    assert.equal(a, b)
    assert.truthy(a:match("^%d+:%d+$"))
  end)

  it("returns nil, message, errno for a kernel failure", function()
    local h, msg, errno = core.ns_open(999999999, "net")
    assert.is_nil(h)
    assert.equal("open /proc/999999999/ns/net: No such file or directory", msg)
    assert.equal(2, errno)
  end)

  it("raises for misuse", function()
    assert.has_error(function() core.ns_open(0, "nett") end,
      "bad argument #2 to 'ns_open' (unknown namespace kind 'nett')")
    assert.has_error(function() core.ns_id(0, "net", "extra") end)
  end)

  it("closes a handle on __close", function()
    local n
    do
      local h <close> = core.ns_open(0, "net")
      n = h:fileno()
      assert.is_true(fd_open(n))
    end
    assert.is_false(fd_open(n))
  end)

  it("closes a handle on __gc and on :close(), once", function()
    local h = core.ns_open(0, "uts")
    local n = h:fileno()
    h:close()
    h:close()
    assert.is_false(fd_open(n))
    assert.equal("namespace (closed)", tostring(h))
    assert.has_error(function() h:fileno() end, "attempt to use a closed namespace")
    local g = core.ns_open(0, "uts")
    n = g:fileno()
    g = nil -- luacheck: ignore
    collectgarbage()
    collectgarbage()
    assert.is_false(fd_open(n))
  end)

  it("describes the executor's ops for the planner", function()
    local ops = core.ops()
    -- Each op runs in one place, in one phase of the plan's order.
    assert.same({ "child", "exec" }, { ops.exec.where, ops.exec.phase })
    assert.equal("list", ops.exec.fields.argv)
    assert.equal("boolean", ops.exec.fields.reaper)
    assert.is_true(ops.exec.required.argv)
    assert.same({ "supervisor", "host" }, { ops.uid_map.where, ops.uid_map.phase })
    assert.same({ "supervisor", "clone" }, { ops.clone.where, ops.clone.phase })
    assert.same({ "supervisor", "prepare" }, { ops.cgroup.where, ops.cgroup.phase })
    assert.equal("child", ops.hostname.phase)
  end)

  it("validates a plan's shape and names the step", function()
    local ok, msg, errno, step = core.plan_check({ steps = {
      { op = "clone", where = "supervisor", namespaces = {} },
      { op = "hostname", where = "supervisor", name = "x" },
      { op = "exec", where = "child", argv = { "true" }, env = {} },
    } })
    assert.is_nil(ok)
    assert.equal("step 2 (hostname): cannot run in the supervisor", msg)
    assert.equal(22, errno)
    assert.equal(2, step)
  end)

  it("rejects unknown ops and fields in a plan", function()
    assert.has_error(function() core.plan_check({ steps = { { op = "frob" } } }) end,
      "plan step 1: unknown op 'frob'")
    assert.has_error(function()
      core.plan_check({ steps = { { op = "hostname", where = "child", nam = "x" } } })
    end, "plan step 1 (hostname): unknown field 'nam'")
  end)

  it("spawns a plan and returns the exit code", function()
    local ids = core.ids()
    local code = core.spawn({ steps = {
      { op = "clone", where = "supervisor", namespaces = { "user", "uts" } },
      { op = "setgroups", where = "supervisor", allow = false },
      { op = "uid_map", where = "supervisor", map = "0 " .. ids.uid .. " 1\n" },
      { op = "gid_map", where = "supervisor", map = "0 " .. ids.gid .. " 1\n" },
      { op = "hostname", where = "child", name = "fromlua" },
      { op = "exec", where = "child", argv = { "sh", "-c", "test $(hostname) = fromlua && exit 9" },
        env = { "PATH=/usr/bin:/bin" } },
    } })
    assert.equal(9, code)
  end)

  it("gives the kernel's numbers by name, from the C headers and libraries", function()
    local _, _, errno = core.ns_open(999999999, "net")
    assert.equal(core.errno.ENOENT, errno)
    assert.equal(core.errno.EOPNOTSUPP, core.errno.ENOTSUP)
    assert.equal(core.strerror(core.errno.EACCES), "Permission denied")
    -- Every capability libcap knows, in the kernel's order.
    assert.truthy(#core.caps >= 40)
    for i, name in ipairs(core.caps) do assert.equal(i - 1, core.cap_number(name)) end
    assert.equal(core.signum("TERM"), core.signals.TERM)
    assert.equal(core.signum("KILL"), core.signals.KILL)
    local kinds = {}
    for _, k in ipairs(core.ns_kinds()) do kinds[k.name] = k.flag end
    assert.same({ kinds.user, kinds.mount, kinds.pid }, { core.CLONE_NEWUSER, core.CLONE_NEWNS, core.CLONE_NEWPID })
    assert.truthy(core.RT_TABLE_MAIN > 0 and core.TIOCSTI > 0 and core.TIOCLINUX > 0)
  end)

  it("probes system calls", function()
    assert.is_true(core.has_syscall("clone3"))
    assert.has_error(function() core.has_syscall("frob") end)
  end)
end)

describe("lunshare.core processes #unit", function()
  it("closes fds in a child but the kept ones, and reports the exit code", function()
    local keep = io.open("/dev/null")
    local pid, pidfd = core.clone({})
    if pid == 0 then
      local h = core.ns_open(0, "net")
      local n = h:fileno()
      core.close_fds({})
      local f = io.open("/proc/self/fd/" .. n)
      core._exit(f and 1 or 0)
    end
    local code = core.wait(pidfd)
    keep:close()
    assert.equal(0, code)
  end)

  it("kills through a pidfd and reports 128+N", function()
    local pid, pidfd = core.clone({})
    if pid == 0 then
      core.exec({ "sleep", "30" }, { "PATH=/usr/bin:/bin" })
      core._exit(1)
    end
    assert.is_false(core.wait(pidfd, true))
    assert.is_true(core.kill(pidfd, core.signum("TERM")))
    assert.equal(143, core.wait(pidfd))
  end)

  it("exec without an environment keeps this one's, and a failure returns", function()
    local ok, msg, errno = core.exec({ "/nonexistent/lsh-no-such-command" })
    assert.is_nil(ok)
    assert.equal("exec /nonexistent/lsh-no-such-command: No such file or directory", msg)
    assert.equal(2, errno)
    local pid, pidfd = core.clone({})
    if pid == 0 then
      core.exec({ "sh", "-c", 'test -n "$PATH"' })
      core._exit(1)
    end
    assert.equal(0, core.wait(pidfd))
  end)
end)
