-- lunshare plug / unplug: a bind added to a running named sandbox appears inside (read
-- through enter), read-only unless --rw, a writable one reaches the host, a writable one
-- into a sandbox whose filter lacks @setid-files is refused; it is in the record (ps, ps
-- --json) until unplugged, and gone inside after; nothing is left on the host's mount
-- table, and the record goes when the sandbox ends. Root and rootless. #integration
local H = require "helpers"

local n = 0
local function fresh()
  n = n + 1
  return "ls" .. H.RUN .. "-p" .. n
end

local L = H.quote(H.bin)

local function named(name, profile)
  return L .. " run --no-pty --name " .. name .. " " .. (profile or "") .. " -- sh -c 'echo ready; exec sleep 60'"
end

-- A host directory the sandbox's user can read and write, holding the file f ("hello").
local function source()
  local d = H.tmpdir("777")
  H.sh("echo hello > " .. H.quote(d .. "/f") .. " && chmod 666 " .. H.quote(d .. "/f"))
  return d
end

describe("plug", function()
  for _, mode in ipairs(H.modes) do
    describe("(" .. mode .. ")", function()
      it("binds a host directory read-only into a running sandbox, records it, and unplug takes it away", function()
        local name, src = fresh(), source()
        finally(function() H.rm(src) end)
        local before = select(2, H.mounts():gsub("\n", ""))
        local r = H.after_ready(named(name), table.concat({
          L .. " plug " .. name .. " bind " .. H.quote(src) .. " /tmp/in; echo plug=$?",
          L .. " enter " .. name .. " -- cat /tmp/in/f",
          L .. " enter " .. name .. " -- sh -c 'echo no > /tmp/in/g' 2>&1; echo write=$?",
          L .. " enter " .. name .. " -- grep -c ' /tmp/in .*ro,nosuid,nodev' /proc/self/mountinfo",
          L .. " ps | grep -c " .. H.quote("/tmp/in(ro from " .. src .. ")"),
          L .. " ps --json | grep -c '\"id\": \"/tmp/in\"'",
          L .. " plug " .. name .. " bind " .. H.quote(src) .. " /tmp/in 2>&1; echo again=$?",
          L .. " unplug " .. name .. " /tmp/in; echo unplug=$?",
          L .. " enter " .. name .. " -- sh -c 'ls /tmp/in 2>/dev/null; grep -c \" /tmp/in \" /proc/self/mountinfo'",
          L .. " ps | grep -c " .. H.quote("/tmp/in("),
          L .. " unplug " .. name .. " /tmp/in 2>&1; echo gone=$?",
          "kill $P; wait $P",
        }, "; "), { mode = mode, env = "HOME=/tmp" })
        assert.equal(table.concat({ "plug=0", "hello", "sh: 1: cannot create /tmp/in/g: Read-only file system", "write=2",
          "1", "1", "1",
          "lunshare: plug: " .. name .. ": /tmp/in is plugged already (unplug it first)", "again=1",
          "unplug=0", "0", "0",
          "lunshare: unplug: " .. name .. ": nothing plugged as /tmp/in", "gone=1", "" }, "\n"), r.out, r.err .. r.cmd_err)
        assert.falsy(H.sh("test -e " .. H.quote(src .. "/g")).code == 0)
        assert.equal(before, select(2, H.mounts():gsub("\n", "")))
      end)

      it("with --rw, binds it writable: what the sandbox writes reaches the host", function()
        local name, src = fresh(), source()
        finally(function() H.rm(src) end)
        local r = H.after_ready(named(name), table.concat({
          L .. " plug --rw " .. name .. " bind " .. H.quote(src) .. " /tmp/rw; echo plug=$?",
          L .. " enter " .. name .. " -- sh -c 'echo written > /tmp/rw/g'; echo write=$?",
          "cat " .. H.quote(src .. "/g"),
          L .. " ps --json | grep -c '\"rw\": true'",
          "kill $P; wait $P",
        }, "; "), { mode = mode, env = "HOME=/tmp" })
        assert.equal("plug=0\nwrite=0\nwritten\n1\n", r.out, r.err .. r.cmd_err)
      end)

      it("refuses a writable bind into a sandbox whose seccomp filter lacks @setid-files, with one line", function()
        local name, src = fresh(), source()
        local p = H.profile('return { extends = "default", seccomp = false }')
        finally(function() H.rm(src); H.rm(p) end)
        local r = H.after_ready(named(name, p), table.concat({
          L .. " plug --rw " .. name .. " bind " .. H.quote(src) .. " /tmp/rw 2>$O.err; echo plug=$?",
          "wc -l < $O.err; grep -c '@setid-files' $O.err",
          L .. " enter " .. name .. " -- sh -c 'grep -c \" /tmp/rw \" /proc/self/mountinfo'",
          L .. " ps | grep -c '/tmp/rw'",
          -- Read-only is still fine.
          L .. " plug " .. name .. " bind " .. H.quote(src) .. " /tmp/ro; echo ro=$?",
          "kill $P; wait $P",
        }, "; "), { mode = mode, env = "HOME=/tmp" })
        assert.equal("plug=1\n1\n1\n0\n0\nro=0\n", r.out, r.err .. r.cmd_err)
      end)

      it("leaves nothing once the sandbox ends with a bind still plugged: no record, no mount", function()
        local name, src = fresh(), source()
        finally(function() H.rm(src) end)
        local before = select(2, H.mounts():gsub("\n", ""))
        local r = H.after_ready(named(name), table.concat({
          L .. " plug " .. name .. " bind " .. H.quote(src) .. " /tmp/in; echo plug=$?",
          L .. " stop " .. name .. "; echo stop=$?",
          "wait $P",
          L .. " ps | grep -c " .. name,
          L .. " unplug " .. name .. " /tmp/in 2>&1 | grep -c 'no sandbox named'",
        }, "; "), { mode = mode, env = "HOME=/tmp" })
        assert.equal("plug=0\nstop=0\n0\n1\n", r.out, r.err .. r.cmd_err)
        assert.equal(before, select(2, H.mounts():gsub("\n", "")))
      end)

      it("refuses a sandbox that is not the caller's or not running, and a bad command line", function()
        local r = H.sh(table.concat({
          L .. " plug lsnosuch" .. H.RUN .. " bind /etc /tmp/x 2>&1; echo none=$?",
          L .. " plug x tun lsa 2>&1; echo kind=$?",
          L .. " plug x bind etc 2>&1; echo rel=$?",
          L .. " unplug x 2>&1; echo args=$?",
        }, "; "), { mode = mode })
        assert.truthy(r.out:find("no sandbox named \"lsnosuch" .. H.RUN .. "\" is running", 1, true), r.out)
        assert.truthy(r.out:find("\nnone=1\n", 1, true), r.out)
        assert.truthy(r.out:find("\nkind=2\n", 1, true), r.out)
        assert.truthy(r.out:find("\nrel=2\n", 1, true), r.out)
        assert.truthy(r.out:find("\nargs=2\n", 1, true), r.out)
      end)
    end)
  end
end)
