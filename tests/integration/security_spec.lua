-- Privileges and limits, seen from inside and outside real sandboxes, as root and as
-- nobody: each knob of the security area and its secure default. #integration
local H = require "helpers"

local function status_field(out, name)
  return out:match(name .. ":%s*(%S+)")
end

-- A command line for `sh -c` in a sandbox that shares the host's /proc and /sys: prints
-- the cgroups of the command (lsh_cgdirs lines), then "--", then runs `rest`. Each run
-- looks at its own cgroups only, never at "any lunshare-*": another run of the suite may
-- have its own beside them.
local function own_cgroups_then(rest)
  return H.SH_CGDIRS .. "lsh_cgdirs self; echo --; " .. rest
end

-- The run's own cgroups from such output: a non-empty list of directories.
local function run_cgroups_of(out)
  local dirs = H.run_cgroups(out:match("^(.-)\n%-%-\n") or "")
  assert.truthy(#dirs > 0, "the command is in no cgroup of its run: " .. out)
  return dirs
end

for _, mode in ipairs(H.modes) do
  describe("security (" .. mode .. ")", function()
    local function run(args, opts)
      opts = opts or {}
      opts.mode = mode
      return H.lunshare(args, opts)
    end

    it("keeps no capability, sets no_new_privs and a seccomp filter by default", function()
      local r = run({ "run", "default", "--", "cat", "/proc/self/status" })
      assert.equal(0, r.code, r.err)
      for _, f in ipairs({ "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb" }) do
        assert.equal("0000000000000000", status_field(r.out, f), f)
      end
      assert.equal("1", status_field(r.out, "NoNewPrivs"))
      assert.equal("2", status_field(r.out, "Seccomp"))
    end)

    it("locks the securebits so root inside gains nothing on exec", function()
      local r = run({ "run", "default", "--", "setpriv", "-d" })
      assert.equal(0, r.code, r.err)
      local bits = r.out:match("Securebits: ([^\n]*)")
      assert.truthy(bits and bits:find("noroot_locked", 1, true) and bits:find("no_setuid_fixup_locked", 1, true), r.out)
    end)

    it("keeps a named capability in every set, and as ambient for a non-root uid", function()
      local p = H.profile([[return { namespaces = { "user", "pid" }, capabilities = { "CAP_NET_BIND_SERVICE" } }]])
      local r = run({ "run", p, "--", "cat", "/proc/self/status" })
      assert.equal(0, r.code, r.err)
      for _, f in ipairs({ "CapPrm", "CapEff", "CapBnd", "CapAmb" }) do
        assert.equal("0000000000000400", status_field(r.out, f), f)
      end
      local q = H.profile([[return { namespaces = { "user", "pid" }, user = { uid = 1000, gid = 1000 },
        capabilities = { "net_bind_service" } }]])
      r = run({ "run", q, "--", "sh", "-c", "id -u; grep CapEff /proc/self/status" })
      assert.equal(0, r.code, r.err)
      assert.equal("1000", H.lines(r.out)[1])
      assert.equal("0000000000000400", status_field(r.out, "CapEff"))
    end)

    it("refuses an unknown capability with a suggestion, exit 2", function()
      local p = H.profile("return {\n  namespaces = { 'user' },\n  capabilities = { 'net_bind_servce' },\n}\n")
      local r = run({ "run", p, "--", "true" })
      assert.equal(2, r.code)
      assert.equal("lunshare: " .. p .. ":3: capabilities[1]: unknown capability 'net_bind_servce' " ..
        "(did you mean 'net_bind_service'?); names are those of capabilities(7), with or without CAP_\n", r.err)
    end)

    it("turns no_new_privs and seccomp off only when told, and check warns", function()
      local p = H.profile("return {\n  namespaces = { 'user' },\n  no_new_privs = false,\n  seccomp = false,\n}\n")
      local r = run({ "run", p, "--", "cat", "/proc/self/status" })
      assert.equal(0, r.code, r.err)
      assert.equal("0", status_field(r.out, "NoNewPrivs"))
      assert.equal("0", status_field(r.out, "Seccomp"))
      local c = H.lunshare({ "check", p })
      assert.equal(0, c.code)
      assert.equal(p .. ": ok\n", c.out)
      assert.truthy(c.err:find(p .. ":3: no_new_privs: warning: ", 1, true), c.err)
      assert.truthy(c.err:find(p .. ":4: seccomp: warning: ", 1, true), c.err)
    end)

    it("keeps no_new_privs on when the profile turns seccomp off", function()
      -- seccomp = false drops the filter only: setuid and file-capability programs must
      -- still gain nothing, which no_new_privs alone guarantees then.
      local p = H.profile('return { extends = "default", seccomp = false }\n')
      local r = H.sh("timeout -k 5 60 " .. H.quote(H.bin) .. " run " .. p .. " -- cat /proc/self/status", { mode = mode })
      assert.equal(0, r.code, r.err)
      assert.equal("0", status_field(r.out, "Seccomp"), "seccomp = false loads no filter")
      assert.equal("1", status_field(r.out, "NoNewPrivs"))
    end)

    it("refuses nested user namespaces and mounts under the default filter", function()
      -- (--propagation unchanged: unshare -m would otherwise call mount itself)
      local m = "unshare -m --propagation unchanged "
      local script = "unshare -U true 2>/dev/null && echo userns; " .. m .. "true 2>/dev/null && echo mountns; " ..
        m .. "mount -t tmpfs x /tmp 2>/dev/null && echo mounted; echo done"
      local r = run({ "run", "default", "--", "sh", "-c", script })
      assert.equal(0, r.code, r.err)
      assert.equal("done\n", r.out)
      -- With sys_admin kept, other namespaces are allowed, user namespaces and mounts not.
      local p = H.profile([[return { namespaces = { "user", "pid", "mount" }, capabilities = { "sys_admin" } }]])
      r = run({ "run", p, "--", "sh", "-c", script })
      assert.equal(0, r.code, r.err)
      assert.equal("mountns\ndone\n", r.out)
    end)

    it("denies with the profile's errno and kills with SIGSYS", function()
      local p = H.profile([[return { namespaces = { "user", "pid" },
        seccomp = { deny = { mkdir = "EACCES" }, kill = { "uname" } } }]])
      -- (The sandbox shares the host's files: a directory that got through goes with the suite's.)
      local r = run({ "run", p, "--", "sh", "-c", "mkdir " .. H.quote(H.tmpdir("1777") .. "/x") .. " 2>&1; echo rc=$?" })
      assert.equal(0, r.code, r.err)
      assert.truthy(r.out:find("Permission denied", 1, true), r.out)
      r = run({ "run", p, "--", "uname" })
      assert.equal(128 + 31, r.code)
    end)

    it("lifts a default rule when the profile allows it", function()
      local p = H.profile([[return { namespaces = { "user", "pid", "mount" }, seccomp = { allow = { "@userns" } } }]])
      local r = run({ "run", p, "--", "sh", "-c", "unshare -U true && echo nested" })
      assert.equal(0, r.code, r.err)
      assert.equal("nested\n", r.out)
    end)

    it("loads rules from a file", function()
      local rules = os.tmpname()
      local f = assert(io.open(rules, "w"))
      f:write("# no directories\ndeny:EROFS mkdir\n")
      f:close()
      H.sh("chmod 644 " .. H.quote(rules))
      -- Named relative to the profile's directory (both are in the suite's), from anywhere.
      local p = H.profile("return { namespaces = { 'user' }, seccomp = { file = '" .. rules:match("[^/]+$") .. "' } }")
      local r = run({ "run", p, "--", "sh", "-c", "mkdir " .. H.quote(H.tmpdir("1777") .. "/y") .. " 2>&1" }, { cwd = "/" })
      assert.truthy(r.out:find("Read%-only file system"), r.out)
      local e = H.lunshare({ "explain", p }, { cwd = "/" })
      assert.truthy(e.out:find("deny EROFS    mkdir", 1, true), e.out)
      os.remove(rules)
    end)

    it("sets rlimits by name with units, soft and hard", function()
      local p = H.profile([[return { namespaces = { "user" },
        limits = { nofile = { soft = 64, hard = 128 }, fsize = "1M", core = 0, cpu = "1h" } }]])
      local r = run({ "run", p, "--", "sh", "-c", "ulimit -Sn; ulimit -Hn; ulimit -f; ulimit -c; ulimit -t" })
      assert.equal(0, r.code, r.err)
      assert.same({ "64", "128", "2048", "0", "3600" }, H.lines(r.out))
      local e = H.lunshare({ "explain", p })
      assert.truthy(e.out:find("prlimit --nofile=64:128", 1, true), e.out)
    end)

    it("starts the command in a new session unless the profile wants the terminal", function()
      -- Fields 4 and 6 of stat: the parent (pid 1, the reaper) and the session.
      local script = { "cut", "-d ", "-f4,6", "/proc/self/stat" }
      local r = run({ "run", "default", "--", table.unpack(script) })
      assert.equal(0, r.code, r.err)
      local ppid, sid = r.out:match("(%d+) (%d+)")
      assert.equal(ppid, sid, "pid 1 made a new session and the command is in it")
      local p = H.profile([[return { namespaces = { "user", "pid" }, terminal = true }]])
      r = run({ "run", p, "--", table.unpack(script) })
      ppid, sid = r.out:match("(%d+) (%d+)")
      assert.not_equal(ppid, sid, "the command stays in the caller's session")
    end)

    it("dies with the supervisor, even after root inside took its ids", function()
      -- (A change of uid clears the parent-death signal; the sandbox must arm it again.)
      -- Once the command runs, its processes (pid 1 and the command) are looked up from
      -- the supervisor's pid; SIGKILL the supervisor, and they must go.
      local r = H.after_ready(H.quote(H.bin) .. " run default -- sh -c 'echo ready; exec sleep 60'",
        "d=$(lsh_desc $P); echo procs=$(echo $d | wc -w); kill -KILL $P; wait $P; " ..
        H.wait_until("! for c in $d; do kill -0 $c 2>/dev/null && echo alive; done | grep -q alive", 30) ..
        " && echo gone", { mode = mode })
      assert.equal("procs=2\ngone\n", r.out, r.err .. r.cmd_err)
    end)

    it("keeps open only stdio and the fds the profile names", function()
      local p = H.profile([[return { namespaces = { "user", "pid" }, keep_fds = { 7 } }]])
      local r = H.sh("exec 7</dev/null 8</dev/null; " .. H.quote(H.bin) .. " run " .. p ..
        " -- sh -c 'ls /proc/self/fd'", { mode = mode })
      assert.equal(0, r.code, r.err)
      assert.same({ "0", "1", "2", "3", "7" }, H.lines(r.out)) -- 3 is ls's own directory fd
      local bad = H.profile("return {\n  keep_fds = { 1 },\n}\n")
      r = run({ "run", bad, "--", "true" })
      assert.equal(2, r.code)
      assert.truthy(r.err:find(bad .. ":2: keep_fds[1]: expected an fd number from 3 to 1023", 1, true), r.err)
    end)

    it("doctor reports seccomp support and, for root, the range root inside maps to", function()
      local r = run({ "doctor" })
      assert.truthy(r.out:find("ok    seccomp filters\n", 1, true), r.out)
      local line = r.out:find("root inside a root caller's sandbox is host uid", 1, true)
      if mode == "root" then assert.truthy(line, r.out) else assert.falsy(line, r.out) end
    end)

    it("gives the sandbox a fresh session keyring: the caller's keys are not its own", function()
      -- The caller gets a session keyring of its own with a key in it (the probes' helper),
      -- whatever session the suite runs in. Outside, the key is read (the caller possesses
      -- it); inside, with the keyring calls allowed, it must not be.
      local p = H.profile([[return { namespaces = { "user", "pid" }, seccomp = { allow = { "@keyring" } } }]])
      local probe = H.quote(H.probes .. "/host_keyring_key")
      local r = H.sh(H.quote(H.probes .. "/helper") .. " addkey sh -c " .. H.quote(
        probe .. " $0; echo outside=$?; " .. H.quote(H.bin) .. " run " .. p .. " -- " .. probe .. " $0; echo inside=$?") ..
        " {}", { mode = mode })
      local l = H.lines(r.out)
      assert.truthy(l[1] and l[1]:find("^ESCAPED: read key %d+"), r.out .. r.err)
      assert.equal("outside=1", l[2], r.out)
      assert.truthy(l[3] and l[3]:find("^contained: keyctl%(KEYCTL_READ, %d+%): Permission denied"), r.out .. r.err)
      assert.equal("inside=0", l[4], r.out)
    end)

    if mode == "root" then
      it("kills a command that hits limits.memory and says it ran out of memory", function()
        local p = H.profile("return {\n  namespaces = { 'user', 'pid' },\n  limits = { memory = '32M' },\n}\n")
        -- tail keeps the last "line" of a stream without newlines: all of it.
        local r = run({ "run", p, "--", "sh", "-c", own_cgroups_then("exec tail /dev/zero") })
        assert.equal(137, r.code, r.err)
        assert.equal("lunshare: " .. p .. ":3: out of memory: the command reached limits.memory = 32M and was killed\n", r.err)
        assert.same({}, H.existing(run_cgroups_of(r.out)))
      end)

      it("names its cgroup after the supervisor, and removes it when the run fails before exec", function()
        local p = H.profile([[return { namespaces = { "user", "pid" }, limits = { memory = "64M", pids = 10 } }]])
        -- A run that works shows where runs make their cgroups: lunshare-<supervisor pid>.
        local ok = H.after_ready(H.quote(H.bin) .. " run " .. p .. " -- sh -c " ..
          H.quote(H.SH_CGDIRS .. "{ lsh_cgdirs self; echo --; } >&2; echo ready; exec sleep 60"),
          "echo pid=$P; kill $P; wait $P")
        local pid = ok.out:match("pid=(%d+)")
        local dirs = run_cgroups_of(ok.cmd_err)
        for _, d in ipairs(dirs) do assert.equal("lunshare-" .. pid, d:match("[^/]+$"), d) end
        -- The same profile with a command that cannot start.
        local r = H.sh(H.quote(H.bin) .. " run " .. p .. " -- no-such-command-lsh & p=$!; wait $p; echo rc=$?; " ..
          "find /sys/fs/cgroup -name \"lunshare-$p\" 2>/dev/null")
        assert.equal("rc=127\n", r.out, r.err) -- not found (issue #10), and no cgroup left
      end)

      it("removes the cgroups a SIGKILLed run left, once their pid is gone", function()
        local p = H.profile([[return { namespaces = { "user", "pid" }, limits = { memory = "64M" } }]])
        -- Beside where runs make theirs; the pid is above the kernel's largest pid_max
        -- (2^22), so it can never be alive, and unique to this run of the suite.
        local r = run({ "run", p, "--", "sh", "-c", own_cgroups_then("true") })
        assert.equal(0, r.code, r.err)
        local stale = run_cgroups_of(r.out)[1]:gsub("lunshare%-%d+$", "lunshare-" .. (4194305 + math.random(0, 2 ^ 30)))
        finally(function() H.sh("rmdir " .. H.quote(stale) .. " 2>/dev/null") end)
        assert.equal(0, H.sh("mkdir " .. H.quote(stale)).code)
        r = run({ "run", p, "--", "true" })
        assert.equal(0, r.code, r.err)
        assert.same({}, H.existing({ stale }), "the stale cgroup is still there")
      end)

      it("gives root inside no DAC override over host files", function()
        -- A host directory bound writable: for a root caller it is an idmapped mount that
        -- gives root inside the directory's owner and nobody else (lunshare.idmap), so
        -- only DAC stands between root inside and another owner's file and directory
        -- in it, and root inside is not host root.
        local d = H.tmpdir("755")
        H.sh("echo host > " .. H.quote(d .. "/f") .. " && chmod 644 " .. H.quote(d .. "/f") ..
          " && mkdir -m 755 " .. H.quote(d .. "/sub") .. " && chown 4242:4242 " .. H.quote(d .. "/f") ..
          " " .. H.quote(d .. "/sub"))
        local p = H.profile(string.format([[return { namespaces = { "user", "mount", "pid" },
          mounts = { ro_bind "/usr", symlink("usr/bin", "/bin"), symlink("usr/lib", "/lib"),
            symlink("usr/lib64", "/lib64"), bind(%q, "/data") } }]], d))
        -- (This sandbox has no /dev: a redirection to /dev/null would fail before the write.)
        local r = run({ "run", p, "--", "sh", "-c",
          "echo sandbox >> /data/f && echo wrote; touch /data/sub/new && echo created; true" })
        assert.equal(0, r.code, r.err)
        assert.equal("", r.out)
        -- Both were tried, and refused by the permissions.
        assert.truthy(r.err:find("/data/f: Permission denied", 1, true), r.err)
        assert.truthy(r.err:find("'/data/sub/new': Permission denied", 1, true), r.err)
        local h = assert(io.open(d .. "/f"))
        assert.equal("host\n", h:read("a"))
        h:close()
        -- With host_root, the same bind is writable: the test can fail.
        local q = H.profile(string.format([[return { namespaces = { "user", "mount", "pid" }, user = { map = "host_root" },
          mounts = { ro_bind "/usr", symlink("usr/bin", "/bin"), symlink("usr/lib", "/lib"),
            symlink("usr/lib64", "/lib64"), bind(%q, "/data") } }]], d))
        -- (a file of host root's: root inside is its owner there)
        H.sh("echo host > " .. H.quote(d .. "/g") .. " && chmod 644 " .. H.quote(d .. "/g"))
        r = run({ "run", q, "--", "sh", "-c", "echo sandbox >> /data/g && echo wrote" })
        assert.equal("wrote\n", r.out, r.err)
        H.rm(d)
      end)

      it("does not report out of memory when the command stays under the limit", function()
        local p = H.profile([[return { namespaces = { "user", "pid" }, limits = { memory = "64M" } }]])
        local r = run({ "run", p, "--", "sh", "-c", "head -c 1M /dev/zero | tail > /dev/null; exit 3" })
        assert.equal(3, r.code)
        assert.equal("", r.err)
      end)

      it("limits the number of processes", function()
        local p = H.profile([[return { namespaces = { "user", "pid" }, limits = { pids = 6 } }]])
        local r = run({ "run", p, "--", "sh", "-c", own_cgroups_then(
          "for i in 1 2 3 4 5 6 7 8 9 10; do sleep 2 & done; " ..
          "echo started; kill $(jobs -p) 2>/dev/null; true") })
        assert.truthy(r.err:find("fork") or r.err:find("Resource temporarily unavailable"), r.err)
        assert.same({}, H.existing(run_cgroups_of(r.out)))
      end)

      it("writes the CPU quota and removes every cgroup afterwards", function()
        local p = H.profile([[return { namespaces = { "user", "pid" }, limits = { cpus = 0.25, memory = "1G", pids = 100 } }]])
        -- The command reads its own cgroup's files: v1 cpu.cfs_*, or v2 cpu.max.
        local r = run({ "run", p, "--", "sh", "-c", own_cgroups_then([[
          d=$(lsh_cgdirs self | awk '($1 == "cpu" || $1 == "unified") && $2 ~ /\/lunshare-[0-9]+$/ { print $2; exit }')
          if [ -e "$d/cpu.max" ]; then cat "$d/cpu.max"; else cat "$d/cpu.cfs_quota_us" "$d/cpu.cfs_period_us"; fi]]) })
        assert.equal(0, r.code, r.err)
        local quota = r.out:match("\n%-%-\n(.*)$")
        assert.truthy(quota == "25000\n100000\n" or quota == "25000 100000\n", r.out)
        assert.same({}, H.existing(run_cgroups_of(r.out)))
      end)

      it("maps root inside to host root only when the profile asks, and check warns", function()
        local p = H.profile("return {\n  namespaces = { 'user' },\n  user = { map = 'host_root' },\n}\n")
        local r = run({ "run", p, "--", "cat", "/proc/self/uid_map" })
        assert.equal(0, r.code, r.err)
        assert.same({ "0", "0", "1" }, { r.out:match("(%d+)%s+(%d+)%s+(%d+)") })
        local c = H.lunshare({ "check", p })
        assert.truthy(c.err:find(p .. ":3: user.map: warning: host uid 0 is mapped into the sandbox ({0, 0, 1}): " ..
          "root inside is host root", 1, true), c.err)
      end)
    else
      it("says plainly when there is no cgroup it may use", function()
        local p = H.profile("return {\n  namespaces = { 'user' },\n  limits = { memory = '32M' },\n}\n")
        local r = run({ "run", p, "--", "true" })
        assert.equal(1, r.code)
        assert.truthy(r.err:find("^lunshare: " .. p:gsub("%p", "%%%0") .. ":3: cgroup: create cgroup .*: Permission denied"), r.err)
      end)

      it("refuses host_root to a caller who is not root", function()
        local p = H.profile([[return { namespaces = { "user" }, user = { map = "host_root" } }]])
        local r = run({ "run", p, "--", "true" })
        assert.equal(2, r.code)
        assert.truthy(r.err:find("only root can run it", 1, true), r.err)
      end)
    end
  end)
end
