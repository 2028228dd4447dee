-- A run behaves like the program it wraps: exit statuses and messages, a wall-clock
-- limit, signals that end the whole sandbox, and, through a real terminal (tmux) with the
-- keys a person types, a pty of the sandbox's own with job control. #integration
local H = require "helpers"

local RAND = string.format("%d%03d", math.random(10, 99), math.random(0, 999))

-- A sleep no other process on the machine has: its argument is this run's. Returns the
-- command word and a shell test for "one is still running".
local function marker_sleep(n)
  local arg = string.format("%d.%s%d", 90 + n, RAND, n)
  return "sleep " .. arg, "pgrep -f '^sleep " .. arg:gsub("%.", "[.]") .. "$' >/dev/null"
end

-- A profile without a pid namespace: the run is the process group its child leads.
local NO_PIDNS = "return {\n  namespaces = { 'user' },\n  user = { uid = 0, gid = 0, map = 'self' },\n}\n"

for _, mode in ipairs(H.modes) do
  describe("session (" .. mode .. ")", function()
    local function run(args, opts)
      opts = opts or {}
      opts.mode = mode
      return H.lunshare(args, opts)
    end
    local drop = mode == "rootless" and H.DROP or ""

    describe("exit status", function()
      it("is 127 for a command not found and 126 for one that cannot run, with one line", function()
        local r = run({ "run", "default", "--", "no-such-command-" .. RAND })
        assert.equal(127, r.code, r.err)
        assert.equal("lunshare: command line: exec no-such-command-" .. RAND .. ": No such file or directory\n", r.err)
        r = run({ "run", "default", "--", "/etc/passwd" })
        assert.equal(126, r.code, r.err)
        assert.equal("lunshare: command line: exec /etc/passwd: Permission denied\n", r.err)
        r = run({ "run", "default", "--", "/usr" })
        assert.equal(126, r.code, r.err)
        assert.equal(1, #H.lines(r.err), r.err)
      end)

      it("names the ELF interpreter the sandbox lacks", function()
        local p = H.profile("return {\n  namespaces = { 'user', 'mount', 'pid' },\n  root = { mode = '0755' },\n" ..
          "  mounts = { ro_bind '/usr/bin', symlink('usr/bin', '/bin') },\n}\n")
        local interp = H.sh("readelf -l /usr/bin/true 2>/dev/null | sed -n 's/.*interpreter: \\(.*\\)]/\\1/p'").out
          :gsub("%s+$", "")
        if interp == "" then interp = "/lib64/ld-linux-x86-64.so.2" end
        for _, cmd in ipairs({ "/usr/bin/true", "true" }) do
          local r = run({ "run", p, "--", cmd })
          assert.equal(126, r.code, r.err)
          assert.equal("lunshare: command line: exec " .. cmd .. ": " .. interp .. " is not in the sandbox\n", r.err)
        end
        -- A script whose interpreter is there, but not the interpreter's own.
        local r = run({ "run", p, "--", "/usr/bin/ldd" })
        assert.equal(126, r.code, r.err)
        assert.equal("lunshare: command line: exec /usr/bin/ldd: " .. interp .. " is not in the sandbox\n", r.err)
        os.remove(p)
      end)

      it("says which rlimit killed the command", function()
        local p = H.profile("return {\n  extends = 'default',\n  limits = { fsize = '4k', cpu = 1 },\n}\n")
        local r = run({ "run", p, "--", "sh", "-c", "exec head -c 100000 /dev/zero > /tmp/big" })
        assert.equal(128 + 25, r.code, r.err)
        assert.equal("lunshare: " .. p .. ":3: the command was killed (SIGXFSZ): a file it wrote reached " ..
          "limits.fsize = 4k\n", r.err)
        r = run({ "run", p, "--", "sh", "-c", "while :; do :; done" }, { timeout = 60 })
        assert.truthy(r.code == 128 + 9 or r.code == 128 + 24, r.code .. r.err)
        assert.truthy(r.err:find(p .. ":3: the command was killed (SIG", 1, true), r.err)
        assert.truthy(r.err:find("it used all the CPU time of limits.cpu = 1\n", 1, true), r.err)
        os.remove(p)
      end)

      it("blames a SIGKILL on limits.cpu only when the sandbox used that CPU time", function()
        local p = H.profile("return {\n  extends = 'default',\n  limits = { cpu = 100 },\n}\n")
        local r = run({ "run", p, "--", "sh", "-c", "kill -KILL $$" })
        assert.equal(137, r.code, r.err)
        assert.equal("", r.err)
        os.remove(p)
      end)
    end)

    describe("the end of a run", function()
      -- run returns as soon as pid 1 reports the command's end when nothing of the
      -- sandbox is left (core.spawn's early); a process still there, here one whose exit
      -- takes long (half a GiB to free), keeps the run until pid 1's exit has ended it.
      it("comes when no process of the sandbox is left, a slow-dying one included", function()
        if not io.open("/usr/bin/python3") then return pending("needs /usr/bin/python3 in the sandbox") end
        local marker = "lsbig" .. RAND .. mode
        local big = "import time\nb = bytearray(512 << 20)\nfor i in range(0, len(b), 4096): b[i] = 1\n" ..
          "print('ready', flush=True)\nopen('/tmp/ready', 'w').close()\ntime.sleep(60)\n"
        local r = H.after_ready(drop .. H.quote(H.bin) .. " run default -- sh -c " ..
          H.quote("/usr/bin/python3 -c \"$0\" " .. marker .. " & " ..
            "until [ -e /tmp/ready ]; do sleep 0.05; done; sleep 0.5; exit 5") .. " " .. H.quote(big),
          "big=$(pgrep -f '^/usr/bin/python3 -c .* " .. marker .. "$'); [ -n \"$big\" ] || echo no-python; " ..
          "wait $P; echo rc=$?; [ -e /proc/$big ] && echo left || echo gone")
        assert.truthy(r.out:find("rc=5\n", 1, true), r.out .. r.err .. r.cmd_err)
        assert.falsy(r.out:find("no-python", 1, true), r.out)
        assert.truthy(r.out:find("gone", 1, true), r.out .. r.cmd_err)
        -- And the plain case, which ends early, still says how the command ended.
        local r2 = run({ "run", "default", "--", "sh", "-c", "exit 6" })
        assert.equal(6, r2.code, r2.err)
      end)
    end)

    describe("a wall-clock limit", function()
      it("--timeout ends the whole sandbox, says so and exits 124", function()
        local bg, running = marker_sleep(1)
        local t0 = os.time()
        local r = run({ "run", "--timeout", "1s", "default", "--", "sh", "-c", bg .. " & sleep 60; echo after" })
        assert.equal(124, r.code, r.err)
        assert.equal("", r.out)
        assert.equal("lunshare: the command ran longer than --timeout 1s: the sandbox was ended\n", r.err)
        assert.truthy(os.time() - t0 < 20)
        assert.equal(1, H.sh(running).code, "a process of the sandbox outlived it")
        -- After the option, as --set may come.
        r = run({ "run", "default", "--timeout=1", "--", "sleep", "30" })
        assert.equal(124, r.code, r.err)
        r = run({ "run", "default", "--timeout", "soon", "--", "true" })
        assert.equal(2, r.code)
        assert.truthy(r.err:find("--timeout: expected a duration", 1, true), r.err)
      end)

      it("limits.time does it too, and a command that ignores TERM is killed after the grace", function()
        local p = H.profile("return {\n  extends = 'default',\n  limits = { time = '1s' },\n}\n")
        local t0 = os.time()
        local r = run({ "run", p, "--", "sh", "-c", "trap '' TERM; sleep 60" }, { timeout = 60 })
        assert.equal(124, r.code, r.err)
        assert.equal("lunshare: " .. p .. ":3: the command ran longer than limits.time = 1s: the sandbox was ended\n", r.err)
        local took = os.time() - t0
        assert.truthy(took >= 5 and took < 30, "took " .. took .. " s")
        assert.equal(0, run({ "run", p, "--", "true" }).code)
        assert.truthy(run({ "explain", p }).out:find("timeout --kill-after=5s 1s", 1, true))
        local bad = run({ "check", H.profile("return {\n  extends = 'default',\n  limits = { time = '1 fortnight' },\n}\n") })
        assert.equal(2, bad.code)
        assert.truthy(bad.err:find(":3: limits.time: expected a duration", 1, true), bad.err)
        os.remove(p)
      end)
    end)

    describe("signals to lunshare", function()
      local SIGNUM = { TERM = 15, HUP = 1, INT = 2 }
      for _, sig in ipairs({ "TERM", "HUP", "INT" }) do
        it("SIG" .. sig .. " ends every process of the sandbox, not only the command", function()
          local bg, running = marker_sleep(2)
          local fg, running_fg = marker_sleep(3)
          -- bash waits for its foreground child before it acts on SIGINT: only a signal
          -- to that child too ends the run at once. "ready" comes once bash waits: its
          -- foreground child runs and bash ($$ in the subshell) sleeps in the wait.
          local waiting = running_fg .. " && [ \"$(cut -d' ' -f3 /proc/$$/stat)\" = S ]"
          local t0 = os.time()
          local r = H.after_ready(drop .. H.quote(H.bin) .. " run default -- bash -c " ..
            H.quote("{ " .. H.wait_until(waiting, 10) .. " && echo ready; exec " .. bg .. "; } & " .. fg ..
              "; echo after"),
            "kill -" .. sig .. " $P; wait $P; echo rc=$?; " ..
            H.wait_until("! " .. running .. " && ! " .. running_fg, 10) .. " || echo left-running")
          assert.truthy(os.time() - t0 < 15, "the run went on after SIG" .. sig)
          assert.truthy(r.out:find("rc=" .. (128 + SIGNUM[sig]) .. "\n", 1, true), r.out .. r.err)
          assert.falsy(r.out:find("after", 1, true), r.out)
          assert.falsy(r.out:find("left-running", 1, true), r.out)
        end)
      end

      it("what ignores SIGTERM is killed a few seconds later", function()
        local fg, running = marker_sleep(5)
        local t0 = os.time()
        local r = H.after_ready(drop .. H.quote(H.bin) .. " run default -- sh -c " ..
          H.quote("trap '' TERM; echo ready; " .. fg),
          "kill -TERM $P; wait $P; echo rc=$?; " .. H.wait_until("! " .. running, 10) .. " || echo left-running")
        local took = os.time() - t0
        assert.truthy(took >= 2 and took < 15, "took " .. took .. " s")
        assert.truthy(r.out:find("rc=137\n", 1, true), r.out .. r.err)
        assert.falsy(r.out:find("left-running", 1, true), r.out)
      end)

      it("without a pid namespace, the process group goes, by signal or when the command ends", function()
        local p = H.profile(NO_PIDNS)
        local bg, running = marker_sleep(4)
        local r = run({ "run", p, "--", "sh", "-c", bg .. " & echo started" })
        assert.equal(0, r.code, r.err)
        assert.equal("started\n", r.out)
        assert.equal(0, H.sh(H.wait_until("! " .. running, 10)).code, "the background sleep outlived the run")
        r = H.after_ready(drop .. H.quote(H.bin) .. " run " .. p .. " -- sh -c " ..
          H.quote(bg .. " & echo ready; wait"),
          "kill -TERM $P; wait $P; echo rc=$?; " .. H.wait_until("! " .. running, 10) .. " || echo left-running")
        assert.truthy(r.out:find("rc=143", 1, true), r.out .. r.err)
        assert.falsy(r.out:find("left-running", 1, true), r.out)
        os.remove(p)
      end)

      -- Rootless runs get a cgroup only where cgroups are delegated: root's case says it.
      if mode == "root" then
        it("without a pid namespace, a run's cgroup takes a setsid'd process with it", function()
          local p = H.profile("return {\n  namespaces = { 'user' },\n  user = { uid = 0, gid = 0, map = 'self' },\n" ..
            "  limits = { pids = 64 },\n}\n")
          local d = H.tmpdir("1777")
          local pidfile = d .. "/leftover"
          finally(function()
            H.sh("p=$(cat " .. H.quote(pidfile) .. " 2>/dev/null) && [ -n \"$p\" ] && kill $p 2>/dev/null")
            H.rm(d)
            os.remove(p)
          end)
          local r = run({ "run", p, "--", "sh", "-c", "setsid sleep 30 & echo $! > " .. pidfile })
          assert.equal(0, r.code, r.err)
          assert.equal(0, H.sh(H.wait_until("! kill -0 $(cat " .. H.quote(pidfile) .. ") 2>/dev/null", 10)).code,
            "the setsid'd sleep outlived the run")
        end)
      end
    end)

    it("gives no pty when stdin is no terminal, and one with --pty", function()
      local r = H.sh("echo through | " .. H.quote(H.bin) .. " run default -- sh -c 'tty; cat'", { mode = mode })
      assert.equal(0, r.code, r.err)
      assert.equal("not a tty\nthrough\n", r.out)
      r = run({ "run", "--pty", "default", "--", "sh", "-c", "tty; echo out; echo err >&2" })
      assert.equal(0, r.code, r.err)
      -- The pty's line discipline writes \r\n; stdout and stderr are one terminal.
      assert.equal("/dev/pts/0\r\nout\r\nerr\r\n", r.out)
      assert.equal("", r.err)
      -- A sandbox without a /dev of its own has no ptmx to open: one line, and what to do.
      local p = H.profile("return {\n  namespaces = { 'user', 'mount', 'pid' },\n  root = { mode = '0755' },\n" ..
        "  mounts = { ro_bind '/usr', symlink('usr/bin', '/bin'), symlink('usr/lib', '/lib'), " ..
        "symlink('usr/lib64', '/lib64') },\n}\n")
      r = run({ "run", "--pty", p, "--", "true" })
      assert.equal(1, r.code, r.err)
      assert.equal("lunshare: command line: pty: open /dev/ptmx: No such file or directory (the sandbox has no " ..
        "/dev/ptmx: add dev \"/dev\" to its mounts, or run with --no-pty)\n", r.err)
      os.remove(p)
    end)

    describe("in a terminal", function()
      local home, T, D, P
      before_each(function()
        if H.sh("command -v tmux && command -v perl").code ~= 0 then return end
        -- A tmux server of this test's own (its socket in a fresh directory), so that
        -- another run of the suite cannot meet it; it goes whatever the outcome.
        home = H.tmpdir("711")
        D = H.tmpdir("1777")
        T = "tmux -S " .. H.quote(home .. "/tmux") .. " "
        local as = mode == "rootless" and H.DROP or ""
        H.sh(T .. "new-session -d -s s -x 120 -y 30 " ..
          H.quote(as .. "env -i PATH=/usr/bin:/bin HOME=/tmp TERM=xterm PS1='$ ' bash --norc --noprofile"))
        P = H.quote(H.bin)
      end)
      after_each(function()
        if T then H.sh(T .. "kill-server 2>/dev/null") end
        if home then H.rm(home) end
        if D then H.rm(D) end
        T, home, D = nil, nil, nil
      end)

      local function keys(...)
        local args = {}
        for i, k in ipairs({ ... }) do args[i] = H.quote(k) end
        H.sh(T .. "send-keys -t s " .. table.concat(args, " "))
      end
      local function screen() return H.sh(T .. "capture-pane -p -t s").out end
      -- Waits (with a deadline) until the screen shows a line with text n times.
      local function wait_for(text, n, seconds)
        local r = H.sh(H.wait_until(string.format("[ \"$(%scapture-pane -p -t s | grep -cF -- %s)\" -ge %d ]",
          T, H.quote(text), n or 1), seconds or 20))
        assert(r.code == 0, "timed out waiting for " .. text .. ":\n" .. screen())
      end
      -- Types a command line in the caller's shell, which says `done N rc=…` after it,
      -- with the terminal's modes before and after in $D/before and $D/after.
      local function command(line, n)
        -- The modes are written before "done" shows, so a test that waited for it reads them.
        keys("stty -g > " .. D .. "/before; " .. line .. "; rc=$?; stty -g > " .. D .. "/after; echo done" .. n ..
          " rc=$rc", "Enter")
      end
      local function modes_restored()
        assert.equal(H.read(D .. "/before"), H.read(D .. "/after"), "the caller's terminal modes changed")
      end
      local function skip()
        if not T then pending("tmux or perl is not installed") return true end
      end

      it("is a pty of the sandbox's own: its devpts, its size following the window, job control", function()
        if skip() then return end
        command(P .. " run default -- bash --norc --noprofile -i", 1)
        keys("PS1='in> '", "Enter")
        wait_for("in> ")
        keys("tty; stty size; echo mode=$-; echo /dev/pts/*; sleep 100 & jobs", "Enter")
        wait_for("Running")
        H.sh(T .. "resize-window -t s -x 90 -y 20")
        keys("stty size", "Enter")
        wait_for("20 90")
        keys("exit", "Enter")
        wait_for("done1 rc=0")
        local s = screen()
        assert.truthy(s:find("\n/dev/pts/0\n30 120\n", 1, true), s)
        assert.truthy(s:find("mode=[^\n]*m"), s) -- job control on
        assert.falsy(s:find("no job control", 1, true), s)
        assert.falsy(s:find("cannot set terminal process group", 1, true), s)
        -- Its own devpts: one pty there, not the host's others (tmux's among them).
        assert.truthy(s:find("\n/dev/pts/0 /dev/pts/ptmx\n", 1, true), s)
        modes_restored()
      end)

      it("Ctrl-C reaches the sandbox's foreground job, children too", function()
        if skip() then return end
        command(P .. " run default -- sh -c 'echo started; sleep 6; echo after'", 1)
        wait_for("started")
        keys("C-c")
        wait_for("done1 rc=130", 1, 4)
        -- A line of its own: the command typed (which may wrap at any width) also holds "after".
        assert.falsy(screen():find("\nafter\n", 1, true))
        modes_restored()
        command(P .. " run default -- sh -c 'echo started; sleep 6; echo after'", 2)
        wait_for("started", 2)
        keys("C-\\")
        wait_for("done2 rc=131", 1, 4)
        modes_restored()
      end)

      it("Ctrl-Z suspends the whole run and gives the prompt back; fg resumes it", function()
        if skip() then return end
        keys("stty -g > " .. D .. "/before; " .. P .. " run default -- sh -c 'echo started; sleep 2; echo after-z'; " ..
          "echo done1", "Enter")
        wait_for("started")
        keys("C-z")
        wait_for("Stopped")
        -- At the prompt while the run is stopped: the caller's own modes.
        keys("stty -g > " .. D .. "/after; sleep 3; jobs; echo still-stopped", "Enter")
        wait_for("still-stopped")
        modes_restored()
        local s = screen()
        assert.falsy(s:find("\nafter%-z\n"), s)
        keys("fg", "Enter")
        wait_for("after-z")
        keys("stty -g > " .. D .. "/after; echo written", "Enter")
        wait_for("written")
        modes_restored()
      end)

      it("without a pid namespace, a setsid'd process holding the pty does not hold the run", function()
        if skip() then return end
        local p = H.profile(NO_PIDNS)
        local pidfile = D .. "/leftover"
        finally(function()
          H.sh("p=$(cat " .. pidfile .. " 2>/dev/null) && [ -n \"$p\" ] && kill $p 2>/dev/null")
          os.remove(p)
        end)
        command(P .. " run " .. p .. " -- sh -c " .. H.quote("setsid sleep 30 & echo $! > " .. pidfile ..
          "; sleep 0.5; echo x"), 1)
        -- Not 30 s later, when the sleep lets the pty go (lunshare spun meanwhile, its
        -- caller's terminal raw).
        wait_for("done1 rc=0", 1, 5)
        modes_restored()
        assert.equal(0, H.sh("kill -0 $(cat " .. pidfile .. ")").code, "the sleep was not holding the pty")
        assert.equal(1, H.sh("pgrep -f " .. H.quote("^" .. H.bin .. " run " .. p)).code, "lunshare is still running")
      end)

      it("kill %1 of a suspended run ends it, and bg lets it go on without the terminal", function()
        if skip() then return end
        local fg, running = marker_sleep(6)
        keys("stty -g > " .. D .. "/before; " .. P .. " run default -- sh -c " .. H.quote("echo started; " .. fg), "Enter")
        wait_for("started")
        keys("C-z")
        wait_for("Stopped")
        -- bash sends SIGTERM, then SIGCONT, to a run in the background: the supervisor
        -- must not make the terminal raw from there (SIGTTOU would stop it again). Its
        -- status is bash's notice at the next prompt (its wait takes the job for stopped
        -- until it has seen it continue).
        keys("kill %1", "Enter")
        assert.equal(0, H.sh(H.wait_until("! " .. running, 10)).code, "the run stayed stopped:\n" .. screen())
        keys("jobs; stty -g > " .. D .. "/after; echo wri''tten1", "Enter")
        wait_for("written1", 1, 10)
        assert.truthy(screen():find("Exit 143", 1, true), screen())
        modes_restored()
        -- bg: the run goes on in the background (it reads nothing of the terminal, its
        -- modes stay the caller's), and fg brings it back.
        keys("clear", "Enter")
        keys("stty -g > " .. D .. "/before; " .. P .. " run default -- sh -c " ..
          H.quote("echo started2; read x; echo got-$x; " .. fg), "Enter")
        wait_for("started2")
        keys("C-z")
        wait_for("Stopped")
        keys("bg; sleep 1; jobs; stty -g > " .. D .. "/after; echo wri''tten2", "Enter")
        wait_for("written2", 1, 10)
        assert.truthy(screen():find("Running", 1, true), screen())
        modes_restored()
        keys("fg", "Enter")
        H.sh("sleep 0.5")
        keys("line", "Enter")
        wait_for("got-line")
        keys("C-c")
        -- Typed once lunshare is gone, so that the caller's shell reads it.
        assert.equal(0, H.sh(H.wait_until("! pgrep -f " .. H.quote("^" .. H.bin .. " run default -- sh -c echo started2"),
          10)).code, "the run outlived Ctrl-C")
        keys("stty -g > " .. D .. "/after; echo wri''tten3", "Enter")
        wait_for("written3", 1, 10)
        modes_restored()
        assert.equal(0, H.sh(H.wait_until("! " .. running, 10)).code, "a process of the sandbox outlived the run")
      end)

      -- A loop no other process has (its text holds this run's mark), started by cmd
      -- (a shell line with LOOP where the loop goes): the run is suspended (Ctrl-Z, or
      -- the command stops itself), and from outside the loop is seen stopped (state T,
      -- or its cgroup frozen), then running again after fg.
      local function suspends_all(n, profile, cmd, key)
        local mark = "lsh" .. RAND .. n
        local loop = "while :; do sleep 0.3; done; : " .. mark
        local find = "pgrep -f '^sh -c while :; do sleep 0[.]3; done; : " .. mark .. "$'"
        -- Stopped: state T, or a frozen cgroup (the freezer's tasks sleep in S).
        local stopped = "p=$(" .. find .. ") && [ -n \"$p\" ] && { " ..
          "[ \"$(sed 's/.*) //' /proc/$p/stat | cut -c1)\" = T ] || " ..
          "grep -qx 'frozen 1' /sys/fs/cgroup$(sed -n 's/^0:://p' /proc/$p/cgroup)/cgroup.events; }"
        keys("clear", "Enter")
        keys(P .. " run " .. profile .. " -- sh -c " .. H.quote(cmd:gsub("LOOP", function() return loop end)) ..
          "; printf 'done%s\\n' " .. n, "Enter")
        assert.equal(0, H.sh(H.wait_until(find .. " >/dev/null", 20)).code, "the loop never started:\n" .. screen())
        if key then keys(key) end
        wait_for("Stopped")
        assert.equal(0, H.sh(H.wait_until(stopped, 5)).code, "the loop goes on while the run is suspended:\n" .. screen())
        -- And it stays so.
        H.sh("sleep 1")
        assert.equal(0, H.sh(stopped).code, "the loop went on:\n" .. screen())
        keys("fg", "Enter")
        assert.equal(0, H.sh(H.wait_until("! { " .. stopped .. "; }", 5)).code, "fg did not resume the loop")
        keys("C-c")
        wait_for("done" .. n)
        assert.equal(0, H.sh(H.wait_until("! " .. find .. " >/dev/null", 10)).code, "the loop outlived the run")
      end

      it("Ctrl-Z stops every process of the sandbox, a setsid loop too, and fg continues them", function()
        if skip() then return end
        -- pid 1 stops its namespace (no cgroup in default).
        suspends_all(1, "default", 'setsid sh -c "LOOP" & exec sleep 1000', "C-z")
        -- A command that stops itself: its background subshell of the same group stops too.
        suspends_all(2, "default", 'sh -c "LOOP" & sleep 1; kill -STOP $$; wait', nil)
        -- With a cgroup of the run: its freezer on cgroup v2 (v1: pid 1 again). Rootless
        -- runs get one only where cgroups are delegated: root's case says it.
        if mode == "root" then
          local cg = H.profile("return {\n  extends = 'default',\n  limits = { pids = 64 },\n}\n")
          suspends_all(3, cg, 'setsid sh -c "LOOP" & exec sleep 1000', "C-z")
        end
        -- Without a pid namespace: the process group.
        local nopid = H.profile(NO_PIDNS)
        suspends_all(4, nopid, 'sh -c "LOOP" & sleep 1; kill -STOP $$; wait', nil)
      end)

      it("the caller's terminal modes come back when the command is killed, times out or fails", function()
        if skip() then return end
        command(P .. " run default -- sh -c 'kill -KILL $$'", 1)
        wait_for("done1 rc=137")
        modes_restored()
        command(P .. " run --timeout 1 default -- sleep 30", 2)
        wait_for("done2 rc=124")
        modes_restored()
        command(P .. " run default -- no-such-command", 3)
        wait_for("done3 rc=127")
        modes_restored()
        -- SIGTERM from elsewhere to a run in the foreground.
        command("sh -c 'echo $$ > " .. D .. "/pid; exec " .. P .. " run default -- sleep 30'", 4)
        H.sh(H.wait_until("[ -s " .. D .. "/pid ] && pgrep -P $(cat " .. D .. "/pid) >/dev/null", 10))
        H.sh("kill -TERM $(cat " .. D .. "/pid)")
        wait_for("done4 rc=143")
        modes_restored()
        -- A run in the background gets no pty (it would stop at its first tcsetattr).
        command(P .. " run default -- sh -c 'tty; true' & wait $!", 5)
        wait_for("done5 rc=0")
        assert.truthy(screen():find("\nnot a tty\n", 1, true), screen())
        modes_restored()
      end)

      it("TIOCSTI inside reaches only the sandbox's own terminal", function()
        if skip() then return end
        if H.sh("cat /proc/sys/dev/tty/legacy_tiocsti 2>/dev/null").out:match("^0") then
          return pending("dev.tty.legacy_tiocsti=0: the kernel refuses TIOCSTI to everyone")
        end
        -- The filter lets TIOCSTI through: only the pty keeps the pushed line in.
        local p = H.profile("return {\n  extends = 'default',\n  seccomp = { allow = { '@tty' } },\n}\n")
        local marker = D .. "/typed"
        local push = "for my $c (split //, qq(touch " .. marker .. "\\n)) { ioctl(STDIN, 0x5412, $c) or die qq(TIOCSTI: $!\\n) }"
        command(P .. " run " .. p .. " -- perl -e " .. H.quote(push), 1)
        wait_for("done1 rc=0")
        keys("echo next", "Enter")
        wait_for("next", 2)
        assert.is_nil(io.open(marker), screen())
        -- And --no-pty with the terminal shared: the line escapes (the test can fail).
        local shared = H.profile("return {\n  extends = 'default',\n  terminal = true,\n  seccomp = { allow = { '@tty' } },\n}\n")
        command(P .. " run --no-pty " .. shared .. " -- perl -e " .. H.quote(push), 2)
        H.sh(H.wait_until("[ -e " .. marker .. " ]", 10))
        assert.truthy(io.open(marker), screen())
        os.remove(p)
        os.remove(shared)
      end)

      it("--no-pty runs without one", function()
        if skip() then return end
        command(P .. " run --no-pty default -- tty", 1)
        wait_for("done1 rc=1") -- tty(1) says 1 when not a tty; not "done1": the typed command holds that
        assert.truthy(screen():find("\nnot a tty\n", 1, true), screen())
        modes_restored()
        -- The terminal's Ctrl-C reaches lunshare, which ends the whole sandbox at once.
        command(P .. " run --no-pty default -- bash -c 'echo started; sleep 6; echo after'", 2)
        wait_for("started")
        keys("C-c")
        wait_for("done2 rc=130", 1, 4)
        -- A line of its own: the command typed (which may wrap at any width) also holds "after".
        assert.falsy(screen():find("\nafter\n", 1, true))
        modes_restored()
      end)
    end)
  end)
end
