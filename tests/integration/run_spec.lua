-- `lunshare run` launches real sandboxes; each case runs as root and as nobody and checks
-- what was built from inside and from outside. #integration
local H = require "helpers"

local NS = { "user", "mnt", "pid", "net", "ipc", "uts", "cgroup", "time" }

for _, mode in ipairs(H.modes) do
  describe("run (" .. mode .. ")", function()
    local function run(args, opts)
      opts = opts or {}
      opts.mode = mode
      return H.lunshare(args, opts)
    end

    it("gives every requested namespace its own instance", function()
      local script = "for k in " .. table.concat(NS, " ") .. "; do readlink /proc/self/ns/$k; done"
      local r = run({ "run", "default", "--", "sh", "-c", script })
      assert.equal(0, r.code, r.err)
      local inside = H.lines(r.out)
      assert.equal(#NS, #inside)
      for i, kind in ipairs(NS) do
        local host = H.ns_inode(kind)
        assert.truthy(inside[i]:match("%[(%d+)%]"), inside[i])
        assert.not_equal(host, inside[i]:match("%[(%d+)%]"), kind .. " is shared with the host")
      end
    end)

    it("maps the caller to root inside, and a root caller to an unprivileged id", function()
      -- Inside and from the host alike: root inside is the caller outside, and only that
      -- id; for a root caller it is never host root but the first id of root's /etc/subuid
      -- range or the fixed 2000000000. The command prints what it sees on stderr, then says
      -- "ready"; the host then looks at it: the supervisor's grandchild (pid 1's child).
      local drop = mode == "rootless" and H.DROP or ""
      local r = H.after_ready(drop .. H.quote(H.bin) .. " run default -- sh -c " ..
        H.quote("{ id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map; id -G; } >&2; echo ready; exec sleep 60"),
        "c=$(lsh_desc $P | tail -1); cat /proc/$c/uid_map; echo ---; cat /proc/$c/gid_map; echo ---; " ..
        "grep -E '^(Uid|Gid):' /proc/$c/status; echo ---; readlink /proc/$c/exe; kill $c; wait $P")
      local outside = H.inside_root_uid(mode)
      assert.not_equal(0, outside)
      local umap, gmap, st, exe = r.out:match("^(.-)%-%-%-\n(.-)%-%-%-\n(.-)%-%-%-\n(.-)$")
      assert.truthy(umap, r.out .. r.err .. r.cmd_err)
      assert.equal("/usr/bin/sleep\n", exe, "the command was not found")
      local l = H.lines(r.cmd_err) -- what the command saw, on its stderr
      assert.equal(5, #l, r.cmd_err)
      assert.equal("0", l[1])
      assert.equal("0", l[2])
      assert.same({ "0", tostring(outside), "1" }, { l[3]:match("(%d+)%s+(%d+)%s+(%d+)") })
      assert.same({ "0", tostring(outside), "1" }, { l[4]:match("(%d+)%s+(%d+)%s+(%d+)") })
      assert.equal(1, #H.lines(umap))
      assert.same({ "0", tostring(outside), "1" }, { umap:match("(%d+)%s+(%d+)%s+(%d+)") })
      assert.same({ "0", tostring(outside), "1" }, { gmap:match("(%d+)%s+(%d+)%s+(%d+)") })
      assert.truthy(st:find("Uid:%s+" .. outside .. "%s"), st)
      assert.equal("0", l[5]) -- no supplementary group of the caller's (root's group 0) inside
    end)

    it("runs a reaper as pid 1 and the command as pid 2", function()
      local r = run({ "run", "default", "--", "sh", "-c", "echo $$ $PPID" })
      assert.equal(0, r.code, r.err)
      assert.equal("2 1\n", r.out)
    end)

    it("runs the command as pid 1 with pid1 = command", function()
      local p = H.profile([[return { namespaces = { "user", "pid" }, pid1 = "command" }]])
      local r = run({ "run", p, "--", "sh", "-c", "echo $$" })
      assert.equal(0, r.code, r.err)
      assert.equal("1\n", r.out)
    end)

    it("sets the host name and domain name", function()
      local p = H.profile([[return { namespaces = { "user", "uts" }, hostname = "box1", domainname = "lab" }]])
      local r = run({ "run", p, "--", "sh", "-c", "hostname; cat /proc/sys/kernel/domainname" })
      assert.equal(0, r.code, r.err)
      assert.equal("box1\nlab\n", r.out)
      assert.not_equal("box1", H.sh("hostname").out:gsub("\n", ""))
    end)

    it("offsets the monotonic and boot clocks", function()
      local p = H.profile([[return { namespaces = { "user", "pid", "time" },
        time = { monotonic = 86400, boottime = 172800 } }]])
      local r = run({ "run", p, "--", "cat", "/proc/self/timens_offsets", "/proc/uptime" })
      assert.equal(0, r.code, r.err)
      assert.truthy(r.out:find("monotonic%s+86400%s+0"), r.out)
      assert.truthy(r.out:find("boottime%s+172800%s+0"), r.out)
      local host_up = tonumber(H.sh("cut -d' ' -f1 /proc/uptime").out)
      local up = tonumber(r.out:match("\n(%d+%.%d+) "))
      assert.truthy(up and up > host_up + 172000, "uptime inside " .. tostring(up))
    end)

    it("exits with the command's status", function()
      assert.equal(7, run({ "run", "default", "--", "sh", "-c", "exit 7" }).code)
      assert.equal(0, run({ "run", "default", "--", "true" }).code)
    end)

    it("exits 128+N when the command dies of signal N", function()
      assert.equal(143, run({ "run", "default", "--", "sh", "-c", "kill -TERM $$" }).code)
      assert.equal(137, run({ "run", "default", "--", "sh", "-c", "kill -KILL $$" }).code)
    end)

    -- Each runs the command, waits for its "ready", signals lunshare, and prints its status.
    local function signalled(script, sig, wait_for)
      return H.after_ready(H.quote(H.bin) .. " run default -- sh -c " .. H.quote(script),
        (wait_for or "") .. "kill -" .. sig .. " $P; wait $P; echo status=$?; wait; cat $O", { mode = mode })
    end

    it("passes SIGTERM sent to lunshare on to the command", function()
      local r = signalled("echo ready; exec sleep 60", "TERM")
      assert.equal("status=143\n", r.out, r.err .. r.cmd_err)
    end)

    it("ends a command that stopped itself when SIGTERM is passed on", function()
      -- The signal goes once the command is stopped (state T), seen from the host.
      local r = signalled("echo ready; kill -STOP $$; echo resumed", "TERM",
        H.wait_until([[lsh_desc $P | while read c; do grep -q '^State:.*T' /proc/$c/status && echo T; done | grep -q T]], 30) ..
        " || echo not-stopped; ")
      assert.equal("status=143\n", r.out, r.err .. r.cmd_err)
    end)

    it("passes SIGINT on to the command, which may handle it", function()
      -- (H.after_ready starts it as a foreground command would be: SIGINT not ignored.)
      local r = signalled([[trap "exit 42" INT; echo ready; sleep 60 & wait]], "INT")
      assert.equal("status=42\n", r.out, r.err .. r.cmd_err)
    end)

    -- Every signal lunshare forwards must reach a handler of the command's, through the
    -- reaper (pid 1) or straight to the command when it is pid 1 itself. The command says
    -- it is ready once its trap is set; lunshare's pid comes first on the same pipe
    -- (written before the exec), so the signal goes to this very run and no other.
    local command_pid1 = H.profile('return { extends = "default", pid1 = "command" }\n')
    for _, pid1 in ipairs({ "reaper", "command" }) do
      for _, sig in ipairs({ "HUP", "INT", "QUIT", "TERM", "USR1", "USR2" }) do
        it("passes SIG" .. sig .. " sent to lunshare on to the command's handler (pid1 = " .. pid1 .. ")", function()
          local profile = pid1 == "command" and command_pid1 or "default"
          -- The command waits on a child that never ends (a cat of a FIFO it also holds
          -- open for writing): the wait builtin runs a trap that came in before it began,
          -- where a read would miss it and block for good.
          local inside = "f=/tmp/hold; mkfifo $f; trap 'echo got-" .. sig .. "; kill $!; exit 0' " .. sig ..
            "; cat <> $f >/dev/null & echo ready; wait $!; echo not-interrupted"
          -- env --default-signal: a caller's ignored INT or QUIT would be the command's too.
          local script = '{ sh -c \'echo "pid $$"; exec env --default-signal=INT,QUIT "$0" run "$1" -- sh -c "$2"\' ' ..
            H.join({ H.bin, profile, inside }) .. '; echo "rc=$?"; } | ' ..
            '{ read -r _ pid; read -r l; [ "$l" = ready ] && kill -' .. sig .. ' "$pid"; cat; }'
          local r = H.sh("timeout -k 5 30 sh -c " .. H.quote(script), { mode = mode })
          assert.equal(0, r.code, r.err)
          assert.equal("got-" .. sig .. "\nrc=0\n", r.out, r.err)
        end)
      end
    end

    it("gives the command the profile's environment only", function()
      local r = run({ "run", "default", "--", "env" }, { env = "SECRET_TOKEN=x TERM=dumb" })
      assert.equal(0, r.code, r.err)
      assert.falsy(r.out:find("SECRET_TOKEN"))
      assert.truthy(r.out:find("TERM=dumb"))
      assert.truthy(r.out:find("PATH=/usr/local/bin"))
    end)

    it("sets and unsets variables as the profile says", function()
      local p = H.profile([[return { env = { clear = false, set = { GREETING = "hi" }, unset = { "SECRET_TOKEN" } } }]])
      local r = run({ "run", p, "--", "env" }, { env = "SECRET_TOKEN=x OTHER=y" })
      assert.truthy(r.out:find("GREETING=hi"))
      assert.truthy(r.out:find("OTHER=y"))
      assert.falsy(r.out:find("SECRET_TOKEN"))
    end)

    it("changes to the profile's working directory", function()
      local p = H.profile([[return { cwd = "/usr/share" }]])
      local r = run({ "run", p, "--", "pwd" })
      assert.equal("/usr/share\n", r.out)
    end)

    it("runs the profile's command when none is given", function()
      local p = H.profile([[return { namespaces = { "user" }, command = { "echo", "from-profile" } }]])
      local r = run({ "run", p })
      assert.equal("from-profile\n", r.out)
    end)

    it("closes the caller's extra fds", function()
      local r = H.sh("exec 7</dev/null; " .. H.quote(H.bin) .. " run default -- ls /proc/self/fd", { mode = mode })
      assert.equal(0, r.code, r.err)
      assert.same({ "0", "1", "2", "3" }, H.lines(r.out)) -- 3 is ls's own directory fd
    end)

    it("fails with exit 127 (not found) and names the command when exec fails", function()
      local r = run({ "run", "default", "--", "no-such-command-lsh" })
      assert.equal(127, r.code)
      assert.equal("lunshare: command line: exec no-such-command-lsh: No such file or directory\n", r.err)
    end)

    it("leaves no process behind", function()
      -- A command line no other run on this machine has: this run's tag in the seconds.
      local secs = "100." .. tonumber(H.RUN, 16)
      local r = run({ "run", "default", "--", "sh", "-c", "sleep " .. secs .. " & echo started" })
      assert.equal(0, r.code)
      assert.equal("started\n", r.out)
      assert.equal("", H.sh("pgrep -f " .. H.quote("^sleep " .. secs:gsub("%.", "[.]") .. "$")).out)
    end)
  end)
end

describe("bad input", function()
  local cases = {
    { { "frobnicate" }, "lunshare: unknown command 'frobnicate' (see 'lunshare help')\n" },
    { { "run", "no-such-profile-lsh" }, "^lunshare: no%-such%-profile%-lsh: no profile named 'no%-such%-profile%-lsh'" },
    { { "run", "/nonexistent/p.lua" }, "^lunshare: /nonexistent/p.lua: cannot read profile /nonexistent/p.lua" },
  }
  for _, c in ipairs(cases) do
    it("gives one line and exit 2 for " .. table.concat(c[1], " "), function()
      local r = H.lunshare(c[1])
      assert.equal(2, r.code)
      assert.equal(1, #H.lines(r.err), r.err)
      if c[2]:sub(1, 1) == "^" then
        assert.truthy(r.err:find(c[2]), r.err)
      else
        assert.equal(c[2], r.err)
      end
      assert.falsy(r.err:find("traceback"))
    end)
  end

  it("rejects a profile that is not a table", function()
    local p = H.profile("return 42")
    local r = H.lunshare({ "run", p })
    assert.equal(2, r.code)
    assert.equal("lunshare: " .. p .. ": a profile must return a table, got number\n", r.err)
  end)

  it("rejects an unknown namespace with a suggestion", function()
    local p = H.profile("return {\n  namespaces = { 'user', 'utz' },\n}\n")
    local r = H.lunshare({ "run", p })
    assert.equal(2, r.code)
    assert.equal("lunshare: " .. p .. ":2: namespaces[2]: unknown namespace 'utz' (did you mean 'uts'?); " ..
      "expected one of user, mount, pid, net, ipc, uts, cgroup, time\n", r.err)
  end)

  it("reports a syntax error with its line", function()
    local p = H.profile("return {\n  hostname = ,\n}\n")
    local r = H.lunshare({ "run", p })
    assert.equal(2, r.code)
    assert.truthy(r.err:find("^lunshare: " .. p:gsub("%p", "%%%0") .. ":2: "), r.err)
  end)
end)

describe("development switch", function()
  it("loads the scripts from LUNSHARE_SCRIPTS instead of the embedded ones", function()
    local dir = H.tmpdir()
    H.sh("cp -r " .. H.quote(H.root .. "/scripts/lunshare") .. " " .. H.quote(dir .. "/"))
    local f = io.open(dir .. "/lunshare/cmd/version.lua", "a")
    f:write("\nM.main = function() io.stdout:write('from the source tree\\n') return 0 end\nreturn M\n")
    f:close()
    -- The appended return makes the file's first `return M` unreachable code otherwise.
    H.sh("sed -i '0,/^return M$/{/^return M$/d}' " .. H.quote(dir .. "/lunshare/cmd/version.lua"))
    local r = H.sh("LUNSHARE_SCRIPTS=" .. H.quote(dir) .. " " .. H.quote(H.bin) .. " version")
    H.rm(dir)
    assert.equal("from the source tree\n", r.out, r.err)
    assert.truthy(H.lunshare({ "version" }).out:find("^lunshare "))
  end)
end)

describe("output errors", function()
  it("makes a write error on stdout a failure, not an empty success", function()
    for _, args in ipairs({ "explain default --json", "check default", "version" }) do
      local r = H.sh(H.quote(H.bin) .. " " .. args .. " >/dev/full")
      assert.equal(1, r.code, args)
      assert.equal("lunshare: write error: No space left on device\n", r.err)
    end
  end)
end)
