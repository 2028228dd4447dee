-- Named sandboxes: `run --name NAME` (or a profile's name) records the running sandbox in
-- the caller's private state directory, refuses a name in use, and removes the record on
-- every exit path; a record left by a supervisor killed with SIGKILL is recognised as
-- stale and cleaned by the next command. Root and rootless (nobody). #integration
local H = require "helpers"

-- The caller's records, as a shell fragment sets $S.
local SET_S = [[if [ "$(id -u)" = 0 ]; then S=/run/lunshare/sandboxes; else S=$XDG_RUNTIME_DIR/lunshare/sandboxes; fi; ]]

local n = 0
-- A name of this run of the suite, new for each case.
local function fresh()
  n = n + 1
  return "ls" .. H.RUN .. "-" .. n
end

-- lunshare running a named sandbox whose command says "ready" and then waits.
local function named(name, extra)
  return H.quote(H.bin) .. " run --no-pty --name " .. name .. " " .. (extra or "") ..
    " -- sh -c 'echo ready; exec sleep 60'"
end

-- A field of the record's second line (the executor's).
local FIELD = [[field() { sed -n 2p "$S/$1" | grep -o "\"$2\":[0-9]*" | head -1 | cut -d: -f2; }; ]]

describe("named sandboxes", function()
  for _, mode in ipairs(H.modes) do
    describe("(" .. mode .. ")", function()
      it("records pid 1, the supervisor, their start times and namespaces while it runs; a second run of the name is refused", function()
        local name = fresh()
        local r = H.after_ready(named(name), SET_S .. FIELD .. table.concat({
          "ls -l $S/" .. name .. " | cut -c1-10",
          "[ \"$(field " .. name .. " supervisor)\" = $P ] && echo supervisor=ok",
          "pid=$(field " .. name .. " pid); [ \"$(cut -d' ' -f4 /proc/$pid/stat)\" = $P ] && echo pid1=child-of-supervisor",
          "[ \"$(field " .. name .. " starttime)\" = \"$(sed 's/.*) //' /proc/$pid/stat | cut -d' ' -f20)\" ] && echo start=ok",
          "[ \"$(field " .. name .. " supervisor_starttime)\" = \"$(sed 's/.*) //' /proc/$P/stat | cut -d' ' -f20)\" ] && echo sstart=ok",
          -- The command (pid 1's child) is in the namespaces the record names.
          "cmd=$(pgrep -P $pid); u=$(readlink /proc/$cmd/ns/user | tr -dc 0-9); n=$(readlink /proc/$cmd/ns/net | tr -dc 0-9)",
          "[ \"$(field " .. name .. " user)\" = \"$u\" ] && [ \"$(field " .. name .. " net)\" = \"$n\" ] && echo ns=ok",
          "head -1 $S/" .. name .. " | grep -o '\"profile\":\"builtin:default\"'",
          H.quote(H.bin) .. " run --no-pty --name " .. name .. " -- true; echo second=$?",
          "kill -TERM $P; wait $P; echo first=$?",
          "test -e $S/" .. name .. " || echo gone",
        }, "; "), { mode = mode })
        assert.equal(0, r.code, r.out .. r.err .. r.cmd_err)
        assert.equal(table.concat({ "-rw-------", "supervisor=ok", "pid1=child-of-supervisor", "start=ok", "sstart=ok",
          "ns=ok", '"profile":"builtin:default"', "second=1", "first=143", "gone", "" }, "\n"), r.out, r.err .. r.cmd_err)
        -- One line, naming the name and what to do.
        assert.equal("lunshare: run: a sandbox named \"" .. name .. "\" is running (pid ", r.err:match("^[^(]*%(pid "), r.err)
        assert.equal(1, select(2, r.err:gsub("\n", "")), r.err)
      end)

      -- The profile's path is the caller's text, and root's ps lists every user's records:
      -- a terminal escape in it is printed escaped, and a record whose name no run would
      -- take is not listed.
      it("ps prints a record's text escaped, and skips a record under a name run refuses", function()
        local name, d = fresh(), H.tmpdir("755")
        local dir = d .. "/e\27[31mRED"
        H.sh("mkdir " .. H.quote(dir) .. " && echo 'return { extends = \"default\" }' > " .. H.quote(dir .. "/p.lua") ..
          " && chmod -R a+rX " .. H.quote(d))
        finally(function() H.rm(d) end)
        local r = H.after_ready(named(name, H.quote(dir .. "/p.lua")), SET_S .. table.concat({
          H.quote(H.bin) .. " ps",
          -- The same record under a name with an escape, inside and outside.
          "sed 's/\"name\":\"" .. name .. "\"/\"name\":\"x\\\\u001by\"/' $S/" .. name .. " > \"$S/x$(printf '\033')y\"",
          "grep -c u001b \"$S/x$(printf '\033')y\"",
          H.quote(H.bin) .. " ps | grep -c 'x.x1by'",
          "rm -f \"$S/x$(printf '\033')y\"",
          "kill $P; wait $P",
        }, "; "), { mode = mode })
        assert.falsy(r.out:find("\27", 1, true), r.out)
        assert.truthy(r.out:find("e\\x1b[31mRED/p.lua", 1, true) or r.out:find("e\\033[31mRED/p.lua", 1, true) or
          r.out:find("e\\e[31mRED/p.lua", 1, true), r.out)
        assert.truthy(r.out:find("\n1\n0\n", 1, true), r.out)
      end)

      -- The record's start was when the plan was made: a run from a plan cached seconds
      -- before showed that plan's age in ps.
      it("ps counts uptime from the run's start, not from when its cached plan was made", function()
        local name = fresh()
        H.sh(H.quote(H.bin) .. " run --no-pty --name " .. name .. " -- true", { mode = mode })
        H.sh("sleep 3")
        local r = H.after_ready(named(name), table.concat({
          H.quote(H.bin) .. " ps --json | grep -o '\"uptime\": *[0-9]*'",
          "kill $P; wait $P",
        }, "; "), { mode = mode })
        local up = tonumber(r.out:match('"uptime": *(%d+)'))
        assert.truthy(up and up <= 1, r.out .. r.err .. r.cmd_err)
      end)

      for _, sig in ipairs({ "INT", "HUP" }) do
        it("removes the record when lunshare gets SIG" .. sig, function()
          local name = fresh()
          local r = H.after_ready(named(name), SET_S .. table.concat({
            "test -e $S/" .. name .. " && echo recorded",
            "kill -" .. sig .. " $P; wait $P; echo code=$?",
            "test -e $S/" .. name .. " || echo gone",
          }, "; "), { mode = mode })
          assert.truthy(r.out:find("^recorded\ncode=%d+\ngone\n$"), r.out .. r.err .. r.cmd_err)
        end)
      end

      it("removes the record when the run fails after recording (a command not found)", function()
        local name = fresh()
        local r = H.sh(SET_S .. H.quote(H.bin) .. " run --no-pty --name " .. name .. " -- /nonexistent; echo code=$?; " ..
          "ls -A $S | grep -c -x " .. name, { mode = mode })
        assert.truthy(r.out:find("^code=127\n0\n$"), r.out .. r.err)
      end)

      it("a record left by a SIGKILLed supervisor is stale: the next run of the name cleans it and runs", function()
        local name = fresh()
        local r = H.after_ready(named(name), SET_S .. table.concat({
          "kill -KILL $P; wait $P 2>/dev/null",
          "test -e $S/" .. name .. " && echo left",
          H.quote(H.bin) .. " run --no-pty --name " .. name .. " -- true; echo next=$?",
          "test -e $S/" .. name .. " || echo gone",
        }, "; "), { mode = mode })
        assert.equal("left\nnext=0\ngone\n", r.out, r.err .. r.cmd_err)
      end)

      it("a record whose pid now names another process (its start time differs) is stale", function()
        local name = fresh()
        -- A live process of the caller's, recorded with a start time it does not have.
        local r = H.sh(SET_S .. table.concat({
          "mkdir -p $S; sleep 30 & z=$!",
          "printf '{\"name\":\"" .. name .. "\",\"profile\":\"default\",\"file\":\"x\",\"started\":1}\\n" ..
            "{\"pid\":%d,\"starttime\":1,\"supervisor\":%d,\"supervisor_starttime\":1,\"uid\":0,\"ns\":{}}\\n' $z $z > $S/" .. name,
          "chmod 600 $S/" .. name,
          H.quote(H.bin) .. " run --no-pty --name " .. name .. " -- true; echo next=$?",
          "test -e $S/" .. name .. " || echo gone", "kill $z",
        }, "; "), { mode = mode })
        H.sh(SET_S .. "rm -f $S/" .. name, { mode = mode })
        assert.equal("next=0\ngone\n", r.out, r.err)
      end)

      it("a profile's name names the run; --name goes over it", function()
        local name, other = fresh(), fresh()
        local p = H.profile('return { extends = "default", name = "' .. name .. '" }')
        local r = H.after_ready(H.quote(H.bin) .. " run --no-pty " .. p .. " -- sh -c 'echo ready; exec sleep 60'",
          SET_S .. "ls -A $S | grep -x " .. name .. "; kill $P; wait $P", { mode = mode })
        assert.equal(name .. "\n", r.out, r.err .. r.cmd_err)
        r = H.after_ready(H.quote(H.bin) .. " run --no-pty --name " .. other .. " " .. p .. " -- sh -c 'echo ready; exec sleep 60'",
          SET_S .. "ls -A $S | grep -x -e " .. name .. " -e " .. other .. "; kill $P; wait $P", { mode = mode })
        assert.equal(other .. "\n", r.out, r.err .. r.cmd_err)
        H.rm(p)
      end)
    end)
  end

  for _, mode in ipairs(H.modes) do
    describe("ps and stop (" .. mode .. ")", function()
      it("ps lists the caller's running sandboxes (text and JSON) and cleans a stale record on the way", function()
        local a, b, dead = fresh(), fresh(), fresh()
        local r = H.after_ready(named(a), SET_S .. table.concat({
          -- A sandbox whose supervisor is killed, leaving its record stale.
          "( exec " .. named(dead) .. " ) > /dev/null 2>&1 & D=$!",
          H.wait_until("test -e $S/" .. dead, 20) .. " || echo no-dead",
          "kill -KILL $D; wait $D 2>/dev/null",
          "( exec " .. named(b) .. " ) > /dev/null 2>&1 & B=$!",
          H.wait_until("test -e $S/" .. b, 20) .. " || echo no-b",
          H.quote(H.bin) .. " ps > $O.ps; echo ps=$?",
          H.quote(H.bin) .. " ps --json > $O.json; echo json=$?",
          "test -e $S/" .. dead .. " || echo stale-gone",
          "cat $O.ps; echo ---; cat $O.json",
          "kill $P $B; wait $P $B",
        }, "; "), { mode = mode })
        assert.truthy(r.out:find("^ps=0\njson=0\nstale%-gone\n"), r.out .. r.err .. r.cmd_err)
        local text, js = r.out:match("stale%-gone\n(.-)%-%-%-\n(.*)$")
        assert.truthy(text:find("^NAME +"), text)
        for _, name in ipairs({ a, b }) do
          local line = text:match("\n(" .. name:gsub("%-", "%%-") .. " [^\n]*)")
          assert.truthy(line, text)
          -- Then no links and nothing plugged.
          assert.truthy(line:find(" builtin:default +%d+s  user,mount,pid,net,ipc,uts,cgroup,time  %-  %-$"), line)
        end
        assert.falsy(text:find(dead, 1, true), text)
        local rows = require("lunshare.json").decode(js)
        local names = {}
        for _, row in ipairs(rows) do
          if row.name == a or row.name == b then
            names[#names + 1] = row.name
            assert.equal("builtin:default", row.profile)
            assert.equal("integer", math.type(row.pid))
            assert.same({ "user", "mount", "pid", "net", "ipc", "uts", "cgroup", "time" }, row.namespaces)
          end
        end
        table.sort(names)
        assert.same({ a, b }, names)
      end)

      it("stop ends the sandbox through its supervisor and returns once its record is gone", function()
        local name = fresh()
        local r = H.after_ready(named(name), SET_S .. FIELD .. table.concat({
          "pid=$(field " .. name .. " pid)",
          H.quote(H.bin) .. " stop " .. name .. "; echo stop=$?",
          "test -e $S/" .. name .. " || echo gone",
          "test -e /proc/$pid || echo pid1-gone",
          "wait $P; echo run=$?",
        }, "; "), { mode = mode })
        assert.equal("stop=0\ngone\npid1-gone\nrun=143\n", r.out, r.err .. r.cmd_err)
      end)

      it("stop --signal KILL kills pid 1, and the supervisor still cleans up", function()
        local name = fresh()
        local r = H.after_ready(named(name), SET_S .. table.concat({
          H.quote(H.bin) .. " stop --signal KILL " .. name .. "; echo stop=$?",
          "test -e $S/" .. name .. " || echo gone", "wait $P; echo run=$?",
        }, "; "), { mode = mode })
        assert.equal("stop=0\ngone\nrun=137\n", r.out, r.err .. r.cmd_err)
      end)

      it("stop --timeout: a sandbox that ignores SIGTERM is killed when the timeout passes", function()
        local name = fresh()
        local r = H.after_ready(H.quote(H.bin) .. " run --no-pty --name " .. name ..
          [[ -- sh -c 'trap "" TERM; echo ready; while :; do sleep 1; done']], SET_S .. table.concat({
          -- What starting lunshare costs (an ASan build is slow to start), taken out.
          "start=$(date +%s%N); " .. H.quote(H.bin) .. " stop --help >/dev/null; base=$(( $(date +%s%N) - start ))",
          "start=$(date +%s%N)",
          H.quote(H.bin) .. " stop --timeout 1 " .. name .. "; echo stop=$?",
          "echo ms=$(( ($(date +%s%N) - start) / 1000000 )) base=$(( base / 1000000 ))",
          "test -e $S/" .. name .. " || echo gone", "wait $P",
        }, "; "), { mode = mode })
        assert.truthy(r.out:find("^stop=0\nms=%d+ base=%d+\ngone\n$"), r.out .. r.err .. r.cmd_err)
        -- Not before the timeout (the whole wait, start included), and before the
        -- supervisor's own 3 s grace would have done it (what starting costs taken out).
        local ms, base = tonumber(r.out:match("ms=(%d+)")), tonumber(r.out:match("base=(%d+)"))
        assert.truthy(ms >= 1000 and ms - base < 2900, r.out)
      end)

      it("stop never signals a process whose pid a record names with another start time", function()
        local name = fresh()
        local r = H.sh(SET_S .. table.concat({
          "mkdir -p $S; sleep 30 & z=$!",
          [[printf '{"name":"]] .. name .. [[","profile":"default","file":"x","started":1}\n]] ..
            [[{"pid":%d,"starttime":1,"supervisor":%d,"supervisor_starttime":1,"uid":%d,"ns":{}}\n' $z $z $(id -u) > $S/]] .. name,
          "chmod 600 $S/" .. name,
          H.quote(H.bin) .. " stop " .. name .. "; echo stop=$?",
          "kill -0 $z && echo alive", "test -e $S/" .. name .. " || echo gone", "kill $z",
        }, "; "), { mode = mode })
        H.sh(SET_S .. "rm -f $S/" .. name, { mode = mode })
        assert.equal("stop=1\nalive\ngone\n", r.out, r.err)
        assert.equal("lunshare: stop: no sandbox named \"" .. name .. "\" is running (see 'lunshare ps')\n", r.err)
      end)
    end)
  end

  it("ps as nobody does not list root's sandboxes; root's ps lists nobody's (runtime dir and /tmp fallback)", function()
    local mine, theirs, tmpn = fresh(), fresh(), fresh()
    local r = H.sh("unshare --mount sh -c " .. H.quote(table.concat({
      -- /run/user and /tmp of the world's own; the binary (perhaps under /tmp) stays
      -- reachable through a bind.
      "mount -t tmpfs -o mode=755 tmpfs /run/user && mkdir -m 700 /run/user/65534 && chown 65534:65534 /run/user/65534 " ..
        "&& mkdir /run/user/bin && mount --bind " .. H.quote(H.bin:match("^(.*)/[^/]*$")) .. " /run/user/bin " ..
        "&& mount -t tmpfs tmpfs /tmp || exit 99",
      "L=/run/user/bin/" .. H.quote(H.bin:match("([^/]*)$")),
      "N='setpriv --reuid=65534 --regid=65534 --clear-groups --'",
      "F=/run/user/fifo; mkfifo -m 666 $F.1 $F.2 $F.3",
      "( exec $L run --no-pty --name " .. mine .. " -- sh -c 'echo ready; exec sleep 60' > $F.1 ) & R=$!",
      "( exec env XDG_RUNTIME_DIR=/run/user/65534 $N $L run --no-pty --name " .. theirs ..
        " -- sh -c 'echo ready; exec sleep 60' > $F.2 ) & U=$!",
      "( exec env -u XDG_RUNTIME_DIR $N $L run --no-pty --name " .. tmpn ..
        " -- sh -c 'echo ready; exec sleep 60' > $F.3 ) & T=$!",
      "read l < $F.1; read l < $F.2; read l < $F.3",
      "echo root:; $L ps | awk 'NR > 1 { print $1, $2 }' | grep " .. H.RUN .. " | sort",
      "echo nobody:; env XDG_RUNTIME_DIR=/run/user/65534 $N $L ps | awk 'NR > 1 { print $1 }' | grep " .. H.RUN,
      "echo nobody-stops-root:; env XDG_RUNTIME_DIR=/run/user/65534 $N $L stop " .. mine .. " 2>/dev/null; echo code=$?",
      "$L stop " .. theirs .. "; echo root-stops=$?",
      "kill $R $T; wait $R $U $T",
    }, "; ")), { timeout = 60 })
    local want = { mine .. " 0", theirs .. " 65534", tmpn .. " 65534" }
    table.sort(want)
    assert.equal("root:\n" .. table.concat(want, "\n") .. "\nnobody:\n" .. theirs ..
      "\nnobody-stops-root:\ncode=1\nroot-stops=0\n", r.out, r.err)
  end)

  -- A record is its owner's to write, and root's stop acts on every user's: one naming a
  -- supervisor of nobody's own (a live process with its true start time) beside a process
  -- of root's made root's stop signal that process (the review of s5). Pid 1 must be the
  -- supervisor's child.
  it("root's stop of a record nobody forged does not signal a root process it names", function()
    local name = fresh()
    local r = H.sh("unshare --mount sh -c " .. H.quote(table.concat({
      "mount -t tmpfs -o mode=755 tmpfs /run/user && mkdir -m 700 /run/user/65534 && chown 65534:65534 /run/user/65534 " ..
        "&& mkdir /run/user/bin && mount --bind " .. H.quote(H.bin:match("^(.*)/[^/]*$")) .. " /run/user/bin || exit 99",
      "L=/run/user/bin/" .. H.quote(H.bin:match("([^/]*)$")),
      "N='setpriv --reuid=65534 --regid=65534 --clear-groups --'",
      "st() { sed 's/.*) //' /proc/$1/stat | cut -d' ' -f20; }",
      "$N sleep 60 & z=$!; sleep 60 & v=$!",
      [[S=/run/user/65534/lunshare/sandboxes; $N sh -c "umask 077; mkdir -p $S"]],
      [[printf '{"name":"%s","profile":"default","file":"x","started":1}\n]] ..
        [[{"pid":%d,"starttime":%d,"supervisor":%d,"supervisor_starttime":%d,"uid":65534,"ns":{}}\n' ]] .. name ..
        [[ $v $(st $v) $z $(st $z) | $N sh -c "umask 077; cat > $S/]] .. name .. [["]],
      "$L ps | grep -c " .. name,
      "$L stop --timeout 1 " .. name .. " 2>/dev/null; echo stop=$?",
      "kill -0 $v && echo root-process-alive",
      "kill $z $v; wait",
    }, "; ")), { timeout = 60 })
    assert.equal("0\nstop=1\nroot-process-alive\n", r.out, r.err)
  end)

  for _, mode in ipairs(H.modes) do
    it("ns NAME (" .. mode .. "): every namespace of the sandbox's command is its own (root: shared with its pid 1)", function()
      local name = fresh()
      local r = H.after_ready(named(name), SET_S .. FIELD .. table.concat({
        "pid=$(field " .. name .. " pid)",
        H.quote(H.bin) .. " ns " .. name .. " > $O.ns; echo ns=$?",
        H.quote(H.bin) .. " ns --json " .. name .. " > $O.json; echo json=$?",
        H.quote(H.bin) .. " ns > $O.self; echo self=$?",
        "echo pid1=$pid", "cat $O.ns; echo ---; cat $O.json; echo ---; cat $O.self",
        "kill $P; wait $P",
      }, "; "), { mode = mode })
      assert.truthy(r.out:find("^ns=0\njson=0\nself=0\npid1=%d+\n"), r.out .. r.err .. r.cmd_err)
      local pid1 = r.out:match("pid1=(%d+)")
      local text, js, self = r.out:match("pid1=%d+\n(.-)%-%-%-\n(.-)%-%-%-\n(.*)$")
      for _, kind in ipairs({ "user", "mount", "pid", "net", "ipc", "uts", "cgroup" }) do
        local line = text:match("\n(" .. kind .. " [^\n]*)")
        assert.truthy(line and line:find("^%a+ +%d+ +own "), text)
        -- pid 1 is non-dumpable and the host's binary: only root may look at it.
        if mode == "root" then assert.truthy(line:find("^%a+ +%d+ +own +%d+: [%d ]*" .. pid1), text) end
      end
      local t = require("lunshare.json").decode(js)
      assert.equal(8, #t.namespaces)
      for _, row in ipairs(t.namespaces) do
        if row.kind ~= "time" then assert.is_true(row.differs, row.kind) end
      end
      -- lunshare's own: nothing differs from the caller's.
      assert.falsy(self:find(" own ", 1, true), self)
    end)
  end

  it("a bad name is a usage error (exit 2, one line); a profile's bad name is refused by check with file:line", function()
    for _, bad in ipairs({ ".hidden", "a/b", string.rep("x", 65), "" }) do
      local r = H.lunshare({ "run", "--name", bad, "--", "true" })
      assert.equal(2, r.code, bad)
      assert.equal(1, select(2, r.err:gsub("\n", "")), r.err)
      assert.truthy(r.err:find("--name must be 1 to 64", 1, true), r.err)
    end
    local p = H.profile('return { extends = "default",\n  name = ".x" }')
    local r = H.lunshare({ "check", p })
    assert.equal(2, r.code, r.out .. r.err)
    assert.truthy(r.err:find(p .. ":2: name: must be 1 to 64", 1, true), r.err)
    H.rm(p)
  end)
end)
