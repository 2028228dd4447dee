-- The filesystem view: each case runs as root and as nobody, looks from inside at what the
-- sandbox sees, and from outside at what the host kept. #integration
local H = require "helpers"

local function slurp(cmd) return H.sh(cmd).out end

-- A scratch directory on the host that nobody may write to, removed by the caller.
local function scratch() return H.tmpdir("777") end

local rmrf = H.rm

local EROFS = "Read%-only file system"

-- The merged-/usr basics every profile below starts from.
local BASE = [[
    ro_bind "/usr", symlink("usr/bin", "/bin"), symlink("usr/lib", "/lib"),
    symlink("usr/lib64", "/lib64"), symlink("usr/sbin", "/sbin"),
]]

local function profile(mounts, extra)
  return H.profile("return {\n  namespaces = { \"user\", \"mount\", \"pid\", \"ipc\" },\n" ..
    (extra or "") .. "  mounts = {\n" .. BASE .. mounts .. "\n  },\n}\n")
end

for _, mode in ipairs(H.modes) do
  describe("mounts (" .. mode .. ")", function()
    local function run(args, opts)
      opts = opts or {}
      opts.mode = mode
      return H.lunshare(args, opts)
    end

    it("gives the default profile its own root and nothing of the host's", function()
      local r = run({ "run", "default", "--", "sh", "-c", "ls -A /; id -un; echo $HOME; pwd; hostname" })
      assert.equal(0, r.code, r.err)
      assert.equal("bin\ndev\netc\nlib\nlib64\nproc\nsbin\ntmp\nusr\nroot\n/tmp\n/\nlunshare\n", r.out)
      for _, hidden in ipairs({ "/home", "/root", "/var", "/run", "/work", "/mnt", "/opt", "/srv" }) do
        local h = run({ "run", "default", "--", "test", "-e", hidden })
        assert.equal(1, h.code, hidden .. " is visible")
      end
    end)

    it("keeps the README's first command working", function()
      local r = run({ "run", "default", "--", "sh", "-c", "id; hostname; ls /" })
      assert.equal(0, r.code, r.err)
      assert.truthy(r.out:find("^uid=0%(root%) gid=0%(root%)"), r.out)
      assert.truthy(r.out:find("\nlunshare\n"), r.out)
    end)

    it("makes read-only binds read-only all the way down, submounts included", function()
      -- The host's /dev has submounts (/dev/shm, /dev/pts) that are writable there.
      local name = "lsh-erofs-" .. mode .. "-" .. H.RUN
      -- Removed whatever the outcome: a write that got through must not fail later runs.
      finally(function() os.remove("/dev/shm/" .. name) end)
      local p = profile('    ro_bind("/dev", "/hostdev"), tmpfs "/tmp",')
      local r = run({ "run", p, "--", "sh", "-c",
        "touch /usr/lsh-x 2>&1; touch /hostdev/shm/" .. name .. " 2>&1; touch /hostdev/lsh-x 2>&1; " ..
        "touch /tmp/ok && echo tmp-writable" })
      assert.equal(0, r.code, r.err)
      local n = 0
      for _ in r.out:gmatch(EROFS) do n = n + 1 end
      assert.equal(3, n, r.out)
      assert.truthy(r.out:find("tmp%-writable"), r.out)
      assert.falsy(io.open("/dev/shm/" .. name), "the write reached the host")
    end)

    it("locks the mounts: root inside cannot make a read-only bind writable or remove it", function()
      local r = run({ "run", "default", "--", "sh", "-c",
        "mount -o remount,bind,rw /usr 2>&1; mount -o remount,rw / 2>&1; umount -l /usr 2>&1; " ..
        "touch /usr/lsh-x 2>&1; grep -c ' /usr ro,' /proc/self/mountinfo; id -u" })
      assert.equal(0, r.code, r.err)
      local l = H.lines(r.out)
      assert.truthy(r.out:find("mount: /usr: permission denied"), r.out)
      assert.truthy(r.out:find(EROFS), r.out)
      assert.equal("1", l[#l - 1])
      assert.equal("0", l[#l])
      assert.falsy(io.open("/usr/lsh-x"), "the write reached the host")
    end)

    it("locks the mounts when the profile keeps sys_admin: remount and umount stay refused", function()
      local p = H.profile([[return { extends = "default", capabilities = { "sys_admin" }, seccomp = false,
        no_new_privs = true }]])
      local r = run({ "run", p, "--", "sh", "-c",
        "mount -o remount,bind,rw /usr 2>&1; umount -l /usr 2>&1; touch /usr/lsh-x 2>&1; " ..
        "grep -c ' /usr ro,' /proc/self/mountinfo" })
      assert.equal(0, r.code, r.err)
      assert.truthy(r.out:find("mount: /usr: permission denied"), r.out)
      assert.truthy(r.out:find(EROFS), r.out)
      assert.equal("1", H.lines(r.out)[#H.lines(r.out)])
      assert.falsy(io.open("/usr/lsh-x"), "the write reached the host")
    end)

    it("keeps ping working in the sandbox, without touching the host's setting", function()
      local host = H.sh("cat /proc/sys/net/ipv4/ping_group_range").out
      local r = run({ "run", "default", "--", "sh", "-c", "ping -c1 -W2 127.0.0.1 >/dev/null && echo ping-ok" })
      assert.equal(0, r.code, r.err)
      assert.equal("ping-ok\n", r.out)
      assert.equal(host, H.sh("cat /proc/sys/net/ipv4/ping_group_range").out)
    end)

    it("makes the default root read-only, with /tmp and /dev/shm writable", function()
      local r = run({ "run", "default", "--", "sh", "-c",
        "touch /x 2>&1; touch /etc/x 2>&1; touch /usr/bin/x 2>&1; touch /tmp/x /dev/shm/x && echo writable" })
      assert.equal(0, r.code, r.err)
      local n = 0
      for _ in r.out:gmatch(EROFS) do n = n + 1 end
      assert.equal(3, n, r.out)
      assert.truthy(r.out:find("writable"), r.out)
    end)

    it("shows only the sandbox's processes in /proc", function()
      local r = run({ "run", "default", "--", "sh", "-c", "echo /proc/[0-9]*; cat /proc/1/cmdline | tr '\\0' ' '" })
      assert.equal(0, r.code, r.err)
      local l = H.lines(r.out)
      assert.equal("/proc/1 /proc/2", l[1])
      -- pid 1 is lunshare's reaper (a fork, never an exec), the command is pid 2.
      assert.truthy(l[2]:find("lunshare run default"), l[2])
      local w = run({ "run", "default", "--", "sh", "-c", "{ echo 1 > /proc/sys/kernel/ns_last_pid; } 2>&1; true" })
      assert.truthy(w.out:find(EROFS), w.out)
    end)

    it("gives /dev exactly the minimal nodes, usable, and a private devpts", function()
      local r = run({ "run", "default", "--", "sh", "-c",
        "ls -A /dev | tr '\\n' ' '; echo; ls -A /dev/pts | tr '\\n' ' '; echo; " ..
        "stat -f -c %T /dev/pts; head -c 5 /dev/zero | wc -c; head -c 5 /dev/urandom | wc -c; " ..
        "echo x > /dev/null && echo null-ok; stat -c %a /dev/shm" })
      assert.equal(0, r.code, r.err)
      local l = H.lines(r.out)
      assert.equal("fd full null ptmx pts random shm stderr stdin stdout tty urandom zero ", l[1])
      assert.equal("ptmx ", l[2])
      assert.equal("devpts", l[3])
      assert.equal("5", l[4])
      assert.equal("5", l[5])
      assert.equal("null-ok", l[6])
      assert.equal("1777", l[7])
    end)

    it("leaves the host's mount table byte-identical, after success and after failure", function()
      local before = H.mounts()
      assert.equal(0, run({ "run", "default", "--", "true" }).code)
      assert.equal(before, H.mounts())
      local p = profile('    proc "/proc", dev "/dev", tmpfs "/tmp", ro_bind "/no/such/lsh-src",')
      local r = run({ "run", p, "--", "true" })
      assert.equal(1, r.code)
      assert.equal(before, H.mounts())
      -- A failure after some mounts were made, in the middle of the list.
      p = profile('    proc "/proc", dev "/dev", tmpfs "/tmp", remount_ro "/not-a-mount",')
      r = run({ "run", p, "--", "true" })
      assert.equal(1, r.code)
      assert.equal(before, H.mounts())
    end)

    it("writes nothing on the host but what a writable bind allows", function()
      local d = scratch()
      local p = profile(string.format('    bind(%q, "/data"), tmpfs "/tmp", dir "/newdir", file("/newfile", "x"),', d))
      -- Other test suites may share this machine's /tmp: look at what this run could make.
      local snap = "ls -A / /etc /usr /dev 2>/dev/null"
      local before = slurp(snap)
      -- (This root has no /dev: a redirection to /dev/null would fail before the write.)
      local r = run({ "run", p, "--", "sh", "-c",
        "echo kept > /data/out && echo gone > /tmp/gone && echo gone > /newdir/x && echo wrote; touch /usr/x; true" })
      assert.equal(0, r.code, r.err)
      -- Every write was made, inside; the one to the read-only /usr was refused.
      assert.equal("wrote\n", r.out, r.err)
      assert.truthy(r.err:find("/usr/x", 1, true) and r.err:find(EROFS), r.err)
      assert.equal("out\n", slurp("ls -A " .. H.quote(d)))
      assert.equal("kept\n", H.read(d .. "/out"))
      assert.equal(before, slurp(snap))
      for _, path in ipairs({ "/tmp/newroot", "/tmp/oldroot", "/tmp/gone", "/newdir", "/newfile", "/usr/x" }) do
        assert.falsy(io.open(path), path .. " appeared on the host")
      end
      rmrf(d)
    end)

    it("catches a symlink that would redirect a target", function()
      local d = scratch()
      -- A symlink made by the profile, pointing out of the new root…
      local p = profile(string.format('    symlink("/../../../oldroot%s", "/escape"),\n    dir "/escape/pwned",', d))
      local r = run({ "run", p, "--", "true" })
      assert.equal(1, r.code)
      assert.truthy(r.err:find("/escape/pwned: \"escape\" is a symlink"), r.err)
      assert.truthy(r.err:find(p:gsub("%p", "%%%0") .. ":%d+: dir:"), r.err)
      -- …and one the host put inside a writable bind.
      H.sh("mkdir " .. H.quote(d .. "/target") .. " && ln -s " .. H.quote(d .. "/target") .. " " .. H.quote(d .. "/link"))
      p = profile(string.format('    bind(%q, "/data"),\n    file("/data/link/pwned", "x"),', d))
      r = run({ "run", p, "--", "true" })
      assert.equal(1, r.code)
      assert.truthy(r.err:find("\"link\" is a symlink"), r.err)
      assert.equal("link\ntarget\n", slurp("ls -A " .. H.quote(d)))
      assert.equal("", slurp("ls -A " .. H.quote(d .. "/target")))
      rmrf(d)
    end)

    it("binds writable, read-only and with devices, and skips a missing optional source", function()
      local d = scratch()
      H.sh("echo host > " .. H.quote(d .. "/f") .. " && chmod 666 " .. H.quote(d .. "/f"))
      local p = profile(string.format([[
    bind(%q, "/rw"), ro_bind(%q, "/ro"), bind_try("/no/such/lsh", "/opt1"),
    ro_bind_try "/no/such/lsh2", dev_bind("/dev/null", "/null-dev"), bind("/dev/null", "/null-nodev"),]], d, d))
      local r = run({ "run", p, "--", "sh", "-c",
        "echo rw >> /rw/f; cat /ro/f; { echo x >> /ro/f; } 2>&1; test -e /opt1 || echo no-opt1; " ..
        "test -e /no || echo no-opt2; echo x > /null-dev && echo dev-ok; { echo x > /null-nodev; } 2>&1; true" })
      assert.equal(0, r.code, r.err)
      local l = H.lines(r.out)
      assert.equal("host", l[1])
      assert.equal("rw", l[2])
      assert.truthy(l[3]:find(EROFS), l[3])
      assert.equal("no-opt1", l[4])
      assert.equal("no-opt2", l[5])
      assert.equal("dev-ok", l[6])
      assert.truthy(l[7]:find("Permission denied"), l[7])
      rmrf(d)
    end)

    it("fails naming a missing source and the profile line", function()
      local p = profile('    tmpfs "/tmp",\n    ro_bind "/no/such/lsh-src",')
      local r = run({ "run", p, "--", "true" })
      assert.equal(1, r.code)
      assert.equal(1, #H.lines(r.err), r.err)
      assert.truthy(r.err:find(p:gsub("%p", "%%%0") .. ":7: bind: source: /no/such/lsh%-src: No such file or directory"), r.err)
    end)

    it("explains why a new proc is refused where the host's /proc is partly covered", function()
      -- The cover is made in a mount namespace of the test's own, as containers do.
      local drop = mode == "rootless" and H.DROP or ""
      local r = H.sh("unshare --mount sh -c " .. H.quote("mount --make-rprivate / && " ..
        "mount -t tmpfs none /proc/sys/kernel && " .. drop .. H.quote(H.bin) .. " run default -- true"))
      assert.equal(1, r.code, r.err)
      assert.truthy(r.err:find("Operation not permitted %(in a user namespace the kernel allows a new proc only"), r.err)
    end)

    it("mounts tmpfs with size and mode, dir and file with modes, symlinks, mqueue", function()
      local p = profile([[
    tmpfs { "/t", size = "2M", mode = "0700" }, dir { "/d/e", mode = "0750" },
    file { "/etc/greeting", content = "hello\nworld\n", mode = "0600" }, symlink("/etc/greeting", "/g"),
    mqueue "/dev/mqueue", proc "/proc",]])
      local r = run({ "run", p, "--", "sh", "-c",
        "stat -c %a /t /d /d/e /etc/greeting; cat /g; stat -f -c %T /dev/mqueue; readlink /g; " ..
        "grep ' /t ' /proc/self/mountinfo | grep -o 'size=[0-9]*k'" })
      assert.equal(0, r.code, r.err)
      assert.equal("700\n755\n750\n600\nhello\nworld\nmqueue\n/etc/greeting\nsize=2048k\n", r.out)
    end)

    it("mounts an overlay with a tmpfs upper, and with a given upper", function()
      local d = scratch()
      -- Owned by the caller: a copy-up keeps the owner, which must be mapped inside.
      -- (For root that is not uid 0: root inside is an unprivileged host range.)
      local id = H.inside_root_uid(mode)
      local owner = id .. ":" .. id
      H.sh("cd " .. H.quote(d) .. " && mkdir -m 777 low up work && echo low > low/a && chown -R " .. owner .. " .")
      local p = profile(string.format([[
    overlay { "/ov", lower = { %q } },
    overlay { "/ov2", lower = { %q }, upper = %q, work = %q },]], d .. "/low", d .. "/low", d .. "/up", d .. "/work"))
      local r = run({ "run", p, "--", "sh", "-c",
        "cat /ov/a; echo new > /ov/b; echo changed > /ov/a; cat /ov/a /ov/b; echo kept > /ov2/c; cat /ov2/a" })
      assert.equal(0, r.code, r.err)
      assert.equal("low\nchanged\nnew\nlow\n", r.out)
      assert.equal("a\n", slurp("ls -A " .. H.quote(d .. "/low")))
      assert.equal("low\n", H.read(d .. "/low/a"))
      assert.equal("kept\n", H.read(d .. "/up/c"))
      rmrf(d)
    end)

    it("remounts a tree read-only after everything under it", function()
      local p = profile('    remount_ro "/data",\n    tmpfs "/data", tmpfs "/data/sub", dir "/data/d",')
      local r = run({ "run", p, "--", "sh", "-c", "test -d /data/d && echo d; touch /data/x 2>&1; touch /data/sub/x 2>&1; true" })
      assert.equal(0, r.code, r.err)
      local l = H.lines(r.out)
      assert.equal("d", l[1])
      assert.truthy(l[2]:find(EROFS), l[2])
      assert.truthy(l[3]:find(EROFS), l[3])
    end)
  end)
end

describe("explain mounts", function()
  it("shows each mount as the equivalent mount command", function()
    local r = H.lunshare({ "explain", "default" })
    assert.equal(0, r.code, r.err)
    for _, want in ipairs({
      "mount --make-rprivate / && mount -t tmpfs -o nosuid,nodev,mode=0755 tmpfs /newroot",
      "mount --rbind -o ro=recursive,nosuid,nodev /usr /newroot/usr",
      "ln -s usr/bin /newroot/bin",
      "mount -t proc -o nosuid,nodev,noexec proc /newroot/proc",
      "mount -t tmpfs -o nosuid,noexec,mode=0755,size=1m tmpfs /newroot/dev",
      "mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts /newroot/dev/pts",
      "mount -t tmpfs -o nosuid,nodev,mode=1777 tmpfs /newroot/tmp",
      "[ -e /etc/ld.so.cache ] && mount --rbind -o ro=recursive,nosuid,nodev /etc/ld.so.cache /newroot/etc/ld.so.cache",
      "printf 'lunshare\\n' > /newroot/etc/hostname && chmod 0644 /newroot/etc/hostname",
      "mount -o remount,bind,ro /newroot && cd /newroot && pivot_root . . && umount -l .",
    }) do
      assert.truthy(r.out:find(want, 1, true), want)
    end
  end)
end)

describe("mount primitives from Lua", function()
  it("build a read-only bind in a scratch namespace, as the executor does", function()
    local script = H.profile([[
local core = require "lunshare.core"
assert(core.unshare("mount"))
assert(core.make_private("/"))
local root = assert(core.new_fs("tmpfs", { "mode=0755", "size=1m" }, { "nosuid", "nodev" }))
local target = assert(core.mount_target(root, "/a/usr", "dir"))
local tree = assert(core.clone_tree("/usr"))
assert(core.mount_setattr(tree, { set = { "rdonly", "nosuid" }, recursive = true }))
assert(core.move_mount(tree, target))
local _, msg, errno = core.open_in_root(root, "/no/such")
print(msg, errno)
print((select(2, core.mount_target(root, "/a/usr/../x", "dir"))))
print(pcall(core.mount_setattr, tree, { set = { "readonly" } }))
]])
    local before = H.mounts()
    local r = H.sh("LUA_CPATH=" .. H.quote(H.root .. "/build/lua/?.so;;") .. " lua5.4 " .. H.quote(script))
    assert.equal(0, r.code, r.err)
    local l = H.lines(r.out)
    assert.equal("/no/such: No such file or directory\t2", l[1])
    assert.equal("/a/usr/../x: \"..\" is not allowed in a target", l[2])
    assert.truthy(l[3]:find("^false\t.*invalid option 'readonly'"), l[3])
    assert.equal(before, H.mounts())
  end)
end)
