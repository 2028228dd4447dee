-- The mounts area: constructors give plain data, check() gives precise errors, plan()
-- orders the steps and explains each one as a command. #unit
local profile = require "lunshare.profile"
local schema = require "lunshare.schema"
local planner = require "lunshare.plan"
local mounts = require "lunshare.mounts"
local explain = require "lunshare.explain"

local errors_of = require "profile_errors"

local NS = 'namespaces = { "user", "mount", "pid", "ipc" },\n'

local ctx = { ids = { uid = 1000, gid = 1000, user = "alice" }, environ = {}, subid = function() end }

local function plan_of(src)
  local p = assert(profile.evaluate(src, "t.lua"))
  assert.same({}, schema.check(p, "t.lua", src))
  p._file, p._source = "t.lua", src
  return assert(planner.build(p, ctx))
end

local function mount_steps(plan)
  local out = {}
  for _, s in ipairs(plan.steps) do
    if mounts.KINDS[s.op] or s.op == "bind" or s.op == "rootfs" or s.op == "pivot" then out[#out + 1] = s end
  end
  return out
end

describe("mounts #unit", function()
  it("constructors return plain data", function()
    local v = profile.evaluate([[return { ro_bind "/usr", bind("/a", "/b"), tmpfs { "/tmp", size = "64M" },
      symlink("usr/bin", "/bin"), file("/etc/x", "hi"), bind_try "/opt", overlay { "/o", lower = { "/l" } } }]], "t.lua")
    for _, m in ipairs(v) do
      for k, x in pairs(m) do
        assert.truthy(type(x) ~= "function" and type(x) ~= "userdata", k)
        assert.is_nil(getmetatable(m))
      end
      m._line = nil
    end
    assert.same({ kind = "ro_bind", src = "/usr" }, v[1])
    assert.same({ kind = "bind", src = "/a", dst = "/b" }, v[2])
    assert.same({ kind = "tmpfs", dst = "/tmp", size = "64M" }, v[3])
    assert.same({ kind = "symlink", target = "usr/bin", dst = "/bin" }, v[4])
    assert.same({ kind = "file", dst = "/etc/x", content = "hi" }, v[5])
    assert.same({ kind = "bind", src = "/opt", optional = true }, v[6])
    assert.same({ kind = "overlay", dst = "/o", lower = { "/l" } }, v[7])
  end)

  it("rejects a relative target, naming the line of the mount", function()
    assert.same({ "t.lua:3: mounts[2].dst: expected an absolute path inside the sandbox, got 'tmp'" },
      errors_of("return { " .. NS .. "mounts = { proc '/proc',\n tmpfs 'tmp' } }"))
  end)

  it("rejects '..' in paths", function()
    assert.same({ "t.lua:2: mounts[1].src: '..' is not allowed in a host path ('/usr/../etc')" },
      errors_of("return { " .. NS .. "mounts = { ro_bind '/usr/../etc' } }"))
  end)

  it("rejects '/' as a target, and cleans doubled and trailing slashes", function()
    assert.same({ "t.lua:2: mounts[1].dst: '/' is the new root itself; set its tmpfs with the root field" },
      errors_of("return { " .. NS .. "mounts = { tmpfs '/' } }"))
    local plan = plan_of("return { " .. NS .. "mounts = { bind('//srv//x/', '/data//y/') } }")
    local s = mount_steps(plan)[2]
    assert.same({ "/srv/x", "/data/y" }, { s.src, s.dst })
    assert.equal("mount --rbind -o nosuid,nodev /srv/x /newroot/data/y", explain.step(s))
  end)

  it("orders a target by its depth once cleaned: /h/./. goes before a tmpfs on /h/.ssh", function()
    -- Ordered by the raw path, "/h/./." (3 parts) went after "/h/.ssh" (2) and covered the
    -- tmpfs that hides what the bind shows.
    local out = mounts.ordered({ { kind = "tmpfs", dst = "/h/.ssh" }, { kind = "bind", src = "/srv", dst = "/h/./." } })
    assert.same({ "bind", "tmpfs" }, { out[1].kind, out[2].kind })
  end)

  it("rejects an unknown kind with a suggestion", function()
    local e = errors_of("return { " .. NS .. "mounts = { { kind = 'ro_bnd', src = '/usr' } } }")
    assert.equal(1, #e)
    assert.truthy(e[1]:find("mounts%[1%]%.kind: unknown mount kind 'ro_bnd' %(did you mean 'ro_bind'%?%); expected one of bind, dev, "), e[1])
  end)

  it("rejects a missing required field and an unknown one", function()
    assert.same({ "t.lua:2: mounts[1].target: missing required field 'target' of a symlink mount" },
      errors_of("return { " .. NS .. "mounts = { { kind = 'symlink', dst = '/x' } } }"))
    local e = errors_of("return { " .. NS .. "mounts = { tmpfs { '/t', sise = '1M' } } }")
    assert.equal(1, #e)
    assert.truthy(e[1]:find("mounts%[1%]%.sise: unknown field %(did you mean 'size'%?%)"), e[1])
  end)

  it("rejects mounts without the mount namespace", function()
    assert.same({ "t.lua:1: mounts: mounts need the mount namespace (add \"mount\" to namespaces)" },
      errors_of("return { mounts = { tmpfs '/tmp' } }"))
  end)

  it("checks modes, sizes and overlay fields", function()
    local e = errors_of("return { " .. NS .. "mounts = {\n dir { '/d', mode = 755 },\n tmpfs { '/t', size = 'big' },\n" ..
      " overlay { '/o', lower = { '/a:b' }, upper = '/u' } } }")
    assert.same({
      "t.lua:3: mounts[1].mode: expected an octal mode string like \"0755\", got number",
      "t.lua:4: mounts[2].size: expected a size like \"64M\", \"1G\" or \"10%\", got 'big'",
      "t.lua:5: mounts[3].lower[1]: overlay paths may not contain ':' or ','",
      "t.lua:5: mounts[3].work: upper and work go together (both on the same host filesystem)",
    }, e)
  end)

  it("needs a pid namespace for proc and an ipc namespace for mqueue", function()
    local e = errors_of("return { namespaces = { 'user', 'mount' }, mounts = { proc '/proc', mqueue '/m' } }")
    assert.same({
      "t.lua:1: mounts[1]: a fresh proc needs the pid namespace (add \"pid\" to namespaces)",
      "t.lua:1: mounts[2]: an mqueue mount needs the ipc namespace (add \"ipc\" to namespaces)",
    }, e)
  end)

  it("checks the root field", function()
    assert.same({ "t.lua:2: root.readonly: expected a boolean, got string" },
      errors_of("return { " .. NS .. "root = { readonly = 'yes' }, mounts = {} }"))
  end)

  it("plans parents before children, stable, with read-only remounts last", function()
    local plan = plan_of("return { " .. NS .. [[mounts = {
      remount_ro "/a",
      tmpfs "/a/b/c", tmpfs "/a", bind("/x", "/a/b"), dir "/z", symlink("t", "/a/l") } }]])
    local got = {}
    for _, s in ipairs(mount_steps(plan)) do got[#got + 1] = s.op .. " " .. (s.dst or "") end
    assert.same({ "rootfs ", "tmpfs /a", "dir /z", "bind /a/b", "symlink /a/l", "tmpfs /a/b/c",
      "remount_ro /a", "pivot " }, got)
  end)

  it("explains each mount as the command a person would type", function()
    local plan = plan_of("return { " .. NS .. [[root = { readonly = true, size = "10M" }, mounts = {
      ro_bind "/usr", dev_bind("/dev/dri", "/dev/dri"), bind_try("/srv/x y", "/data"),
      tmpfs { "/tmp", size = "64M", mode = "1777" }, mqueue "/dev/mqueue",
      overlay { "/o", lower = { "/a", "/b" }, upper = "/u", work = "/w" },
      dir { "/d", mode = "0700" }, file { "/f", content = "a\nb", mode = "0600" }, remount_ro "/tmp" } }]])
    local ex = {}
    for _, s in ipairs(mount_steps(plan)) do ex[#ex + 1] = explain.step(s) end
    assert.same({
      -- rootfs shows the scratch tmpfs it pivots through as well as the new root
      "mount --make-rprivate / && mount -t tmpfs -o nosuid,nodev,mode=0700 tmpfs /tmp && cd /tmp && " ..
        "mkdir newroot oldroot && pivot_root . oldroot && cd / && " ..
        "mount -t tmpfs -o nosuid,nodev,mode=0755,size=10M tmpfs /newroot",
      "mount --rbind -o ro=recursive,nosuid,nodev /usr /newroot/usr",
      "[ -e '/srv/x y' ] && mount --rbind -o nosuid,nodev '/srv/x y' /newroot/data",
      "mount -t tmpfs -o nosuid,nodev,mode=1777,size=64M tmpfs /newroot/tmp",
      "mount -t overlay -o lowerdir=/a:/b,upperdir=/u,workdir=/w overlay /newroot/o",
      "mkdir -p -m 0700 /newroot/d",
      "printf 'a\\nb' > /newroot/f && chmod 0600 /newroot/f",
      "mount --rbind -o nosuid /dev/dri /newroot/dev/dri",
      "mount -t mqueue -o nosuid,nodev,noexec mqueue /newroot/dev/mqueue",
      "mount -o remount,bind,ro=recursive /newroot/tmp",
      "mount -o remount,bind,ro /newroot && cd /newroot && pivot_root . . && umount -l .",
    }, ex)
  end)

  it("gives each step the profile line of its mount", function()
    local file = os.tmpname() .. ".lua"
    local f = assert(io.open(file, "w"))
    f:write("return { " .. NS .. "mounts = {\n  tmpfs '/tmp',\n\n  proc '/proc' } }")
    f:close()
    local p = assert(profile.load(file))
    local plan = assert(planner.build(p, ctx))
    os.remove(file)
    local o = {}
    for _, s in ipairs(plan.steps) do o[s.op] = s.origin end
    assert.equal(file .. ":3", o.tmpfs)
    assert.equal(file .. ":5", o.proc)
  end)

  it("converts modes to integers and bind kinds to flags for the executor", function()
    local plan = plan_of("return { " .. NS .. "mounts = { dir { '/d', mode = '0750' }, ro_bind_try '/x', dev_bind '/dev/y' } }")
    local s = mount_steps(plan)
    assert.equal(tonumber("750", 8), s[2].mode)
    assert.same({ true, false, true }, { s[3].readonly, s[3].dev, s[3].optional })
    assert.same({ false, true, false }, { s[4].readonly, s[4].dev, s[4].optional })
  end)

  it("only makes mounts private when there is a mount namespace but no mounts", function()
    local plan = plan_of("return { namespaces = { 'user', 'mount' } }")
    local found
    for _, s in ipairs(plan.steps) do if s.op == "mount_private" then found = s end end
    assert.equal("/", found.path)
    assert.equal("mount --make-rprivate /", explain.step(found))
  end)

  it("locks the mounts among the privilege steps when the profile keeps sys_admin", function()
    local plan = plan_of("return { " .. NS .. "mounts = { proc '/p//', tmpfs '/tmp' } }")
    for _, s in ipairs(plan.steps) do assert.not_equal("lock_mounts", s.op) end
    plan = plan_of("return { " .. NS .. "capabilities = { 'CAP_SYS_ADMIN' }, mounts = { proc '/p//', tmpfs '/tmp' } }")
    local lock, pivot_at, lock_at
    for i, s in ipairs(plan.steps) do
      if s.op == "lock_mounts" then lock, lock_at = s, i end
      if s.op == "pivot" then pivot_at = i end
    end
    assert.equal("/p", lock.proc)
    assert.truthy(lock_at > pivot_at)
    assert.equal("exec", plan.steps[#plan.steps].op)
    plan = plan_of("return { namespaces = { 'user', 'mount' }, capabilities = { 'sys_admin' }, mounts = { tmpfs '/tmp' } }")
    for _, s in ipairs(plan.steps) do assert.not_equal("lock_mounts", s.op) end
  end)

  it("names the read-only entries of a fresh /proc and the nodes of a fresh /dev: core has no list", function()
    local plan = plan_of("return { " .. NS .. "mounts = { proc '/proc', dev '/dev' } }")
    local steps = {}
    for _, s in ipairs(plan.steps) do steps[s.op] = s end
    assert.same({ "sys", "sysrq-trigger", "irq", "bus" }, steps.proc.readonly)
    assert.same({ "null", "zero", "full", "random", "urandom", "tty" }, steps.dev.nodes)
    -- The executor needs both lists: a plan without them is refused.
    local core = require "lunshare.core"
    steps.proc.readonly = nil
    local ok, msg = core.plan_check(plan)
    assert.is_nil(ok)
    assert.truthy(msg:find("(proc): missing field readonly", 1, true), msg)
  end)

  it("passes the plan the C executor's own field check", function()
    local core = require "lunshare.core"
    local p = assert(profile.evaluate(assert(io.open("profiles/default.lua")):read("a"), "default.lua"))
    local plan = assert(planner.build(p, ctx))
    assert.is_true(core.plan_check(plan))
  end)
end)

describe("mounts grants #unit", function()
  local function texts(items)
    local t = {}
    for i, x in ipairs(items) do t[i] = x.text end
    return t
  end

  it("says which host paths a profile shows and which it lets the sandbox write", function()
    local m = require "lunshare.mounts"
    local p = { namespaces = { "mount" }, mounts = {
      { kind = "ro_bind", src = "/usr", dst = "/usr" },
      { kind = "bind", src = "/srv/data/", dst = "/data" },
      { kind = "dev_bind", src = "/dev/kvm", dst = "/dev/kvm", optional = true },
      { kind = "tmpfs", dst = "/tmp" },
      { kind = "overlay", dst = "/opt", lower = { "/opt" }, upper = "/var/up", work = "/var/work" },
    } }
    local g = m.grants(p, require("lunshare.areas").context(p))
    assert.same({ "/data from the host's /srv/data", "/dev/kvm from the host's /dev/kvm (if it exists)",
      "/opt from the host's /opt (overlay)", "/usr from the host's /usr" }, texts(g.visible))
    assert.same({ "/data from the host's /srv/data", "/dev/kvm from the host's /dev/kvm (if it exists), devices usable",
      "/opt into the host's /var/up" }, texts(g.writable))
    assert.same({ "/dev/kvm from the host's /dev/kvm (if it exists)" }, texts(g.devices))
    assert.same({ "/tmp (tmpfs)" }, texts(g.made))
    -- Each item names the entry it came from, and the host paths it reaches, one spelling each.
    assert.same({ "/srv/data" }, g.writable[1].srcs)
    assert.equal("mounts[2]", g.writable[1].path)
    assert.same({ "/var/up", "/var/work" }, g.writable[3].srcs)
  end)

  it("sees the host's whole tree without a mount namespace or without mounts", function()
    local m = require "lunshare.mounts"
    for _, p in ipairs({ {}, { namespaces = { "mount" } } }) do
      local g = m.grants(p, require("lunshare.areas").context(p))
      assert.same({ "/" }, g.writable[1].srcs)
      assert.same({ "/dev" }, g.devices[1].srcs)
    end
  end)
end)
