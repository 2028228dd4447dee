-- The security area: checking capabilities, no_new_privs, seccomp and limits, and the
-- steps they plan. #unit
local profile = require "lunshare.profile"
local schema = require "lunshare.schema"
local security = require "lunshare.security"
local planner = require "lunshare.plan"
local explain = require "lunshare.explain"

local errors_of = require "profile_errors"

local ctx = {
  ids = { uid = 1000, gid = 1000, user = "alice" }, environ = {},
  subid = function() return false end,
}

local function plan_of(p)
  local plan, err = planner.build(p, ctx)
  assert(plan, err)
  return plan
end

local function find(plan, op)
  for _, s in ipairs(plan.steps) do if s.op == op then return s end end
end

local function ops(plan)
  local t = {}
  for _, s in ipairs(plan.steps) do t[#t + 1] = s.op end
  return t
end

local function tmpfile(text)
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
  return path
end

describe("security check #unit", function()
  it("accepts capability names with or without CAP_, in any case", function()
    assert.same({}, errors_of("return { namespaces = { 'user' }, capabilities = { 'net_bind_service', 'CAP_NET_RAW' } }"))
  end)

  it("suggests the nearest capability for a misspelt one", function()
    local e = errors_of("return {\n capabilities = { 'net_bind_servce' } }")
    assert.equal("t.lua:2: capabilities[1]: unknown capability 'net_bind_servce' (did you mean " ..
      "'net_bind_service'?); names are those of capabilities(7), with or without CAP_", e[1])
    e = errors_of("return { capabilities = { 'CAP_SYS_ADMN' } }")
    assert.truthy(e[1]:find("did you mean 'CAP_SYS_ADMIN'", 1, true), e[1])
  end)

  it("wants booleans for no_new_privs and terminal", function()
    local e = errors_of("return { no_new_privs = 'no', terminal = 1 }")
    assert.equal(2, #e)
    assert.truthy(e[1]:find("no_new_privs: expected a boolean, got string", 1, true), e[1])
    assert.truthy(e[2]:find("terminal: expected a boolean, got number", 1, true), e[2])
  end)

  it("refuses no_new_privs = false with a seccomp filter unless sys_admin is kept", function()
    local e = errors_of("return { no_new_privs = false }")
    assert.equal(1, #e)
    assert.truthy(e[1]:find("keep \"sys_admin\" in capabilities or set seccomp = false", 1, true), e[1])
    assert.same({}, errors_of("return { no_new_privs = false, seccomp = false }"))
    assert.same({}, errors_of("return { no_new_privs = false, capabilities = { 'sys_admin' } }"))
  end)

  it("refuses no_new_privs = false with a writable bind and no filter unless sys_admin or allow_setid_files", function()
    local b = "mounts = { bind('/srv', '/w') }, namespaces = { 'user', 'mount' }"
    local e = errors_of("return { no_new_privs = false, seccomp = false, " .. b .. " }")
    assert.equal(1, #e)
    assert.truthy(e[1]:find("@setid-files seccomp rules are loaded even with seccomp = false", 1, true), e[1])
    assert.same({}, errors_of("return { no_new_privs = false, seccomp = false, allow_setid_files = true, " .. b .. " }"))
    assert.same({}, errors_of("return { no_new_privs = false, seccomp = false, capabilities = { 'sys_admin' }, " .. b .. " }"))
  end)

  it("checks seccomp fields, syscall names and errnos, with suggestions", function()
    assert.same({}, errors_of("return { seccomp = { allow = { 'ptrace', '@mount' }, deny = { 'chown', fchown = 'EACCES' }, kill = { 'bpf' } } }"))
    local e = errors_of("return { seccomp = { alow = {} } }")
    assert.truthy(e[1]:find("seccomp.alow: unknown field (did you mean 'allow'?)", 1, true), e[1])
    e = errors_of("return { seccomp = { deny = { 'ptrac' } } }")
    assert.truthy(e[1]:find("seccomp.deny[1]: unknown system call 'ptrac' (did you mean 'ptrace'?)", 1, true), e[1])
    e = errors_of("return { seccomp = { deny = { chown = 'EPRM' } } }")
    assert.truthy(e[1]:find("seccomp.deny.chown: expected an errno name", 1, true), e[1])
    assert.truthy(e[1]:find("did you mean 'EPERM'", 1, true), e[1])
    e = errors_of("return { seccomp = { allow = { '@mnt' } } }")
    assert.truthy(e[1]:find("unknown group '@mnt'", 1, true), e[1])
  end)

  it("checks a rules file line by line, and stops at its first error", function()
    local good = tmpfile("# comment\ndeny:EACCES chown\nkill bpf\nallow ptrace\ndeny ioctl a1&0xffffffff==0x5413\n")
    assert.same({}, errors_of("return { seccomp = { file = '" .. good .. "' } }"))
    local bad = tmpfile("deny chown\nforbid ptrace\ndeny nosuchcall\n")
    local e = errors_of("return { seccomp = { file = '" .. bad .. "' } }")
    -- One error: a list would tell how many lines (and which) a file that is not a rules
    -- file has (seccomp.file = "/etc/shadow").
    assert.equal(1, #e)
    -- The line and what was expected; never the rule's words.
    assert.truthy(e[1]:find(bad .. ":2: unknown action; expected allow, deny[:ERRNO], kill or log", 1, true), e[1])
    assert.falsy(e[1]:find("forbid", 1, true))
    local later = tmpfile("deny chown\ndeny nosuchcall\n")
    e = errors_of("return { seccomp = { file = '" .. later .. "' } }")
    assert.equal(1, #e)
    assert.truthy(e[1]:find(later .. ":2: unknown system call; expected a name as in syscalls(2)", 1, true), e[1])
    assert.falsy(e[1]:find("nosuchcall", 1, true))
    os.remove(good)
    os.remove(bad)
    os.remove(later)
  end)

  it("checks limits: names, units, soft above hard", function()
    assert.same({}, errors_of("return { limits = { nofile = 1024, as = '512M', cpu = '1h', RLIMIT_CORE = 0, " ..
      "stack = { soft = '8M', hard = 'unlimited' }, rttime = '500ms', memory = '256M', pids = 64, cpus = 0.5 } }"))
    local e = errors_of("return { limits = { nofiles = 10 } }")
    assert.truthy(e[1]:find("limits.nofiles: unknown limit (did you mean 'nofile'?)", 1, true), e[1])
    e = errors_of("return { limits = { as = '512Q' } }")
    assert.truthy(e[1]:find("expected a size like \"512M\"", 1, true), e[1])
    e = errors_of("return { limits = { cpu = 'an hour' } }")
    assert.truthy(e[1]:find("expected a duration", 1, true), e[1])
    e = errors_of("return { limits = { nofile = { soft = 100, hard = 10 } } }")
    assert.truthy(e[1]:find("soft limit is above the hard limit", 1, true), e[1])
    e = errors_of("return { limits = { cpus = 0 } }")
    assert.truthy(e[1]:find("limits.cpus: expected a number of CPUs", 1, true), e[1])
  end)

  it("parses units", function()
    assert.equal(512 * 1024 * 1024, security.parse_value("512M", "size"))
    assert.equal(4096, security.parse_value("4k", "size"))
    assert.equal(1024 ^ 3 // 1, security.parse_value("1GiB", "size"))
    assert.equal(3600, security.parse_value("1h", "seconds"))
    assert.equal(5400, security.parse_value("1h30m", "seconds"))
    assert.equal(500000, security.parse_value("500ms", "microseconds"))
    assert.equal(-1, security.parse_value("unlimited", "count"))
  end)

  it("warns about what a profile loosens, from what it grants", function()
    local grants = require "lunshare.grants"
    local root = { ids = { uid = 0, gid = 0, euid = 0 }, subid = function() end }
    local w = grants.warnings({ namespaces = { "user", "mount", "pid", "net" }, mounts = {}, no_new_privs = false,
      seccomp = false, user = { map = "host_root" }, terminal = true, capabilities = { "sys_admin" } }, root)
    local paths = {}
    for _, x in ipairs(w) do paths[#paths + 1] = x.path end
    assert.same({ "user.map", "seccomp", "seccomp", "no_new_privs", "capabilities[1]" }, paths)
    assert.same({}, grants.warnings({ namespaces = { "user", "mount", "pid", "net" }, mounts = {} }, root))
  end)
end)

describe("security plan #unit", function()
  it("secures a profile with a user namespace without it asking", function()
    local plan = plan_of({ namespaces = { "user", "pid" } })
    local o = table.concat(ops(plan), " ")
    assert.truthy(o:find("setsid session_keyring", 1, true), o)
    assert.truthy(o:find("caps no_new_privs seccomp exec$"), o)
    local caps = find(plan, "caps")
    assert.same({}, caps.keep)
    assert.is_true(caps.lock_securebits)
    assert.truthy(explain.step(find(plan, "no_new_privs")):find("setpriv --no-new-privs", 1, true))
    local rules = find(plan, "seccomp").rules
    assert.truthy(#rules >= 30)
    assert.truthy(require("lunshare.util").contains(rules, "errno:1 ioctl a1&0xffffffff==0x5412"))
    assert.truthy(require("lunshare.util").contains(rules, "errno:38 clone3"))
  end)

  it("orders the child's privileges last: caps, then no_new_privs, then seccomp", function()
    local o = ops(plan_of({ namespaces = { "user" }, limits = { nofile = 64 } }))
    local pos = {}
    for i, op in ipairs(o) do pos[op] = i end
    assert.truthy(pos.rlimit < pos.caps and pos.caps < pos.no_new_privs and pos.no_new_privs < pos.seccomp)
    assert.equal(#o - 1, pos.seccomp)
  end)

  it("keeps the named capabilities, normalized, and explains with capsh", function()
    local caps = find(plan_of({ namespaces = { "user" }, capabilities = { "CAP_NET_BIND_SERVICE", "net_raw" } }), "caps")
    assert.same({ "cap_net_bind_service", "cap_net_raw" }, caps.keep)
    assert.truthy(explain.step(caps):find("capsh --secbits=0xf --drop=all --keep=cap_net_bind_service,cap_net_raw", 1, true))
  end)

  it("opens ping to the sandbox's group in its own network namespace, and never in one it joins", function()
    local own = find(plan_of({ namespaces = { "user", "net" }, user = { gid = 7 } }), "sysctl")
    assert.equal("net.ipv4.ping_group_range", own.name)
    assert.equal("7 7", own.value)
    -- Before the mounts (and any lock of them), with the other early steps.
    local o = ops(plan_of({ namespaces = { "user", "net", "mount" }, capabilities = { "sys_admin" },
      mounts = { { kind = "proc", dst = "/proc" } } }))
    local pos = {}
    for i, op in ipairs(o) do pos[op] = pos[op] or i end
    assert.truthy(pos.sysctl and pos.sysctl < pos.rootfs and pos.rootfs < pos.lock_mounts, table.concat(o, " "))
    -- A joined netns is someone else's: no sysctl in it, with or without a user namespace.
    local root = { ids = { uid = 0, gid = 0, user = "root" }, environ = {}, subid = function() return false end }
    assert.is_nil(find(assert(planner.build({ namespaces = { "net", "mount" }, network = { join = "netns1" } }, root)),
      "sysctl"))
    assert.is_nil(find(assert(planner.build({ namespaces = { "user", "net", "mount" }, network = { join = "netns1" } },
      root)), "sysctl"))
    assert.is_nil(find(plan_of({ namespaces = { "user", "pid" }, network = "host" }), "sysctl"))
  end)

  it("drops no capabilities where the caller has none to drop", function()
    assert.is_nil(find(plan_of({ namespaces = {} }), "caps"))
  end)

  it("keeps the terminal's session only when asked", function()
    assert.is_nil(find(plan_of({ namespaces = { "user" }, terminal = true }), "setsid"))
  end)

  it("turns no_new_privs and seccomp off only when the profile says so", function()
    local plan = plan_of({ namespaces = { "user" }, no_new_privs = false, seccomp = false })
    assert.is_nil(find(plan, "no_new_privs"))
    assert.is_nil(find(plan, "seccomp"))
  end)

  it("lifts default rules by name or group, and adds the profile's own", function()
    local s = find(plan_of({ namespaces = { "user" }, seccomp = { allow = { "ptrace", "@mount" },
      deny = { "chown", fchown = "EACCES" }, kill = { "bpf" } } }), "seccomp")
    local util = require "lunshare.util"
    assert.falsy(util.contains(s.rules, "errno:1 ptrace"))
    assert.falsy(util.contains(s.rules, "errno:1 mount"))
    assert.truthy(util.contains(s.rules, "errno:1 chown"))
    assert.truthy(util.contains(s.rules, "errno:13 fchown"))
    assert.truthy(util.contains(s.rules, "kill bpf"))
    assert.falsy(util.contains(s.rules, "errno:1 bpf"))
    assert.truthy(explain.step(s):find("kill          bpf", 1, true), explain.step(s))
  end)

  -- @setid-files (issue 10): with a writable host path, whatever the profile's filter.
  local function setid_rules(rules)
    local n = 0
    for _, r in ipairs(rules or {}) do
      if r:find("^errno:%d+ chmod a1&") or r:find("^errno:%d+ openat a2&") or r == "errno:" ..
        security.ERRNO.ENOSYS .. " openat2" then n = n + 1 end
    end
    return n
  end
  local bind = { kind = "bind", src = "/srv/proj", dst = "/w" }
  local ro = { kind = "ro_bind", src = "/srv/proj", dst = "/w" }
  local function with(mounts, extra)
    local p = { namespaces = { "user", "mount" }, mounts = mounts, capabilities = { "fsetid", "setfcap", "chown" } }
    for k, v in pairs(extra or {}) do p[k] = v end
    return p
  end

  it("adds the @setid-files rules and drops fsetid and setfcap with a writable host path", function()
    for _, extra in ipairs({ {}, { seccomp = false }, { seccomp = { default = false, deny = { "ptrace" } } },
        { seccomp = { allow = { "@setid-files" } } } }) do
      local plan = plan_of(with({ bind }, extra))
      local s = find(plan, "seccomp")
      assert.truthy(s, "no seccomp step")
      -- chmod S_ISUID and S_ISGID, openat O_CREAT and O_TMPFILE each with both, openat2
      assert.equal(7, setid_rules(s.rules), table.concat(s.rules, "\n"))
      -- io_uring's openat takes a mode the filter never sees
      assert.truthy(require("lunshare.util").contains(s.rules, "errno:1 io_uring_setup"), table.concat(s.rules, "\n"))
      assert.same({ "cap_chown" }, find(plan, "caps").keep)
    end
    local over = plan_of(with({ { kind = "overlay", dst = "/o", lower = { "/srv" }, upper = "/srv/u", work = "/srv/w" } },
      { seccomp = false }))
    assert.equal(7, setid_rules(find(over, "seccomp").rules))
  end)

  it("leaves the profile's filter and capabilities as they are without a writable host path or with allow_setid_files",
    function()
    local plan = plan_of(with({ ro }, { seccomp = false }))
    assert.is_nil(find(plan, "seccomp"))
    assert.same({ "cap_fsetid", "cap_setfcap", "cap_chown" }, find(plan, "caps").keep)
    plan = plan_of(with({ bind }, { seccomp = false, allow_setid_files = true }))
    assert.is_nil(find(plan, "seccomp"))
    assert.same({ "cap_fsetid", "cap_setfcap", "cap_chown" }, find(plan, "caps").keep)
    -- and the default filter's own @setid-files rules go too
    assert.equal(0, setid_rules(find(plan_of(with({ bind }, { allow_setid_files = true })), "seccomp").rules))
    assert.equal(7, setid_rules(find(plan_of(with({ ro })), "seccomp").rules))
  end)

  it("reads rules from a file and lists them in explain", function()
    local f = tmpfile("deny:EACCES chown\nkill getppid\n")
    local s = find(plan_of({ namespaces = { "user" }, seccomp = { default = false, file = f } }), "seccomp")
    assert.same({ "errno:13 chown", "kill getppid" }, s.rules)
    assert.truthy(explain.step(s):find("deny EACCES   chown", 1, true), explain.step(s))
    os.remove(f)
  end)

  it("plans rlimits with units as prlimit would", function()
    local plan = plan_of({ namespaces = { "user" }, limits = { nofile = { soft = 64, hard = 128 }, as = "512M", cpu = "1m" } })
    local rl = {}
    for _, s in ipairs(plan.steps) do if s.op == "rlimit" then rl[s.resource] = s end end
    assert.same({ 64, 128 }, { rl.nofile.soft, rl.nofile.hard })
    assert.equal("prlimit --nofile=64:128", explain.step(rl.nofile))
    assert.equal(512 * 1024 * 1024, rl.as.soft)
    assert.equal(60, rl.cpu.hard)
  end)

  it("plans a cgroup before the clone and its placement before go", function()
    local plan = plan_of({ namespaces = { "user" }, limits = { memory = "64M", pids = 32, cpus = 0.5 } })
    local o = ops(plan)
    assert.equal("cgroup", o[1])
    local cg = find(plan, "cgroup")
    assert.same({ 64 * 1024 * 1024, 32, 50000, 100000 }, { cg.memory, cg.pids, cg.cpu_quota, cg.cpu_period })
    assert.equal("supervisor", find(plan, "cgroup_enter").where)
  end)

  it("every step it makes is one the executor knows, with known fields", function()
    local core = require "lunshare.core"
    local plan = plan_of({ namespaces = { "user", "pid" }, capabilities = { "chown" },
      limits = { nofile = 10, memory = "1G" }, seccomp = { kill = { "bpf" } } })
    assert.is_true(core.plan_check(plan))
  end)
end)

describe("security primitives in lunshare.core #unit", function()
  local core = require "lunshare.core"

  it("names capabilities, rlimits and system calls", function()
    assert.equal(10, core.cap_number("net_bind_service"))
    assert.equal(10, core.cap_number("CAP_NET_BIND_SERVICE"))
    assert.is_nil(core.cap_number("net_bind_servce"))
    assert.equal(7, core.rlimit_number("nofile"))
    assert.is_nil(core.rlimit_number("nofiles"))
    assert.truthy(core.seccomp_syscall("ptrace"))
    assert.truthy(require("lunshare.util").contains(core.seccomp_syscalls(), "open_by_handle_at"))
  end)

  it("checks seccomp rules, failing like the io library", function()
    assert.is_true(core.seccomp_check({ "errno:1 ptrace", "kill bpf", "errno:1 ioctl a1&0xffffffff==0x5412" }))
    local ok, msg, errno = core.seccomp_check({ "errno:1 ptrace", "errno:1 ptrac" })
    assert.is_nil(ok)
    assert.equal("seccomp rule \"errno:1 ptrac\": unknown system call \"ptrac\"", msg)
    assert.equal(22, errno)
    assert.has_error(function() core.seccomp_check({ 1 }) end)
  end)

  it("refuses unknown fields of cgroup limits and bad names", function()
    assert.has_error(function() core.cgroup_create("x", { memroy = 1 }) end)
    local cg, msg = core.cgroup_create("a/b", {})
    assert.is_nil(cg)
    assert.truthy(msg:find("bad name", 1, true))
  end)
end)
