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

-- Every external command of the cases below has a time limit.
local function timed(cmd, secs) return "timeout -k 5 " .. (secs or 60) .. " " .. cmd end

-- Mount points of a mountinfo text (field 5, with the kernel's octal escapes undone), and
-- each one's per-mount options (field 6) as a set.
local function mountinfo(text)
  local points, opts, lines = {}, {}, {}
  for line in text:gmatch("[^\n]+") do
    local dev, root, point, o = line:match("^%S+ %S+ (%S+) (%S+) (%S+) (%S+)")
    if point then
      point = point:gsub("\\(%d%d%d)", function(n) return string.char(tonumber(n, 8)) end)
      points[#points + 1] = point
      local set = {}
      for w in o:gmatch("[^,]+") do set[w] = true end
      opts[point] = set
      lines[#lines + 1] = { dev = dev, root = root, point = point, line = line }
    end
  end
  return points, opts, lines
end

local function exists(path) return H.sh("test -e " .. H.quote(path)).code == 0 end

-- The mount points a plan makes, from `explain`'s commands: the target of every
-- `mount … /newroot/X` of every step ("/newroot" itself is the root), `for` loops
-- expanded where their source exists, a `[ -e SRC ] &&` mount only where SRC exists, and
-- for a recursive bind the host's mounts under its source too. Remounts and propagation
-- changes make no mount point.
local function planned_mount_points(text, host_points)
  local points = {}
  local function mount(cmd)
    cmd = cmd:gsub("^%s+", ""):gsub("%s+$", "")
    if not cmd:match("^mount ") or cmd:find("remount", 1, true) or cmd:find("--make-", 1, true) then return end
    local words = {}
    for w in cmd:gmatch("%S+") do words[#words + 1] = w end
    local target = words[#words]
    if target ~= "/newroot" and target:sub(1, 9) ~= "/newroot/" then return end
    target = target:sub(9)
    points[#points + 1] = target == "" and "/" or target
    local src = words[#words - 1]
    if cmd:find("--rbind", 1, true) then
      for _, hp in ipairs(host_points) do
        if hp:sub(1, #src + 1) == src .. "/" then points[#points + 1] = target .. hp:sub(#src + 1) end
      end
    end
  end
  for line in text:gmatch("[^\n]+") do
    -- "  12  child       bind        mount --rbind …": number, process, op, command
    local command = line:match("^%s*%d+%s+%S+%s+%S+%s+(.*)$")
    if command then
      local only_if
      for piece in (command .. " && "):gmatch("(.-) && ") do
        local cond = piece:match("^%[ %-e (%S+) %]$")
        local var, list, body = piece:match("^for (%w+) in (.-); do (.-); done$")
        if cond then
          only_if = cond
        elseif var then
          for item in list:gmatch("%S+") do
            for cmd in (body .. "; "):gmatch("(.-); ") do
              cmd = cmd:gsub("%$" .. var, item)
              local src = cmd:match("(%S+)%s+%S+$")
              if src and exists((src:gsub("^/newroot/", "/"))) then mount(cmd) end
            end
          end
        elseif not only_if or exists(only_if) then
          mount(piece)
        end
        if not cond then only_if = nil end
      end
    end
  end
  return points
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

    it("keeps ping working with the mounts locked: ping_group_range is set before the lock", function()
      local p = H.profile([[return { extends = "default", capabilities = { "sys_admin" }, seccomp = false,
        no_new_privs = true }]])
      local r = run({ "run", p, "--", "sh", "-c", "ping -c1 -W2 127.0.0.1 >/dev/null && echo ping-ok" })
      assert.equal(0, r.code, r.err)
      assert.equal("ping-ok\n", r.out)
      local plan = run({ "explain", p })
      assert.truthy(plan.out:find("lock_mounts", 1, true), plan.out)
    end)

    it("writes ping_group_range in the planned step alone: a plan without it leaves the kernel's 1 0", function()
      -- The plan `run` would execute, with its sysctl step taken out: nothing else may
      -- write the setting (proc's mount used to, unplanned and unexplained). The kernel's
      -- "1 0" holds no group of the sandbox's, so inside its user namespace it reads as the
      -- overflow group twice; and ping, with no capability, has no socket to use.
      local script = H.profile([[
local lunshare = require "lunshare"
local plan = assert(lunshare.plan("default", { "cat", "/proc/sys/net/ipv4/ping_group_range" }))
local steps, removed = {}, 0
for _, s in ipairs(plan.steps) do
  if s.op == "sysctl" then removed = removed + 1 else steps[#steps + 1] = s end
end
assert(removed == 1, "the default plan has one sysctl step")
plan.steps = steps
local code, msg = lunshare.core.spawn(plan)
if code == 0 then
  plan = assert(lunshare.plan("default", { "sh", "-c", "ping -c1 -W1 127.0.0.1 >/dev/null 2>&1 || echo no-ping" }))
  for i = #plan.steps, 1, -1 do if plan.steps[i].op == "sysctl" then table.remove(plan.steps, i) end end
  code, msg = lunshare.core.spawn(plan)
end
if not code then io.stderr:write(msg, "\n") end
os.exit(code or 1)
]])
      local r = H.sh(H.lua_env() .. " lua5.4 " .. script, { mode = mode })
      local overflow = H.sh("cat /proc/sys/kernel/overflowgid").out:gsub("\n", "")
      assert.equal(0, r.code, r.err)
      assert.equal(overflow .. "\t" .. overflow .. "\nno-ping\n", r.out)
      -- And with it, the sandbox's group.
      local w = run({ "run", "default", "--", "cat", "/proc/sys/net/ipv4/ping_group_range" })
      assert.equal("0\t0\n", w.out, w.err)
    end)

    it("mounts /dev as its step says, and explain says the same: mode, size, devpts modes, shm, links", function()
      -- What dev makes beyond its nodes used to be fixed in core and restated in explain;
      -- it is the step's now. Unusual values in the planned step show in both.
      local script = H.profile([[
local lunshare = require "lunshare"
local explain = require "lunshare.explain"
local plan = assert(lunshare.plan("default", { "sh", "-c",
  "grep -E ' /dev(/pts)? ' /proc/self/mountinfo; stat -c %a /dev/shm; readlink /dev/lsh_kcore" }))
for _, s in ipairs(plan.steps) do
  if s.op == "dev" then
    s.mode, s.size = tonumber("711", 8), "3m"
    s.ptmxmode, s.pts_mode, s.shm_mode = tonumber("600", 8), tonumber("600", 8), tonumber("1770", 8)
    s.links[#s.links + 1] = "lsh_kcore=/proc/kcore"
    print(explain.step(s))
  end
end
local code, msg = lunshare.core.spawn(plan)
if not code then io.stderr:write(msg, "\n") end
os.exit(code or 1)
]])
      local r = H.sh(H.lua_env() .. " lua5.4 " .. script, { mode = mode })
      assert.equal(0, r.code, r.err)
      local l = H.lines(r.out)
      for _, want in ipairs({ "mount -t tmpfs -o nosuid,noexec,mode=0711,size=3m tmpfs /newroot/dev",
        "mount -t devpts -o newinstance,ptmxmode=0600,mode=0600 devpts /newroot/dev/pts",
        "ln -s /proc/kcore /newroot/dev/lsh_kcore", "mkdir -m 1770 /newroot/dev/shm" }) do
        assert.truthy(l[1]:find(want, 1, true), want .. "\n" .. l[1])
      end
      local dev, pts
      for _, line in ipairs(l) do
        if line:find(" /dev/pts ", 1, true) then pts = line elseif line:find(" /dev ", 1, true) then dev = line end
      end
      assert.truthy(dev and dev:find("[ ,]size=3072k") and dev:find("[ ,]mode=711"), r.out)
      assert.truthy(pts and pts:find("[ ,]mode=600") and pts:find("[ ,]ptmxmode=600"), r.out)
      assert.equal("1770", l[#l - 1])
      assert.equal("/proc/kcore", l[#l])
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
      -- (the profile alone decides it, so it is refused before anything runs)
      local r = run({ "run", p, "--", "true" })
      assert.equal(2, r.code)
      assert.truthy(r.err:find("'/escape/pwned' is under '/escape', a symlink", 1, true), r.err)
      assert.truthy(r.err:find(p:gsub("%p", "%%%0") .. ":%d+: mounts%[%d+%]:"), r.err)
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
    it("lets no mount of a run out where / is shared, as systemd makes it, root without a user namespace too", function()
      -- A world of the test's own: private from the host (so that nothing could reach the
      -- host even if a run's mounts did propagate), with / made shared inside, as systemd
      -- makes it. The world's mount table is read before, during and after a run; the
      -- command says it is up on stdout and waits on a FIFO the world writes to.
      local d = scratch()
      finally(function() rmrf(d) end)
      assert(H.sh("mkfifo -m 666 " .. d .. "/go").code == 0)
      local profiles = { "default" }
      if mode == "root" then
        -- Root with no user namespace: the run's mount namespace is as privileged as the
        -- world's, so the kernel would not turn its shared mounts into slaves.
        profiles[2] = H.profile("return {\n  namespaces = { \"mount\", \"pid\" },\n  mounts = {\n" .. BASE ..
          string.format('    proc "/proc", dev "/dev", tmpfs "/tmp", dir "/d", bind(%q, "/data"),\n  },\n}\n', d))
      end
      local drop = mode == "rootless" and string.format("setpriv --reuid=%d --regid=%d --clear-groups -- ",
        H.NOBODY_UID, H.NOBODY_GID) or ""
      for _, p in ipairs(profiles) do
        -- (The files are opened first: a mount that leaked over their directory must not
        -- keep the world from writing what it saw.)
        local script = 'mount --make-rshared / || exit 3; ' ..
          'exec 3<> "$1/go" 4> "$1/before" 5> "$1/during" 6> "$1/after"; cat /proc/self/mountinfo >&4; ' ..
          "{ " .. drop .. H.quote(H.bin) .. " run " .. H.quote(p) .. " -- sh -c 'echo ready; read x' <&3 4>&- 5>&- 6>&-; " ..
          'echo "rc=$?"; } | { read -r l; cat /proc/self/mountinfo >&5; [ "$l" = ready ] && echo go >&3; cat; }; ' ..
          "cat /proc/self/mountinfo >&6"
        local r = H.sh(timed("unshare -m sh -c " .. H.quote(script) .. " world " .. d))
        assert.equal(0, r.code, p .. ": " .. r.err)
        local before = slurp("cat " .. d .. "/before")
        local _, _, lines = mountinfo(before)
        local shared = false
        for _, l in ipairs(lines) do
          if l.point == "/" and l.line:find(" shared:%d+.* %- ") then shared = true end
        end
        assert.is_true(shared, "/ is not shared in the world: " .. before)
        -- What the world saw first, the run's exit after: a run whose / stays shared
        -- fails at its pivot_root (EINVAL), but its first mount, the scratch tmpfs on
        -- /tmp, has reached the world by then, and that is what this test is about.
        -- (The message names the lines the world gained: the tables are long.)
        local function gained(now)
          local was, new = {}, {}
          for l in before:gmatch("[^\n]+") do was[l] = true end
          for l in now:gmatch("[^\n]+") do if not was[l] then new[#new + 1] = l end end
          return table.concat(new, "\n")
        end
        local during, after = slurp("cat " .. d .. "/during"), slurp("cat " .. d .. "/after")
        assert.equal(before, during, p .. ": a mount of the run appeared outside it: " .. gained(during))
        assert.equal(before, after, p .. ": a mount of the run stayed outside it: " .. gained(after))
        assert.equal("rc=0\n", r.out, p .. ": " .. r.err)
      end
    end)

    it("leaves nothing of the host's tree in the sandbox's mount table but what the profile mounts", function()
      -- The host tree must be gone, not hidden: pivot_root stacks the old root on the new
      -- one, and a mount left there is out of sight of ls / but reachable.
      local e = H.sh(timed(H.quote(H.bin) .. " explain default"), { mode = mode })
      assert.equal(0, e.code, e.err)
      local expected = planned_mount_points(e.out, (mountinfo(H.mounts())))
      assert.truthy(#expected >= 5, e.out)
      local r = H.sh(timed(H.quote(H.bin) .. " run default -- cat /proc/self/mountinfo"), { mode = mode })
      assert.equal(0, r.code, r.err)
      local points, _, lines = mountinfo(r.out)
      for _, l in ipairs(lines) do
        assert.falsy(l.point:find("^/oldroot") or l.point:find("^/newroot"), l.line)
      end
      -- No mount of the host's root directory itself, wherever it would be.
      local _, _, host = mountinfo(H.mounts())
      for _, h in ipairs(host) do
        if h.point == "/" then
          for _, l in ipairs(lines) do
            assert.falsy(l.dev == h.dev and l.root == h.root, "the host's / is mounted inside: " .. l.line)
          end
        end
      end
      table.sort(expected)
      table.sort(points)
      assert.same(expected, points)
    end)

    it("puts nosuid and nodev on every bind and tmpfs, keeps devices only for dev_bind, noexec on proc", function()
      local d = scratch()
      -- The host's /dev has submounts (/dev/pts, /dev/shm): a recursive bind must cover them.
      local p = profile(string.format([[
    bind(%q, "/rw"), ro_bind(%q, "/ro"), ro_bind("/dev", "/hostdev"), tmpfs "/t",
    dev_bind("/dev/null", "/devnull"), proc "/proc", dev "/dev",]], d, d))
      local r = H.sh(timed(H.quote(H.bin) .. " run " .. p .. " -- cat /proc/self/mountinfo"), { mode = mode })
      rmrf(d)
      assert.equal(0, r.code, r.err)
      local points, opts = mountinfo(r.out)
      local function has(point, flags, absent)
        local o = opts[point]
        assert.truthy(o, point .. " is not mounted: " .. r.out)
        for _, f in ipairs(flags) do assert.truthy(o[f], point .. " lacks " .. f .. ": " .. r.out) end
        for _, f in ipairs(absent or {}) do assert.falsy(o[f], point .. " has " .. f .. ": " .. r.out) end
      end
      local under = 0
      for _, point in ipairs(points) do
        if point:find("^/hostdev/") then
          under = under + 1
          has(point, { "nosuid", "nodev", "ro" })
        end
      end
      assert.truthy(under >= 1, "the host's /dev submounts are missing: " .. r.out)
      for _, point in ipairs({ "/", "/usr", "/rw", "/ro", "/hostdev", "/t" }) do
        has(point, { "nosuid", "nodev" })
      end
      has("/devnull", { "nosuid" }, { "nodev" })
      has("/proc", { "nosuid", "nodev", "noexec" })
      -- The default profile: nosuid everywhere, nodev everywhere but its /dev.
      r = H.sh(timed(H.quote(H.bin) .. " run default -- cat /proc/self/mountinfo"), { mode = mode })
      assert.equal(0, r.code, r.err)
      points, opts = mountinfo(r.out)
      for _, point in ipairs(points) do
        has(point, point:find("^/dev") and { "nosuid" } or { "nosuid", "nodev" })
      end
      has("/proc", { "nosuid", "nodev", "noexec" })
    end)
  end)
end

describe("explain mounts", function()
  it("shows each mount as the equivalent mount command", function()
    local r = H.lunshare({ "explain", "default" })
    assert.equal(0, r.code, r.err)
    for _, want in ipairs({
      "mount --make-rprivate / && mount -t tmpfs -o nosuid,nodev,mode=0700 tmpfs /tmp && cd /tmp && " ..
        "mkdir newroot oldroot && pivot_root . oldroot && cd / && mount -t tmpfs -o nosuid,nodev,mode=0755 tmpfs /newroot",
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
    local r = H.sh(H.lua_env() .. " lua5.4 " .. H.quote(script))
    assert.equal(0, r.code, r.err)
    local l = H.lines(r.out)
    assert.equal("/no/such: No such file or directory\t2", l[1])
    assert.equal("/a/usr/../x: \"..\" is not allowed in a target", l[2])
    assert.truthy(l[3]:find("^false\t.*invalid option 'readonly'"), l[3])
    assert.equal(before, H.mounts())
  end)
end)
