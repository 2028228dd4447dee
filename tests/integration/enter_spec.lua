-- lunshare enter: a process joined to a named sandbox has exactly the confinement of the
-- sandbox's command (capability sets, no_new_privs, seccomp, rlimits, ids, namespaces,
-- root and cwd), root and rootless, and enter refuses what is not a lunshare sandbox of the
-- caller's. #integration
local H = require "helpers"

local n = 0
local function fresh()
  n = n + 1
  return "ls" .. H.RUN .. "-e" .. n
end

-- What a process says of its own confinement, one line each.
local STATUS = [[grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp|Seccomp_filters):' /proc/self/status; ]] ..
  [[ulimit -n; id -u; id -g; pwd; hostname; cat /proc/self/uid_map | tr -s ' '; readlink /proc/self/ns/pid /proc/self/ns/mnt /proc/self/ns/net /proc/self/ns/user]]

-- lunshare running a named sandbox whose command prints its confinement after "ready",
-- then waits.
local function named(name, profile)
  return H.quote(H.bin) .. " run --no-pty --name " .. name .. " " .. (profile or "") ..
    " -- sh -c " .. H.quote("echo ready; ( " .. STATUS .. " ) > $HOME/status; echo done; exec sleep 60")
end

describe("enter", function()
  for _, mode in ipairs(H.modes) do
    describe("(" .. mode .. ")", function()
      local function same_confinement(profile)
        local name = fresh()
        local r = H.after_ready(named(name, profile), table.concat({
          -- The command's status lines, written where it can write (its /tmp is its
          -- own: read them through enter itself, from the same file).
          "until grep -q done $O; do sleep 0.05; done",
          H.quote(H.bin) .. " enter " .. name .. " -- cat /tmp/status > $O.cmd; echo cat=$?",
          H.quote(H.bin) .. " enter " .. name .. " -- sh -c " .. H.quote(STATUS) .. " > $O.enter; echo enter=$?",
          "cmp $O.cmd $O.enter && echo same",
          "cat $O.enter",
          "kill $P; wait $P",
        }, "; "), { mode = mode, env = "HOME=/tmp" })
        return r
      end

      it("gives the entered process the command's capability sets, no_new_privs, seccomp, ids, namespaces and cwd", function()
        local r = same_confinement()
        assert.truthy(r.out:find("^cat=0\nenter=0\nsame\n"), r.out .. r.err .. r.cmd_err)
        -- And that confinement is the default profile's: nothing kept, the filter on.
        assert.truthy(r.out:find("\nCapEff:\t0000000000000000\n", 1, true), r.out)
        assert.truthy(r.out:find("\nCapBnd:\t0000000000000000\n", 1, true), r.out)
        assert.truthy(r.out:find("\nNoNewPrivs:\t1\nSeccomp:\t2\n", 1, true), r.out)
        assert.truthy(r.out:find("\n0\n0\n/\nlunshare\n", 1, true), r.out)
      end)

      it("replays a profile's kept capability and rlimit, and no more", function()
        local p = H.profile('return { extends = "default", capabilities = { "net_bind_service" }, limits = { nofile = 77 } }')
        local r = same_confinement(p)
        H.rm(p)
        assert.truthy(r.out:find("^cat=0\nenter=0\nsame\n"), r.out .. r.err .. r.cmd_err)
        -- CAP_NET_BIND_SERVICE is bit 10.
        assert.truthy(r.out:find("\nCapEff:\t0000000000000400\n", 1, true), r.out)
        assert.truthy(r.out:find("\nCapBnd:\t0000000000000400\n", 1, true), r.out)
        assert.truthy(r.out:find("\n77\n", 1, true), r.out)
      end)

      -- A profile keeping sys_admin runs its command in a user namespace of its own beneath
      -- the sandbox's (mounts locked): enter joins that one, the recorded one's child.
      it("enters a sandbox that keeps sys_admin, whose command has a nested user namespace", function()
        local p = H.profile('return { extends = "default", capabilities = { "sys_admin" } }')
        local r = same_confinement(p)
        H.rm(p)
        assert.truthy(r.out:find("^cat=0\nenter=0\nsame\n"), r.out .. r.err .. r.cmd_err)
        -- CAP_SYS_ADMIN is bit 21.
        assert.truthy(r.out:find("\nCapEff:\t0000000000200000\n", 1, true), r.out)
      end)

      it("joins the command's pid namespace, and passes its exit status back", function()
        local name = fresh()
        local r = H.after_ready(named(name), table.concat({
          H.quote(H.bin) .. " enter " .. name .. " -- sh -c 'ls /proc | grep -c -x 1; exit 7'; echo code=$?",
          H.quote(H.bin) .. " enter " .. name .. " -- /nonexistent 2>/dev/null; echo notfound=$?",
          -- By the supervisor's pid ($P) too.
          H.quote(H.bin) .. " enter $P -- hostname; echo bypid=$?",
          "kill $P; wait $P",
        }, "; "), { mode = mode, env = "HOME=/tmp" })
        assert.equal("1\ncode=7\nnotfound=127\nlunshare\nbypid=0\n", r.out, r.err .. r.cmd_err)
      end)

      it("gives the entered process a pty of its own, from the sandbox's devpts, when stdin is a terminal", function()
        if H.sh("command -v tmux").code ~= 0 then pending("tmux is not installed") return end
        local home, D, name = H.tmpdir("711"), H.tmpdir("1777"), fresh()
        local T = "tmux -S " .. H.quote(home .. "/tmux") .. " "
        finally(function()
          H.sh(T .. "kill-server 2>/dev/null")
          H.rm(home)
          H.rm(D)
        end)
        local as = mode == "rootless" and H.DROP or ""
        H.sh(T .. "new-session -d -s s -x 120 -y 30 " .. H.quote(as .. "env -i PATH=/usr/bin:/bin HOME=/tmp TERM=xterm " ..
          "XDG_RUNTIME_DIR=" .. D .. " PS1='$ ' sh"))
        local P = H.quote(H.bin)
        local line = P .. " run --no-pty --name " .. name .. " -- sleep 60 >/dev/null 2>&1 & until " .. P ..
          " ps | grep -q " .. name .. "; do sleep 0.05; done; stty -g > " .. D .. "/before; " .. P .. " enter " .. name ..
          " -- sh -c 'echo tty=$(tty); echo pts=$(ls /dev/pts | tr \"\\n\" \" \")'; stty -g > " .. D ..
          "/after; kill %1; wait; echo finished"
        -- Typed once the shell prompts (keys sent before it are echoed ahead of the prompt).
        H.sh(H.wait_until(T .. "capture-pane -p -t s | grep -q '^\\$ '", 30))
        H.sh(T .. "send-keys -t s " .. H.quote(line) .. " Enter")
        local r = H.sh(H.wait_until(T .. "capture-pane -p -t s | grep -q '^finished'", 30))
        local screen = H.sh(T .. "capture-pane -p -t s").out
        assert.equal(0, r.code, screen)
        -- The sandbox ran without a pty: the only one in its devpts is enter's.
        assert.truthy(screen:find("\ntty=/dev/pts/0\npts=0 ptmx\n", 1, true), screen)
        assert.equal(H.read(D .. "/before"), H.read(D .. "/after"), "the caller's terminal modes changed")
      end)

      -- Between its join and its exec, an entering lunshare has left its own ids for the
      -- sandbox's, and has not yet its filter: dumpable then, the sandbox's command (same
      -- ids, same user namespace) could open its /proc/PID/mem and patch the filter away
      -- (the review of s5 made a setuid shell on the host so, as root through a writable
      -- bind). The command here watches for 20 s while enter runs 15 times (ASan-slow enters fit).
      it("is never open to the sandbox's processes before its exec (non-dumpable from the join on)", function()
        local name, d = fresh(), H.tmpdir("755")
        H.sh("cp " .. H.quote(H.probes .. "/mem_watch") .. " " .. H.quote(d) .. " && chmod 755 " .. H.quote(d .. "/mem_watch"))
        local p = H.profile('return { extends = "default", mounts = { ro_bind(' .. string.format("%q", d) .. ', "/w") } }')
        finally(function() H.rm(d); H.rm(p) end)
        local r = H.after_ready(H.quote(H.bin) .. " run --no-pty --name " .. name .. " " .. p .. " -- /w/mem_watch 20",
          table.concat({
            "i=0; while [ $i -lt 15 ]; do " .. H.quote(H.bin) .. " enter " .. name .. " -- /bin/true || echo enter-failed; " ..
              "i=$((i + 1)); done",
            "wait $P; " .. H.wait_until("grep -q opened $O", 10) .. " && cat $O",
          }, "; "), { mode = mode, env = "HOME=/tmp" })
        assert.equal("opened 0\n", r.out, r.err .. r.cmd_err)
      end)

      it("refuses a record whose process is not in the user namespace it names (checked through the pidfd)", function()
        -- A forged record of the caller's own: live processes with their true start times,
        -- but a user namespace they are not in.
        local name = fresh()
        local set_s = [[if [ "$(id -u)" = 0 ]; then S=/run/lunshare/sandboxes; else S=$XDG_RUNTIME_DIR/lunshare/sandboxes; fi; ]]
        local r = H.sh(set_s .. table.concat({
          "mkdir -p -m 700 $S; sleep 30 & z=$!; st() { sed 's/.*) //' /proc/$1/stat | cut -d' ' -f20; }",
          [[printf '{"name":"]] .. name .. [[","profile":"default","file":"x","started":1,"enter":{"steps":[],"env":[],"reaper":false}}
]] ..
            [[{"pid":%d,"starttime":%s,"supervisor":%d,"supervisor_starttime":%s,"uid":%d,"ns":{"user":1}}
' ]] ..
            [[$z $(st $z) $$ $(st $$) $(id -u) > $S/]] .. name,
          "chmod 600 $S/" .. name,
          H.quote(H.bin) .. " enter " .. name .. " -- echo entered; echo code=$?",
          "kill $z; rm -f $S/" .. name,
        }, "; "), { mode = mode })
        assert.equal("code=1\n", r.out, r.err)
        assert.truthy(r.err:find("is not in the recorded sandbox's user namespace", 1, true), r.err)
      end)

      it("refuses a process that is not a lunshare sandbox of the caller's", function()
        local r = H.sh("sleep 30 & z=$!; " .. H.quote(H.bin) .. " enter $z -- true; echo code=$?; " ..
          H.quote(H.bin) .. " enter no-such-sandbox -- true; echo code=$?; kill $z", { mode = mode })
        assert.equal("code=1\ncode=1\n", r.out, r.err)
        local lines = H.lines(r.err)
        assert.equal(2, #lines, r.err)
        assert.truthy(lines[1]:find("^lunshare: enter: process %d+ is not a running lunshare sandbox of yours"), r.err)
        assert.truthy(lines[2]:find("^lunshare: enter: no sandbox named \"no%-such%-sandbox\" is running"), r.err)
      end)
    end)
  end

  it("moves the entered process into the sandbox's own cgroup (root, limits)", function()
    local p = H.profile('return { extends = "default", limits = { memory = "256M", pids = 100 } }')
    local name = fresh()
    local r = H.after_ready(named(name, p), table.concat({
      "until grep -q done $O; do sleep 0.05; done",
      "cmd=$(pgrep -P $(sed -n 2p /run/lunshare/sandboxes/" .. name .. " | grep -o '\"pid\":[0-9]*' | head -1 | cut -d: -f2))",
      H.quote(H.bin) .. " enter " .. name .. " -- sh -c 'cat /proc/self/cgroup; cat /sys/fs/cgroup/pids.max 2>/dev/null; " ..
        "sleep 30' > $O.enter & E=$!",
      "until [ -s $O.enter ]; do sleep 0.05; done",
      -- From outside: the entered sleep's host cgroup is the command's.
      -- enter's child waits outside the pid namespace; its child is the entered command.
      "e=$(pgrep -P $(pgrep -P $E)); [ \"$(cat /proc/$e/cgroup)\" = \"$(cat /proc/$cmd/cgroup)\" ] && echo same-cgroup",
      "grep -q lunshare- /proc/$e/cgroup && echo run-cgroup",
      "kill $P; wait $P; wait $E",
    }, "; "), { env = "HOME=/tmp" })
    H.rm(p)
    assert.equal("same-cgroup\nrun-cgroup\n", r.out, r.err .. r.cmd_err)
  end)

  it("refuses another user's sandbox, by name and by pid", function()
    local name = fresh()
    local r = H.after_ready(named(name), table.concat({
      "S=/run/lunshare/sandboxes/" .. name,
      "pid=$(sed -n 2p $S | grep -o '\"pid\":[0-9]*' | head -1 | cut -d: -f2)",
      H.DROP .. " env XDG_RUNTIME_DIR=$HOME " .. H.quote(H.bin) .. " enter " .. name .. " -- id; echo byname=$?",
      H.DROP .. " env XDG_RUNTIME_DIR=$HOME " .. H.quote(H.bin) .. " enter $pid -- id; echo bypid=$?",
      "kill $P; wait $P",
    }, "; "), { env = "HOME=" .. H.quote(H.tmpdir("1777")) })
    assert.equal("byname=1\nbypid=1\n", r.out, r.err .. r.cmd_err)
  end)
end)
