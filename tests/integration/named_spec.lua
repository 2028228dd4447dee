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
          "head -1 $S/" .. name .. " | grep -o '\"profile\":\"default\"'",
          H.quote(H.bin) .. " run --no-pty --name " .. name .. " -- true; echo second=$?",
          "kill -TERM $P; wait $P; echo first=$?",
          "test -e $S/" .. name .. " || echo gone",
        }, "; "), { mode = mode })
        assert.equal(0, r.code, r.out .. r.err .. r.cmd_err)
        assert.equal(table.concat({ "-rw-------", "supervisor=ok", "pid1=child-of-supervisor", "start=ok", "sstart=ok",
          "ns=ok", '"profile":"default"', "second=1", "first=143", "gone", "" }, "\n"), r.out, r.err .. r.cmd_err)
        -- One line, naming the name and what to do.
        assert.equal("lunshare: run: a sandbox named \"" .. name .. "\" is running (pid ", r.err:match("^[^(]*%(pid "), r.err)
        assert.equal(1, select(2, r.err:gsub("\n", "")), r.err)
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
