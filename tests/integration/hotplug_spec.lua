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

      it("unplug takes away only the mount plug made, wherever the sandbox moves things meanwhile", function()
        -- The sandbox renames the directory holding its profile's tmpfs (which hides
        -- q/b/secret of a bind) to where the plugged target's parent was: unplug of the
        -- target's path must not take that tmpfs away and show the secret (it is the
        -- mount the lookup reaches now, but not the one plug made).
        local name, src, w = fresh(), source(), H.tmpdir("777")
        H.sh("mkdir -p " .. H.quote(w .. "/q/b") .. " && echo TOPSECRET > " .. H.quote(w .. "/q/b/secret") ..
          " && chmod -R a+rwX " .. H.quote(w))
        local p = H.profile('return { extends = "default", mounts = { bind(' .. string.format("%q", w) ..
          ', "/tmp/w"), tmpfs { "/tmp/w/q/b" } } }')
        finally(function() H.rm(src); H.rm(w); H.rm(p) end)
        local r = H.after_ready(named(name, p), table.concat({
          L .. " enter " .. name .. " -- mkdir -p /tmp/w/a/b",
          L .. " plug " .. name .. " bind " .. H.quote(src) .. " /tmp/w/a/b; echo plug=$?",
          L .. " enter " .. name .. " -- sh -c 'ls /tmp/w/q/b | wc -l; mv /tmp/w/a /tmp/w/a2 && mv /tmp/w/q /tmp/w/a; echo mv=$?'",
          L .. " unplug " .. name .. " /tmp/w/a/b 2>$O.err; echo unplug=$?",
          "grep -c 'not the one plug made' $O.err",
          L .. " enter " .. name .. " -- sh -c 'cat /tmp/w/a/b/secret 2>/dev/null || echo hidden'",
          "kill $P; wait $P",
        }, "; "), { mode = mode, env = "HOME=/tmp" })
        assert.equal("plug=0\n0\nmv=0\nunplug=1\n1\nhidden\n", r.out, r.err .. r.cmd_err)
      end)

      it("tells its mount by id, not by the path the sandbox's mountinfo shows (a chrooted command)", function()
        -- The command chroots into /d: its mountinfo shows /d/tmp/x as /tmp/x. Found by
        -- path the plug was "made, but not found", and left mounted and unrecorded.
        local name, src = fresh(), source()
        local p = H.profile('return { extends = "default", capabilities = { "sys_chroot" }, mounts = { ' ..
          'ro_bind("/usr", "/d/usr"), symlink("usr/bin", "/d/bin"), symlink("usr/lib", "/d/lib"), ' ..
          'symlink("usr/lib64", "/d/lib64"), tmpfs("/d/tmp") } }')
        finally(function() H.rm(src); H.rm(p) end)
        local r = H.after_ready(L .. " run --no-pty --name " .. name .. " " .. p ..
          " -- chroot /d /bin/sh -c 'echo ready; exec sleep 60'", table.concat({
          L .. " plug " .. name .. " bind " .. H.quote(src) .. " /d/tmp/x; echo plug=$?",
          L .. " enter " .. name .. " -- cat /d/tmp/x/f",
          L .. " ps | grep -c " .. H.quote("/d/tmp/x(ro from "),
          L .. " unplug " .. name .. " /d/tmp/x; echo unplug=$?",
          L .. " enter " .. name .. " -- sh -c 'ls /d/tmp/x | wc -l'",
          "kill $P; wait $P",
        }, "; "), { mode = mode, env = "HOME=/tmp" })
        assert.equal("plug=0\nhello\n1\nunplug=0\n0\n", r.out, r.err .. r.cmd_err)
      end)

      it("binds a single host file, and unplug takes it away through its directory", function()
        local name, src = fresh(), source()
        finally(function() H.rm(src) end)
        local r = H.after_ready(named(name), table.concat({
          L .. " enter " .. name .. " -- touch /tmp/one",
          L .. " plug " .. name .. " bind " .. H.quote(src .. "/f") .. " /tmp/one; echo plug=$?",
          L .. " enter " .. name .. " -- cat /tmp/one",
          L .. " unplug " .. name .. " /tmp/one; echo unplug=$?",
          L .. " enter " .. name .. " -- sh -c 'wc -c < /tmp/one; grep -c \" /tmp/one \" /proc/self/mountinfo'",
          "kill $P; wait $P",
        }, "; "), { mode = mode, env = "HOME=/tmp" })
        assert.equal("plug=0\nhello\nunplug=0\n0\n0\n", r.out, r.err .. r.cmd_err)
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

describe("plug steps", function()
  it("(root) refuse to attach or detach where no join into a sandbox's mount namespace took them", function()
    local script = [[
package.cpath = BUILD .. "/lua/?.so;" .. package.cpath
local core = require "lunshare.core"
local ops = core.ops()
local function spawn(steps)
  for _, s in ipairs(steps) do s.where = ops[s.op].where end
  local code, msg = core.spawn({ profile = "hand", steps = steps })
  print(code, msg)
end
spawn({ { op = "clone", namespaces = {} }, { op = "plug_source", src = "/etc", pid = 1, starttime = 0 },
  { op = "plug_attach", dst = TARGET }, { op = "exit" } })
spawn({ { op = "clone", namespaces = {} }, { op = "plug_target" }, { op = "plug_detach", dst = MOUNTED, mnt_id = 1 },
  { op = "exit" } })
]]
    -- In a mount namespace of the test's own: should the guard fail, the host's table
    -- stays as it was.
    local d = H.tmpdir("755")
    finally(function() H.rm(d) end)
    local target, mounted = d .. "/target", d .. "/mounted"
    local r = H.sh("unshare --mount --propagation private sh -c " .. H.quote("mkdir " .. H.quote(mounted) ..
      " && mount -t tmpfs tmpfs " .. H.quote(mounted) .. " && lua5.4 -e " .. H.quote("BUILD = " ..
      string.format("%q", H.build) .. " TARGET = " .. string.format("%q", target) .. " MOUNTED = " ..
      string.format("%q", mounted) .. " " .. script) .. "; test -e " .. H.quote(target) .. " || echo no-target; " ..
      "mountpoint -q " .. H.quote(mounted) .. " && echo still-mounted"))
    assert.equal("nil\tplug_attach: needs a join step into the sandbox's mount namespace\n" ..
      "nil\tplug_detach: needs a join step into the sandbox's mount namespace\nno-target\nstill-mounted\n", r.out, r.err)
  end)
end)

-- Veths, inside a throwaway `unshare --net --mount` world with its own /run (the
-- machine's interfaces are never touched), checked from outside with ip and nsenter.
-- #netns
describe("plug veth", function()
  local S = H.RUN
  local function world(script)
    return H.sh("unshare --net --mount sh -c " .. H.quote("mount -t tmpfs tmpfs /run || exit 99; L=" .. L .. "; " ..
      "LINKS=$(ip -o link | wc -l); " .. script), { timeout = 120 })
  end
  -- A named sandbox running in the background as $pid, started once its command runs
  -- (its line on a FIFO of the world's /run, opened outside); $SB its pid 1, as the host
  -- sees it.
  local function start(name, profile, drop)
    return "mkfifo -m 666 /run/started; " .. (drop or "") .. L .. " run --no-pty --name " .. name .. " " ..
      (profile or "") .. " -- sh -c 'echo; exec sleep 60' >/run/started & pid=$!; read x </run/started; " ..
      "SB=$(" .. L .. " ps --json | python3 -c 'import json,sys; print([r[\"pid\"] for r in json.load(sys.stdin) if r[\"name\"] == \"" ..
      name .. "\"][0])')"
  end
  -- Two of them: $PA/$A for a, $PB/$B for b (each its own FIFO).
  local function start_two(a, b, drop)
    local out = {}
    for _, x in ipairs({ { a, "A" }, { b, "B" } }) do
      out[#out + 1] = "mkfifo -m 666 /run/started" .. x[2] .. "; " .. (drop or "") .. L .. " run --no-pty --name " .. x[1] ..
        " -- sh -c 'echo; exec sleep 60' >/run/started" .. x[2] .. " & P" .. x[2] .. "=$!; read x </run/started" .. x[2] ..
        "; " .. x[2] .. "=$(" .. L .. " ps --json | python3 -c 'import json,sys; print([r[\"pid\"] for r in json.load(sys.stdin) if r[\"name\"] == \"" ..
        x[1] .. "\"][0])')"
    end
    return table.concat(out, "; ")
  end
  local WAIT_CLEAN = H.wait_until([=[[ "$(ip -o link | wc -l)" = "$LINKS" ]]=], 30)

  it("(root) adds a veth with addresses and a route, pings across it, and unplug and the sandbox's end remove it", function()
    local name, host = fresh(), "lsh" .. S .. "a"
    local r = world(table.concat({
      start(name),
      "$L plug " .. name .. " veth " .. host .. " eth1 --address 10.77.0.2/24 --peer-address 10.77.0.1/24 " ..
        "--route default,10.77.0.1; echo plug=$?",
      -- From outside: the host end with its address, the end inside with its own.
      "ip -o -4 addr show " .. host .. " | grep -o 'inet [0-9./]*'",
      "nsenter -t $SB -n ip -o -4 addr show eth1 | grep -o 'inet [0-9./]*'",
      "nsenter -t $SB -n ip route show default | cut -d' ' -f1-5",
      "ping -c1 -W5 10.77.0.2 >/dev/null && echo ping-ok",
      "$L ps | grep -c " .. H.quote(host .. " 10.77.0.1/24(veth to eth1 10.77.0.2/24)"),
      "$L ps --json | grep -c '\"inside\": \"eth1\"'",
      "$L unplug " .. name .. " " .. host .. "; echo unplug=$?",
      "ip link show " .. host .. " >/dev/null 2>&1 || echo host-gone",
      "nsenter -t $SB -n ip link show eth1 >/dev/null 2>&1 || echo inside-gone",
      "$L ps | grep -c " .. H.quote(host),
      -- Plugged again, then the sandbox ends: the pair goes with its namespace.
      "$L plug " .. name .. " veth " .. host .. " --address 10.77.1.2/24; echo again=$?",
      "[ $(ip -o link | wc -l) -gt $LINKS ] && echo more-links",
      "$L stop " .. name .. "; wait $pid",
      WAIT_CLEAN .. " && echo links-back",
      "$L ps | grep -c " .. name,
    }, "; "))
    assert.equal(table.concat({ "plug=0", "inet 10.77.0.1/24", "inet 10.77.0.2/24", "default via 10.77.0.1 dev eth1",
      "ping-ok", "1", "1", "unplug=0", "host-gone", "inside-gone", "0", "again=0", "more-links", "links-back", "0", "" }, "\n"),
      r.out, r.err)
  end)

  it("(root) unplug of a veth the sandbox deleted leaves a host link made later under that name alone", function()
    -- The end inside deleted (as a sandbox keeping net_admin can), then someone makes an
    -- unrelated host link with the host end's name: unplug must take away the sandbox's
    -- end, never a host link by its name.
    local name, host = fresh(), "lsh" .. S .. "x"
    local r = world(table.concat({
      start(name),
      "$L plug " .. name .. " veth " .. host .. " eth1; echo plug=$?",
      "$L ps | grep -c 'gone: its end inside was deleted'",
      "nsenter -t $SB -n ip link del eth1; ip link show " .. host .. " >/dev/null 2>&1 || echo pair-gone",
      -- ps says so, and still does once a host link of that name is someone else's.
      "$L ps | grep -c 'gone: its end inside was deleted'",
      "ip link add " .. host .. " type veth peer name lsy" .. S,
      "$L ps --json | grep -c '\"gone\": true'",
      "$L unplug " .. name .. " " .. host .. "; echo unplug=$?",
      "ip link show " .. host .. " >/dev/null 2>&1 && echo unrelated-kept",
      "ip link del " .. host,
      "$L stop " .. name .. "; wait $pid",
      WAIT_CLEAN .. " && echo links-back",
    }, "; "))
    assert.equal("plug=0\n0\npair-gone\n1\n1\nunplug=0\nunrelated-kept\nlinks-back\n", r.out, r.err)
  end)

  it("(root) links two running sandboxes with --to, pings across, both records list it, unplug from the other side and either's end remove it", function()
    local a, b = fresh(), fresh()
    local ia, ib = "lsa" .. S, "lsb" .. S
    local r = world(table.concat({
      "MNT=$(wc -l < /proc/self/mountinfo); NS=$(ip netns list | wc -l)",
      start_two(a, b),
      "$L plug " .. a .. " veth " .. ia .. " --to " .. b .. ":" .. ib .. " --address 10.83.0.1/24 --peer-address 10.83.0.2/24; echo plug=$?",
      -- From outside: each end in its own sandbox, with its address; nothing on the host.
      "nsenter -t $A -n ip -o -4 addr show " .. ia .. " | grep -o 'inet [0-9./]*'",
      "nsenter -t $B -n ip -o -4 addr show " .. ib .. " | grep -o 'inet [0-9./]*'",
      "[ $(ip -o link | wc -l) = $LINKS ] && echo host-untouched",
      "$L enter " .. a .. " -- ping -c1 -W5 10.83.0.2 >/dev/null && echo ping-ab",
      "$L enter " .. b .. " -- ping -c1 -W5 10.83.0.1 >/dev/null && echo ping-ba",
      "$L ps | grep -c " .. H.quote(ia .. " 10.83.0.1/24(veth to " .. b .. ":" .. ib .. " 10.83.0.2/24)"),
      "$L ps | grep -c " .. H.quote(ib .. " 10.83.0.2/24(veth to " .. a .. ":" .. ia .. " 10.83.0.1/24)"),
      "$L ps --json | grep -c '\"to\": \"'",
      "$L plug " .. a .. " veth " .. ia .. " --to " .. b .. ":" .. ib .. " 2>&1; echo again=$?",
      -- Unplugged from b's side: the pair is gone from both, and from both records.
      "$L unplug " .. b .. " " .. ib .. "; echo unplug=$?",
      "nsenter -t $A -n ip link show " .. ia .. " >/dev/null 2>&1 || echo a-gone",
      "nsenter -t $B -n ip link show " .. ib .. " >/dev/null 2>&1 || echo b-gone",
      "$L ps | grep -c 'veth to'",
      -- Plugged again, then a ends: b's end goes with it, and b's record stops listing it.
      "$L plug " .. b .. " veth " .. ib .. " --to " .. a .. ":" .. ia .. "; echo again=$?",
      "nsenter -t $A -n ip link show " .. ia .. " >/dev/null 2>&1 && echo a-back",
      "$L stop " .. a .. "; wait $PA",
      H.wait_until("! nsenter -t $B -n ip link show " .. ib .. " >/dev/null 2>&1", 30) .. " && echo b-gone",
      "$L ps | grep -c 'veth to'",
      "$L unplug " .. b .. " " .. ib .. " 2>&1; echo unplug=$?",
      "$L stop " .. b .. "; wait $PB",
      WAIT_CLEAN .. " && echo links-back",
      "[ $(wc -l < /proc/self/mountinfo) = $MNT ] && [ $(ip netns list | wc -l) = $NS ] && echo mounts-netns-back",
      "$L ps | grep -c -e '^" .. a .. " ' -e '^" .. b .. " '",
    }, "; "))
    assert.equal(table.concat({ "plug=0", "inet 10.83.0.1/24", "inet 10.83.0.2/24", "host-untouched", "ping-ab", "ping-ba",
      "1", "1", "2",
      "lunshare: plug: " .. a .. ": " .. ia .. " is plugged already (unplug it first)", "again=1",
      "unplug=0", "a-gone", "b-gone", "0", "again=0", "a-back", "b-gone", "0",
      "lunshare: unplug: " .. b .. ": nothing plugged as " .. ib, "unplug=1",
      "links-back", "mounts-netns-back", "0", "" }, "\n"), r.out, r.err)
  end)

  it("(root) sb:plug(\"veth\", …) and sb:unplug from the REPL of a named sandbox", function()
    local name, host = fresh(), "lsh" .. S .. "r"
    local chunk = table.concat({
      'print(sb:plug("veth", "' .. host .. '", { name = "eth1", address = "10.79.0.2/24", host_address = "10.79.0.1/24" }).id)',
      'print((sb:exec{ "ip", "-o", "-4", "addr", "show", "eth1" }):match("inet [%d./]+"))',
      'print(sb:unplug("' .. host .. '"))',
      'print((sb:exec{ "ip", "-o", "link" }):find("eth1", 1, true))',
    }, "\n") .. "\n"
    local f = H.file(chunk)
    finally(function() H.rm(f) end)
    local r = world(table.concat({
      "HOME=/tmp $L repl --name " .. name .. " default < " .. H.quote(f) .. "; echo repl=$?",
      "ip link show " .. host .. " >/dev/null 2>&1 || echo host-gone",
    }, "; "))
    assert.equal(host .. "\ninet 10.79.0.2/24\ntrue\nnil\nrepl=0\nhost-gone\n", r.out, r.err)
  end)

  it("(root) sb:plug(\"veth\", IF, { to = … }) links the REPL's sandbox to another named one", function()
    local name, other, ia, ib = fresh(), fresh(), "lsra" .. S, "lsrb" .. S
    local chunk = table.concat({
      'print(sb:plug("veth", "' .. ia .. '", { to = "' .. other .. ':' .. ib .. '", address = "10.84.0.1/24", ' ..
        'host_address = "10.84.0.2/24" }).to)',
      'print((sb:exec{ "ping", "-c1", "-W5", "10.84.0.2" }):match("1 received"))',
      'print(sb:unplug("' .. ia .. '"))',
      'print((sb:exec{ "ip", "-o", "link" }):find("' .. ia .. '", 1, true))',
    }, "\n") .. "\n"
    local f = H.file(chunk)
    finally(function() H.rm(f) end)
    local r = world(table.concat({
      start(other),
      "HOME=/tmp $L repl --name " .. name .. " default < " .. H.quote(f) .. "; echo repl=$?",
      "nsenter -t $SB -n ip link show " .. ib .. " >/dev/null 2>&1 || echo other-gone",
      "$L ps | grep -c 'veth to'",
      "kill $pid; wait $pid",
    }, "; "))
    assert.equal(other .. "\n1 received\ntrue\nnil\nrepl=0\nother-gone\n0\n", r.out, r.err)
  end)

  it("(root) leaves no link and no record when a plug fails halfway (a bad address inside, a route it cannot add)", function()
    local name, host = fresh(), "lsh" .. S .. "f"
    local r = world(table.concat({
      start(name),
      "$L plug " .. name .. " veth " .. host .. " --address 10.1.2.3/99 2>&1; echo addr=$?",
      "[ $(ip -o link | wc -l) = $LINKS ] && echo no-link",
      "$L plug " .. name .. " veth " .. host .. " --route 10.3.0.0/16,10.99.0.1 >/dev/null 2>&1; echo route=$?",
      "[ $(ip -o link | wc -l) = $LINKS ] && echo no-link",
      "nsenter -t $SB -n ip -o link | grep -vc ' lo:'",
      "$L ps | grep -c " .. H.quote(host),
      "$L plug " .. name .. " veth lo 2>&1; echo taken=$?",
      "kill $pid; wait $pid",
    }, "; "))
    assert.equal(table.concat({
      "lunshare: plug: veth " .. host .. ": add address 10.1.2.3/99 to " .. host .. ": bad address (expected 10.0.0.1/24 or fd00::1/64)",
      "addr=1", "no-link", "route=1", "no-link", "0", "0",
      "lunshare: plug: a link named lo exists on the host already", "taken=1", "" }, "\n"), r.out, r.err)
  end)

  it("(root) puts the host end on a host bridge with --bridge", function()
    local name, host, br = fresh(), "lsh" .. S .. "b", "lsbr" .. S
    local r = world(table.concat({
      "ip link add " .. br .. " type bridge",
      start(name),
      "$L plug " .. name .. " veth " .. host .. " --bridge " .. br .. "; echo plug=$?",
      "ip -o link show " .. host .. " | grep -c 'master " .. br .. "'",
      "nsenter -t $SB -n ip -o link show " .. host .. " | grep -c 'state UP'",
      "kill $pid; wait $pid",
    }, "; "))
    assert.equal("plug=0\n1\n1\n", r.out, r.err)
  end)

  it("lists a profile's host links with their addresses in ps", function()
    local name, host = fresh(), "lsh" .. S .. "c"
    local p = H.profile('return { extends = "default", network = { veth { host = "' .. host ..
      '", host_address = "10.78.0.1/24", address = "10.78.0.2/24" } } }')
    finally(function() H.rm(p) end)
    local r = world(table.concat({
      start(name, H.quote(p)),
      "$L ps | grep -c " .. H.quote("  " .. host .. "=10.78.0.1/24  "),
      "$L ps --json | python3 -c 'import json,sys; r=[x for x in json.load(sys.stdin) if x[\"name\"] == \"" .. name ..
        "\"][0]; print(r[\"links\"], r[\"addresses\"])'",
      "kill $pid; wait $pid",
    }, "; "))
    assert.equal("1\n['" .. host .. "'] {'" .. host .. "': ['10.78.0.1/24']}\n", r.out, r.err)
  end)

  it("(rootless) is refused with the message a profile's veth gets", function()
    local name, host = fresh(), "lsh" .. S .. "d"
    local p = H.profile('return { extends = "default", network = { veth { host = "' .. host .. '" } } }')
    local xdg = H.tmpdir("700")
    H.sh("chown " .. H.NOBODY_UID .. ":" .. H.NOBODY_GID .. " " .. H.quote(xdg))
    finally(function() H.rm(p); H.rm(xdg) end)
    local drop = "env XDG_RUNTIME_DIR=" .. H.quote(xdg) .. " HOME=/tmp " .. H.DROP
    local r = world(table.concat({
      drop .. L .. " run " .. H.quote(p) .. " -- true 2>/run/profile.err; echo run=$?",
      start(name, nil, drop),
      drop .. L .. " plug " .. name .. " veth " .. host .. " 2>/run/plug.err; echo plug=$?",
      "wc -l < /run/plug.err",
      "m=$(sed 's/.*\\(a host-side link needs[^:]*:[^:]*\\).*/\\1/' /run/profile.err); grep -cF \"$m\" /run/plug.err",
      "[ $(ip -o link | wc -l) = $LINKS ] && echo no-link",
      "kill $pid; wait $pid",
    }, "; "))
    -- The profile is refused while planning (exit 2, as check refuses it), plug at once (1).
    assert.equal("run=2\nplug=1\n1\n1\nno-link\n", r.out, r.err)
  end)

  it("(rootless) a veth between two sandboxes is refused in one line that says why and what works", function()
    local a, b = fresh(), fresh()
    local xdg = H.tmpdir("700")
    H.sh("chown " .. H.NOBODY_UID .. ":" .. H.NOBODY_GID .. " " .. H.quote(xdg))
    finally(function() H.rm(xdg) end)
    local drop = "env XDG_RUNTIME_DIR=" .. H.quote(xdg) .. " HOME=/tmp " .. H.DROP
    local r = world(table.concat({
      start_two(a, b, drop),
      drop .. L .. " plug " .. a .. " veth lsq" .. S .. " --to " .. b .. " 2>/run/plug.err; echo plug=$?",
      "wc -l < /run/plug.err",
      "grep -c 'needs root: each has a user namespace of its own.*join = \"TOPOLOGY/HOST\"' /run/plug.err",
      "nsenter -t $A -n ip -o link | grep -vc ' lo:'",
      "nsenter -t $B -n ip -o link | grep -vc ' lo:'",
      drop .. L .. " ps | grep -c 'veth to'",
      "kill $PA $PB; wait $PA $PB",
    }, "; "))
    assert.equal("plug=1\n1\n1\n0\n0\n0\n", r.out, r.err)
  end)
end)
