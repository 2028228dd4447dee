-- Networking: topology files, the walkthrough, the REPL objects and the network profile
-- field. Every case runs inside a throwaway `unshare --net --mount` world with a tmpfs on
-- /run, so the machine's own interfaces, routes and /run/netns are never touched; it
-- checks from inside that world with `ip -j` and `ip netns list`. #integration #netns
local H = require "helpers"

local WALK = H.quote(H.root .. "/docs/examples/walkthrough.lua")
local BIN = H.bin
-- Every ls* name (links, hosts, switches) ends with this run's tag: should a world leak,
-- what is left says which run made it, and two runs never share a name. (15 bytes at
-- most: the longest here is 11.)
local S = H.RUN

-- The names as this run spells them: each ls* name of a text (a topology, a script, an
-- expected line) with the tag appended; a word of a path (/root/lsh-test/…) is no name.
local function sfx(text)
  return (text:gsub("%f[%w_/.%-](ls%w+)%f[^%w_/.%-]", "%1" .. S))
end

-- Runs a shell script as root in a fresh network+mount namespace with its own /run.
local function world(script)
  return H.sh("unshare --net --mount sh -c " .. H.quote(
    "mount -t tmpfs tmpfs /run || exit 99; L=" .. H.quote(BIN) .. "; cd " .. H.quote(H.root) .. "; " .. sfx(script)),
    { timeout = 600 })
end

-- As nobody, inside a world made by root.
local function as_nobody(cmd)
  return H.DROP .. cmd
end

local function topo(src)
  return H.profile(sfx(src))
end

-- A Lua script that plans profile p, puts a hand-made sysctl step of ping_group_range in
-- the plan after its join, and prints what the executor says of it. The step goes before
-- the first child step: the join, the clone and (rootless) the id maps after it are the
-- supervisor's, and no child step may come before them. In root's plan that is right
-- after the clone.
local function sysctl_after_join(p)
  return H.profile([[
local lunshare = require "lunshare"
local plan = assert(lunshare.plan("]] .. p .. [[", { "true" }))
local joins = false
for i, s in ipairs(plan.steps) do
  joins = joins or s.op == "netns_join"
  if s.where == "child" and joins then
    table.insert(plan.steps, i, { op = "sysctl", where = "child", name = "net.ipv4.ping_group_range",
      value = "0 0", origin = "hand-made" })
    break
  end
end
print(lunshare.core.spawn(plan))
]])
end

-- Waits until no link but lo is left here (a netns's links go a moment after its deletion).
local WAIT_CLEAN = H.wait_until([=[[ "$(ip -o link | wc -l)" = 1 ]]=], 30)

-- Starts `$L run PROFILE -- sh -c 'echo > FIFO; exec sleep 60'` in the background as $pid
-- and returns once the command runs (so the supervisor has built the host side): the
-- command's byte on a FIFO in the world's /run is the handshake.
local function run_until_started(p)
  return "mkfifo -m 666 /run/started; $L run " .. H.quote(p) ..
    " -- sh -c 'echo > /run/started; exec sleep 60' & pid=$!; read x </run/started"
end
local COUNT = [[echo "links=$(ip -o link | grep -v ' lo:' | wc -l) netns=$(ip netns list | wc -l) state=$(ls /run/lunshare/net 2>/dev/null | wc -l)"]]

describe("lunshare net (root)", function()
  it("brings the walkthrough up, pings both ways, and a second up changes nothing", function()
    local r = world(table.concat({
      "$L net up " .. WALK,
      "echo ---",
      "ip netns list | cut -d' ' -f1",
      "ip -j addr show veth1",
      "ip -n netns1 -j addr show veth1_peer",
      "ping -c1 -W2 10.0.0.2 >/dev/null && echo ping-out-ok",
      "ip netns exec netns1 ping -c1 -W2 10.0.0.1 >/dev/null && echo ping-in-ok",
      "echo ---",
      "$L net up " .. WALK,
      "$L net status " .. WALK,
      "echo status=$?",
    }, "; "))
    assert.equal(0, r.code, r.err)
    local setup, checks, again = r.out:match("^(.-)\n%-%-%-\n(.-)\n%-%-%-\n(.*)$")
    assert.truthy(setup, r.out)
    assert.truthy(setup:find("ip netns add netns1", 1, true))
    assert.truthy(checks:find("^netns1"), checks)
    assert.truthy(checks:find('"local":"10.0.0.1","prefixlen":24', 1, true), checks)
    assert.truthy(checks:find('"local":"10.0.0.2","prefixlen":24', 1, true), checks)
    assert.truthy(checks:find('"operstate":"UP"', 1, true), checks)
    assert.truthy(checks:find("ping-out-ok", 1, true), checks)
    assert.truthy(checks:find("ping-in-ok", 1, true), checks)
    assert.truthy(again:find("nothing to change", 1, true), again)
    assert.truthy(again:find("everything matches", 1, true), again)
    assert.truthy(again:find("status=0", 1, true), again)
  end)

  it("down removes everything up built, and status says what differs", function()
    local r = world(table.concat({
      "$L net up " .. WALK .. " >/dev/null",
      "ip link set veth1 down",
      "$L net status " .. WALK .. "; echo status=$?",
      "$L net down " .. WALK,
      WAIT_CLEAN, COUNT,
      "$L net status " .. WALK .. "; echo status=$?",
    }, "; "))
    assert.equal(0, r.code, r.err)
    assert.truthy(r.out:find("differs  link veth1 (here): down", 1, true), r.out)
    assert.truthy(r.out:find("status=1", 1, true), r.out)
    assert.truthy(r.out:find("ip netns del netns1", 1, true), r.out)
    assert.truthy(r.out:find("links=0 netns=0 state=0", 1, true), r.out)
    assert.truthy(r.out:find("missing  host netns1", 1, true), r.out)
  end)

  it("uses a netns made by ip netns add and leaves it at down", function()
    local r = world(table.concat({
      "ip netns add netns1",
      "$L net up " .. WALK .. " | grep -c 'netns add'",
      "ip netns exec netns1 ping -c1 -W2 10.0.0.1 >/dev/null && echo ping-ok",
      "$L net down " .. WALK .. " >/dev/null",
      "ip netns list | cut -d' ' -f1",
      "ip -n netns1 -o link | grep -c veth1_peer",
      "ip -o link | grep -c veth1",
    }, "; "))
    -- The netns stays (ip made it); the veth pair goes (up made it).
    assert.equal("0\nping-ok\nnetns1\n0\n0\n", r.out, r.err)
  end)

  it("a netns made by lunshare works with ip netns exec", function()
    local r = world(
      "$L net up " .. WALK .. " >/dev/null; ip netns exec netns1 ip -o -4 addr show veth1_peer | awk '{print $4}'")
    assert.equal("10.0.0.2/24\n", r.out, r.err)
  end)

  it("builds switches and routes, and removes exactly them", function()
    local f = topo([[return {
      hosts = { lsh1 = { routes = { { to = "default", via = "10.1.0.254" } } },
                lsh2 = { routes = { { to = "default", via = "10.1.0.254" } } } },
      switches = { lsbr0 = { address = "10.1.0.254/24" } },
      links = {
        { { name = "lsp1", switch = "lsbr0" }, { host = "lsh1", name = "eth0", address = "10.1.0.1/24" } },
        { { name = "lsp2", switch = "lsbr0" }, { host = "lsh2", name = "eth0", address = "10.1.0.2/24" } },
      },
    }]])
    local r = world(table.concat({
      "$L net up " .. H.quote(f) .. " >/dev/null",
      "ip netns exec lsh1 ping -c1 -W2 10.1.0.2 >/dev/null && echo across-ok",
      "ip -n lsh2 route show default",
      "ip -j link show lsp1 | grep -o '\"master\":\"lsbr0\"'",
      "$L net up " .. f,
      "$L net status " .. H.quote(f) .. " | grep -c '^ok'",
      "ip -n lsh2 route del default; ip link set lsp1 nomaster",
      "$L net status " .. H.quote(f) .. " | grep -v '^ok'",
      "$L net down " .. H.quote(f) .. " >/dev/null",
      WAIT_CLEAN, COUNT,
    }, "; "))
    assert.equal(0, r.code, r.err)
    assert.truthy(r.out:find("across-ok", 1, true), r.out .. r.err)
    assert.truthy(r.out:find("default via 10.1.0.254 dev eth0", 1, true), r.out)
    assert.truthy(r.out:find(sfx('"master":"lsbr0"'), 1, true), r.out)
    assert.truthy(r.out:find("nothing to change", 1, true), r.out)
    assert.truthy(r.out:find("\n9\n", 1, true), r.out) -- 2 hosts, 1 switch, 4 link ends, 2 routes: all ok
    assert.truthy(r.out:find(sfx("differs  link lsp1 (here): not on switch lsbr0"), 1, true), r.out)
    assert.truthy(r.out:find(sfx("missing  route default via 10.1.0.254 (netns lsh2)"), 1, true), r.out)
    assert.truthy(r.out:find("links=0 netns=0 state=0", 1, true), r.out)
  end)

  it("refuses a bad address before building anything", function()
    local f = topo([[return { hosts = { lsh1 = {} },
      links = { { { name = "lsv0", address = "10.0.0.300/24" }, { host = "lsh1", name = "eth0" } } } }]])
    local r = world("$L net up " .. H.quote(f) .. "; echo code=$?; " .. COUNT)
    assert.truthy(r.err:find("links[1][1].address", 1, true), r.err)
    assert.truthy(r.out:find("code=2", 1, true), r.out)
    assert.truthy(r.out:find("links=0 netns=0 state=0", 1, true), r.out)
  end)

  it("a failing step (a duplicate name) leaves nothing of its own behind", function()
    local r = world(table.concat({
      "ip link add veth1 type veth peer name lsother",
      "$L net up " .. WALK .. "; echo code=$?",
      "ip netns list | wc -l; ip -o link | grep -c 'veth1@'; ls /run/lunshare/net 2>/dev/null | wc -l",
    }, "; "))
    assert.truthy(r.err:find("link veth1 (here) / veth1_peer (netns netns1): only one end exists", 1, true), r.err)
    -- netns1, which this up made, is gone; the veth1 someone else made stays.
    assert.truthy(r.out:find("code=1\n0\n1\n0\n", 1, true), r.out .. r.err)
  end)

  it("down after an up killed with SIGKILL halfway removes what it had built", function()
    -- 200 hosts, built at the lowest priority and watched cheaply, so that the kill lands
    -- halfway even on a busy machine (with 60, a loaded poller saw them all built).
    local N = 200
    local hosts, links = {}, {}
    for i = 1, N do
      hosts[#hosts + 1] = string.format("lsk%d = {}", i)
      links[#links + 1] = string.format("{ { host = 'lsk%d', name = 'lsa%d', address = '10.%d.%d.1/30' }, " ..
        "{ host = 'lsk%d', name = 'lsb%d', address = '10.%d.%d.2/30' } }", i, i, 100 + i // 250, i % 250,
        i % N + 1, i, 100 + i // 250, i % 250)
    end
    local f = topo("return { hosts = { " .. table.concat(hosts, ", ") .. " }, links = { " ..
      table.concat(links, ",\n") .. " } }")
    local r = world(table.concat({
      "nice -n 19 $L net up " .. H.quote(f) .. " >/dev/null & pid=$!",
      H.wait_until("[ $(ls /run/netns 2>/dev/null | wc -l) -ge 10 ]", 60),
      "kill -KILL $pid; wait $pid; echo killed=$?",
      "echo built=$(ip netns list | wc -l)",
      "$L net down " .. H.quote(f) .. " >/dev/null; echo down=$?",
      WAIT_CLEAN, COUNT,
    }, "; "))
    assert.truthy(r.out:find("killed=137", 1, true), r.out .. r.err)
    local built = tonumber(r.out:match("built=(%d+)"))
    assert.truthy(built and built >= 10 and built < N, r.out)
    assert.truthy(r.out:find("down=0", 1, true), r.out .. r.err)
    assert.truthy(r.out:find("links=0 netns=0 state=0", 1, true), r.out)
  end)

  local function transcript()
    local readme = io.open(H.root .. "/README.md"):read("a")
    local code = readme:match("<!%-%- walkthrough%-repl %-%->%s*```lua\n(.-)```")
    assert.truthy(code, "README has the walkthrough REPL transcript")
    assert.truthy(select(2, code:gsub("\n", "\n")) <= 10, "at most ten lines of Lua")
    return code
  end
  local CHECK = { "ip netns list | cut -d' ' -f1",
    "ping -c1 -W2 10.0.0.2 >/dev/null && echo ping-out-ok",
    "ip netns exec netns1 ping -c1 -W2 10.0.0.1 >/dev/null && echo ping-in-ok" }

  it("the README's REPL transcript builds the walkthrough in lunshare repl", function()
    local script = H.profile(transcript())
    local r = world("$L repl <" .. H.quote(script) .. " >/run/repl.out 2>&1; grep -cE 'veth1_peer +inet +10.0.0.2 +24' /run/repl.out; " ..
      table.concat(CHECK, "; "))
    assert.equal("1\nnetns1\nping-out-ok\nping-in-ok\n", r.out, r.err)
  end)

  it("the README's REPL transcript runs from lua5.4 with require", function()
    local script = H.profile('lunshare = require "lunshare"\n' .. transcript())
    local r = world(table.concat({
      H.lua_env() .. " lua5.4 " .. H.quote(script) .. " >/dev/null",
      table.concat(CHECK, "; "),
    }, "; "))
    assert.equal("netns1\nping-out-ok\nping-in-ok\n", r.out, r.err)
  end)
end)

describe("network profile field (root)", function()
  -- ping carries cap_net_raw as a file capability; outside a nosuid mount (these profiles
  -- use the host's / as is) exec refuses it unless the capability is kept.
  local VETH = [[return { namespaces = { "user", "net", "pid", "mount" }, capabilities = { "net_raw" },
    network = { links = { veth { name = "eth0", host = "lsh0", address = "10.0.0.2/24",
      host_address = "10.0.0.1/24", gateway = "10.0.0.1", mtu = 1400 } } } }]]

  it("makes a veth into the sandbox, pings the host end, and removes it at the end", function()
    local p = topo(VETH)
    local r = world(table.concat({
      "$L run " .. H.quote(p) .. " -- sh -c 'ip -o -4 addr show eth0 | awk \"{print \\$4}\"; cat /sys/class/net/eth0/mtu; " ..
        "ip route show default; ping -c1 -W2 10.0.0.1 >/dev/null && echo ping-ok'",
      "echo code=$?", COUNT,
    }, "; "))
    assert.equal("10.0.0.2/24\n1400\ndefault via 10.0.0.1 dev eth0 \nping-ok\ncode=0\nlinks=0 netns=0 state=0\n", r.out, r.err)
  end)

  it("the host side sees the host end up with its address while the run lasts", function()
    local p = topo(VETH)
    local r = world(table.concat({
      run_until_started(p),
      "ip -o -4 addr show lsh0 | awk '{print $4}'",
      "ping -c1 -W2 10.0.0.2 >/dev/null && echo ping-in-ok",
      "kill -KILL $pid; wait $pid",
      WAIT_CLEAN, COUNT,
    }, "; "))
    assert.equal("10.0.0.1/24\nping-in-ok\nlinks=0 netns=0 state=0\n", r.out, r.err)
  end)

  it("attaches the host end to a bridge on the host", function()
    local p = topo([[return { namespaces = { "user", "net" },
      network = { veth { host = "lsh0", address = "10.5.0.2/24", bridge = "lsbr0" } } }]])
    local r = world(table.concat({
      "ip link add lsbr0 type bridge && ip addr add 10.5.0.1/24 dev lsbr0 && ip link set lsbr0 up",
      run_until_started(p),
      "ip -j link show lsh0 | grep -o '\"master\":\"lsbr0\"'",
      "ping -c1 -W2 10.5.0.2 >/dev/null && echo ping-ok",
      "kill -TERM $pid; wait $pid",
      "ip -o link | grep -c lsh0",
    }, "; "))
    assert.equal(sfx('"master":"lsbr0"\nping-ok\n0\n'), r.out, r.err)
  end)

  it("a failing step (the host name is taken) names the profile line and leaves nothing", function()
    local p = topo(VETH)
    local r = world(table.concat({
      "ip link add lsh0 type veth peer name lsh0x",
      "$L run " .. H.quote(p) .. " -- true; echo code=$?",
      "ip -o link | grep -v ' lo:' | wc -l",
    }, "; "))
    assert.truthy(r.err:find(p .. sfx(":2: veth: add veth lsh0 (peer eth0): File exists"), 1, true), r.err)
    assert.equal("code=1\n2\n", r.out)
  end)

  it("checks addresses and names before running", function()
    local p = topo([[return { namespaces = { "net" },
      network = { links = { veth { host = "lsh0", address = "10.0.0.300/24" } } } }]])
    local r = world("$L run " .. H.quote(p) .. " -- true")
    assert.equal(2, r.code)
    assert.truthy(r.err:find("network.links[1].address", 1, true), r.err)
  end)

  it("joins a host of a topology", function()
    local p = H.profile([[return { namespaces = { "pid", "mount" }, network = { join = "netns1" },
      capabilities = { "net_raw" } }]])
    local r = world("$L net up " .. WALK .. " >/dev/null; $L run " .. H.quote(p) ..
      " -- sh -c 'ip -o -4 addr show veth1_peer | awk \"{print \\$4}\"; ping -c1 -W2 10.0.0.1 >/dev/null && echo ping-ok'")
    assert.equal("10.0.0.2/24\nping-ok\n", r.out, r.err)
  end)

  -- A profile of its own network namespace too, with a /proc: both places that used to
  -- write ping_group_range (the planned step, and proc's mount) would reach the joined one.
  local JOIN = [[return { namespaces = { "net", "pid", "mount" }, network = { join = "lsj" },
    mounts = { ro_bind "/usr", symlink("usr/bin", "/bin"), symlink("usr/lib", "/lib"),
      symlink("usr/lib64", "/lib64"), proc "/proc" } }]]
  local GROUP = "cat /proc/sys/net/ipv4/ping_group_range"

  it("changes nothing of a netns it joins: ping_group_range stays as it was", function()
    local p = topo(JOIN)
    local r = world(table.concat({
      "ip netns add lsj", "ip netns exec lsj " .. GROUP,
      "$L run " .. p .. " -- " .. GROUP .. "; echo code=$?",
      "ip netns exec lsj " .. GROUP, "$L explain " .. p .. " | grep -c sysctl",
    }, "; "))
    assert.equal("1\t0\n1\t0\ncode=0\n1\t0\n0\n", r.out, r.err)
  end)

  it("the executor refuses a sysctl step after a join, whoever made the plan", function()
    local p = topo(JOIN)
    local script = sysctl_after_join(p)
    local r = world(table.concat({
      "ip netns add lsj",
      H.lua_env() .. " lua5.4 " .. script,
      "ip netns exec lsj " .. GROUP,
    }, "; "))
    assert.truthy(r.out:find("^nil\tsysctl net.ipv4.ping_group_range: the sandbox joined a network namespace " ..
      "that is not its own, and changes nothing of it\t1\t%d+\n1\t0\n$"), r.out .. r.err)
  end)

  -- A netns of the test's own world, as `ip netns add` makes it: a veth pair into it with
  -- an address each side, and ICMP datagram sockets open to every group there (a sandbox
  -- holds no CAP_NET_RAW over a netns it does not own, so ping needs them).
  -- (No IPv6 there, and the carrier up first: what the netns holds is settled before the
  -- test takes a picture of it.)
  local LSJ = table.concat({
    "ip netns add lsj",
    "ip netns exec lsj sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1",
    "ip link add lsjh type veth peer name lsjn netns lsj",
    "ip addr add 10.9.0.1/24 dev lsjh", "ip link set lsjh up", "ip -n lsj addr add 10.9.0.2/24 dev lsjn",
    "ip -n lsj link set lsjn up", "ip -n lsj link set lo up",
    "ip netns exec lsj sysctl -qw net.ipv4.ping_group_range='0 2147483647'",
    H.wait_until("ip -n lsj -o link show lsjn | grep -q 'state UP'", 30),
  }, "; ")
  local SEEN = "{ ip -n lsj -o link; ip -n lsj -o addr; ip -n lsj route; ip netns exec lsj sysctl -n net.ipv4.ping_group_range; }"
  local MOUNTS = "wc -l </proc/self/mounts"

  it("a sandbox with a user namespace of its own joins a root-made netns, and can change nothing of it", function()
    -- extends default: user, pid, mount, net… namespaces; the join takes the net one's place.
    -- CAP_NET_ADMIN is kept, in the sandbox's own user namespace, which does not own the netns.
    local p = topo([[return { extends = "default", capabilities = { "net_admin" }, network = { join = "lsj" } }]])
    local r = world(table.concat({
      LSJ, "m0=$(" .. MOUNTS .. ")", SEEN .. " >/run/before",
      "$L explain " .. p .. " | sed -n 3,6p",
      "$L run " .. p .. " -- sh -c 'cat /proc/self/uid_map; grep CapEff /proc/self/status; ip -o -4 addr show lsjn | awk \"{print \\$4}\"; " ..
        "ping -c1 -W2 10.9.0.1 >/dev/null && echo ping-ok; ip link set lsjn down 2>&1; echo down=$?; " ..
        "ip addr add 10.9.0.9/24 dev lsjn 2>&1; echo add=$?; ip route add 10.7.0.0/24 dev lsjn 2>&1; echo route=$?'",
      "echo code=$?", "m1=$(" .. MOUNTS .. ")", SEEN .. " >/run/after", "cmp -s /run/before /run/after && echo unchanged",
      "ping -c1 -W2 10.9.0.2 >/dev/null && echo ping-back-ok",
      "ip netns del lsj", WAIT_CLEAN,
      "echo links=$(ip -o link | grep -v ' lo:' | wc -l) netns=$(ip netns list | wc -l) mounts=$((m1 - m0))",
    }, "; "))
    local q = p:gsub("%p", "%%%0")
    assert.matches("^  1  supervisor  netns_join  nsenter %-%-net=/run/netns/lsj" .. S .. "  %(before the clone, and back " ..
      "after: the sandbox is born in it, and a user namespace of its own does not own it%)\n       # " .. q .. ":1\n" ..
      "  2  supervisor  clone       unshare %-%-user %-%-mount %-%-pid %-%-ipc %-%-uts %-%-cgroup %-%-fork\n", r.out)
    assert.truthy(r.out:find("\nCapEff:\t0000000000001000\n10.9.0.2/24\nping-ok\nRTNETLINK answers: Operation not permitted\ndown=2\n" ..
      "RTNETLINK answers: Operation not permitted\nadd=2\nRTNETLINK answers: Operation not permitted\nroute=2\n" ..
      "code=0\nunchanged\nping-back-ok\n", 1, true), r.out .. r.err)
    -- Root inside is no host id: the sandbox's own user namespace.
    assert.falsy(r.out:find("^%s+0%s+0%s"), r.out)
    -- The run left no mount; then the test's own netns gone, the world has lo alone.
    assert.truthy(r.out:find("links=0 netns=0 mounts=0\n", 1, true), r.out .. r.err)
  end)

  it("lunshare enter joins a named sandbox's joined netns too, as its command is", function()
    local p = topo([[return { extends = "default", network = { join = "lsj" } }]])
    local NAME = "lsjn" .. S
    local r = world(table.concat({
      LSJ, "$L run --name " .. NAME .. " " .. p .. " -- sleep 60 & pid=$!",
      H.wait_until("$L ps | grep -q '^" .. NAME .. " '", 30),
      "$L enter " .. NAME .. " -- sh -c 'readlink /proc/self/ns/net; ip -o -4 addr show lsjn | awk \"{print \\$4}\"'",
      "ip netns exec lsj readlink /proc/self/ns/net",
      "$L stop " .. NAME .. " >/dev/null; wait $pid; ip netns del lsj",
    }, "; "))
    local a, addr, b = r.out:match("^(net:%[%d+%])\n(.-)\n(net:%[%d+%])\n$")
    assert.truthy(a and a == b, r.out .. r.err)
    assert.equal("10.9.0.2/24", addr)
  end)

  it("ps shows the netns a named sandbox joined, in its NAMESPACES column and in --json", function()
    local p = topo([[return { extends = "default", network = { join = "lsj" } }]])
    local NAME = "lsjp" .. S
    local r = world(table.concat({
      LSJ, "$L run --name " .. NAME .. " " .. p .. " -- sleep 60 & pid=$!",
      H.wait_until("$L ps | grep -q '^" .. NAME .. " '", 30),
      "$L ps | grep '^" .. NAME .. " ' | grep -c ',net(joined lsj)  '",
      "$L ps --json | python3 -c 'import json,sys; r=[x for x in json.load(sys.stdin) if x[\"name\"] == \"" .. NAME ..
        "\"][0]; print(r[\"net_joined\"], \"net\" in r[\"namespaces\"])'",
      "$L stop " .. NAME .. " >/dev/null; wait $pid; ip netns del lsj",
    }, "; "))
    assert.equal(sfx("1\nlsj False\n"), r.out, r.err)
  end)

  it("a join of a netns that is not there fails at its profile line, before the clone, leaving nothing", function()
    local p = topo([[return { extends = "default", network = { join = "lsnone" } }]])
    local r = world("m0=$(" .. MOUNTS .. "); $L run " .. p .. " -- true; echo code=$?; " ..
      "echo links=$(ip -o link | grep -v ' lo:' | wc -l) netns=$(ip netns list | wc -l) mounts=$((m0 - $(" .. MOUNTS .. ")))")
    assert.truthy(r.err:find(p .. ":1: netns_join: open netns lsnone" .. S .. ": no such netns", 1, true), r.err)
    assert.truthy(r.out:find("code=1\nlinks=0 netns=0 mounts=0\n", 1, true), r.out .. r.err)
  end)

  it("network = host keeps the host's network", function()
    local p = H.profile([[return { namespaces = { "pid", "mount" }, network = "host" }]])
    local r = world("readlink /proc/self/ns/net; $L run " .. H.quote(p) .. " -- readlink /proc/self/ns/net")
    local a, b = r.out:match("^(.-)\n(.-)\n$")
    assert.truthy(a and a == b, r.out .. r.err)
  end)
end)

describe("network (rootless)", function()
  it("gives loopback up in an own network namespace", function()
    -- (ping itself may lack CAP_NET_RAW there, by the profile's own choice: check the link.)
    local r = world(as_nobody("$L run default -- sh -c 'ip -o link show lo; ip -o -4 addr show lo'"))
    assert.equal(0, r.code, r.err)
    assert.truthy(r.out:find("LOWER_UP", 1, true), r.out)
    assert.truthy(r.out:find("inet 127.0.0.1/8", 1, true), r.out)
  end)

  it("a host-side veth is refused saying it needs host privileges and what would work", function()
    local p = topo([[return { namespaces = { "user", "net" },
      network = { links = { veth { host = "lsh0", address = "10.0.0.2/24" } } } }]])
    local r = world(as_nobody("$L run " .. H.quote(p) .. " -- true") .. "; echo code=$?; " .. COUNT)
    assert.truthy(r.err:find("needs CAP_NET_ADMIN in the host's network namespace", 1, true), r.err)
    -- What works, spelt as a profile writes it (the join tests below run that very spelling).
    assert.truthy(r.err:find("(`lunshare net up FILE` as that user, then network = { join = \"TOPOLOGY/HOST\" })", 1, true), r.err)
    -- Refused while planning, as check refuses it (exit 2): nothing was made.
    assert.truthy(r.out:find("code=2\nlinks=0", 1, true), r.out)
  end)

  it("brings a whole topology up rootless inside a holder it owns, pings both ways, and downs it", function()
    -- (A copy nobody can read, of the same name: the checkout may be root's own.)
    local WALK = H.quote(H.copy_for_nobody(H.root .. "/docs/examples/walkthrough.lua"))
    local X = "/run/xdg"
    local N = "setpriv --reuid=65534 --regid=65534 --clear-groups -- env XDG_RUNTIME_DIR=" .. X .. " "
    local r = world(table.concat({
      "mkdir -m 700 " .. X .. " && chown 65534:65534 " .. X,
      N .. "$L net up " .. WALK .. " >/dev/null; echo up=$?",
      N .. "$L net up " .. WALK,
      "H=$(cut -d\" \" -f1 " .. X .. "/lunshare/net/walkthrough.holder)",
      N .. "nsenter -t $H -U -m -n --preserve-credentials ping -c1 -W2 10.0.0.2 >/dev/null && echo ping-out-ok",
      N .. "nsenter -t $H -U -m --preserve-credentials nsenter --net=" .. X ..
        "/lunshare/netns/netns1 ping -c1 -W2 10.0.0.1 >/dev/null && echo ping-in-ok",
      -- Nothing of it is in the world's own network or /run/netns.
      "ip -o link | grep -v ' lo:' | wc -l; ip netns list | wc -l",
      N .. "$L net down " .. WALK .. " >/dev/null; echo down=$?",
      -- The holder ends by itself once down told it to; its parent may reap it late.
      H.wait_until([[s=$(awk '/^State/ {print $2}' /proc/$H/status 2>/dev/null); [ -z "$s" ] || [ "$s" = Z ] ]], 30),
      "echo holder=${s:-gone}",
      "echo files=$(find " .. X .. "/lunshare -type f 2>/dev/null | wc -l)",
      "test -e " .. X .. "/lunshare && echo dir-left || echo dir-gone",
    }, "; "))
    assert.truthy(r.out:find("up=0\n", 1, true), r.out .. r.err)
    assert.truthy(r.out:find("nothing to change", 1, true), r.out .. r.err)
    assert.truthy(r.out:find("ping-out-ok\nping-in-ok\n0\n0\ndown=0\n", 1, true), r.out .. r.err)
    assert.truthy(r.out:find("holder=gone") or r.out:find("holder=Z"), r.out)
    assert.truthy(r.out:find("files=0\n", 1, true), r.out) -- no state, holder or netns file left
    assert.truthy(r.out:find("dir-gone\n", 1, true), r.out) -- nor the directories up made
  end)

  it("a sandbox joins a host of the caller's rootless topology, pings another host, and changes nothing of it", function()
    -- Two hosts and a veth between them, all inside the holder nobody's `net up` makes.
    local t = topo([[return { hosts = { lsja = {}, lsjb = {} }, links = {
      { { host = "lsja", name = "lsjva", address = "10.8.0.1/24" },
        { host = "lsjb", name = "lsjvb", address = "10.8.0.2/24" } } } }]])
    local name = t:match("([^/]+)%.lua$")
    local p = H.profile("return { extends = \"default\", capabilities = { \"net_admin\" }, " ..
      "network = { join = \"" .. name .. "/lsja" .. S .. "\" } }")
    local X = "/run/xdg"
    local N = "setpriv --reuid=65534 --regid=65534 --clear-groups -- env XDG_RUNTIME_DIR=" .. X .. " "
    local PIN = X .. "/lunshare/netns/lsja" .. S
    -- What host A holds, seen by its holder (nsenter as the holder's root): its links
    -- (once the carrier is up), IPv4 addresses (IPv6's link-local ones come and settle by
    -- themselves), routes and ping_group_range.
    local IN_A = N .. "nsenter -t $H -U -m --preserve-credentials nsenter --net=" .. PIN .. " "
    local SEEN_A = IN_A .. "sh -c 'ip -o link; ip -o -4 addr; ip route; sysctl -n net.ipv4.ping_group_range'"
    local r = world(table.concat({
      "m0=$(wc -l </proc/self/mounts)",
      "mkdir -m 700 " .. X .. " && chown 65534:65534 " .. X,
      N .. "$L net up " .. t .. " >/dev/null; echo up=$?",
      N .. "$L net list",
      "H=$(cut -d\" \" -f1 " .. X .. "/lunshare/net/" .. name .. ".holder)",
      -- ping's datagram sockets for the holder's group 0 (the caller) in host A.
      N .. "nsenter -t $H -U -m --preserve-credentials nsenter --net=" .. PIN ..
        " sysctl -qw net.ipv4.ping_group_range='0 0'",
      H.wait_until(IN_A .. "ip -o link show lsjva" .. S .. " | grep -q 'state UP'", 30),
      SEEN_A .. " >/run/before",
      N .. "$L explain " .. p .. " | sed -n 3p",
      N .. "$L run " .. p .. " -- sh -c 'id -u; grep CapEff /proc/self/status; ip -o -4 addr show lsjva | awk \"{print \\$4}\"; " ..
        "ping -c1 -W2 10.8.0.2 >/dev/null && echo ping-ok; ip link set lsjva down 2>&1; echo down=$?; " ..
        "ip addr add 10.8.0.9/24 dev lsjva 2>&1; echo add=$?'",
      "echo code=$?",
      SEEN_A .. " >/run/after", "cmp -s /run/before /run/after && echo unchanged",
      N .. "$L net down " .. t .. " >/dev/null; echo down=$?",
      H.wait_until([[s=$(awk '/^State/ {print $2}' /proc/$H/status 2>/dev/null); [ -z "$s" ] || [ "$s" = Z ] ]], 30),
      "echo files=$(find " .. X .. " -mindepth 1 2>/dev/null | wc -l)",
      "echo links=$(ip -o link | grep -v ' lo:' | wc -l) netns=$(ip netns list | wc -l) mounts=$(($(wc -l </proc/self/mounts) - m0))",
    }, "; "))
    assert.truthy(r.out:find("up=0\nTOPOLOGY +HOSTS +HOLDER\n" .. name:gsub("%p", "%%%0") .. " +lsja" .. S ..
      ",lsjb" .. S .. " +%d+\n"), r.out .. r.err)
    assert.truthy(r.out:find("\n  1  supervisor  netns_join  nsenter --user=/proc/HOLDER/ns/user --net=/proc/HOLDER/root" ..
      PIN .. "  (HOLDER: the pid in " .. X .. "/lunshare/net/" .. name .. ".holder; before the clone", 1, true), r.out)
    assert.truthy(r.out:find("\n0\nCapEff:\t0000000000001000\n10.8.0.1/24\nping-ok\nRTNETLINK answers: Operation not permitted\ndown=2\n" ..
      "RTNETLINK answers: Operation not permitted\nadd=2\ncode=0\nunchanged\ndown=0\n", 1, true), r.out .. r.err)
    assert.truthy(r.out:find("files=0\nlinks=0 netns=0 mounts=0\n", 1, true), r.out .. r.err)
  end)

  -- F6 rootless: a run that joins a host of the caller's own topology plans no
  -- ping_group_range, and the executor refuses a hand-made one after the join. Read by the
  -- world's root before and after, in the holder's netns and in the host's, the kernel's
  -- "1 0" of a new netns stays; the sandbox's step would write its group 0, which is
  -- nobody's 65534 outside ("65534 65534").
  it("a rootless join changes nothing of the holder's or the host's ping_group_range, planned or hand-made", function()
    local t = topo([[return { hosts = { lsjg = {} } }]])
    local name = t:match("([^/]+)%.lua$")
    local p = H.profile("return { extends = \"default\", network = { join = \"" .. name .. "/lsjg" .. S .. "\" } }")
    local X = "/run/xdg"
    local N = "setpriv --reuid=65534 --regid=65534 --clear-groups -- env XDG_RUNTIME_DIR=" .. X .. " "
    local GROUP = "cat /proc/sys/net/ipv4/ping_group_range"
    -- (As root: through the holder's user namespace, where neither gid is mapped, both
    -- would read as the overflow gid.)
    local function seen(when)
      return "echo \"" .. when .. " holder $(nsenter -t $H -n " .. GROUP .. ") host $(nsenter -t $H -m nsenter --net=" ..
        X .. "/lunshare/netns/lsjg" .. S .. " " .. GROUP .. ")\""
    end
    local script = sysctl_after_join(p)
    local r = world(table.concat({
      "mkdir -m 700 " .. X .. " && chown 65534:65534 " .. X,
      N .. "$L net up " .. t .. " >/dev/null; echo up=$?",
      "H=$(cut -d\" \" -f1 " .. X .. "/lunshare/net/" .. name .. ".holder)",
      seen("before"),
      "echo \"planned $(" .. N .. "$L explain " .. p .. " | grep -c sysctl)\"",
      N .. "$L run " .. p .. " -- " .. GROUP .. " >/run/inside; echo \"run $? $(cat /run/inside)\"",
      seen("after-run"),
      "echo \"hand-made $(" .. N .. H.lua_env() .. " lua5.4 " .. script .. ")\"",
      seen("after-plan"),
      N .. "$L net down " .. t .. " >/dev/null; echo down=$?",
      H.wait_until([[s=$(awk '/^State/ {print $2}' /proc/$H/status 2>/dev/null); [ -z "$s" ] || [ "$s" = Z ] ]], 30),
      "echo files=$(find " .. X .. " -mindepth 1 2>/dev/null | wc -l)",
    }, "; "))
    local function said(what)
      return r.out:match("\n" .. what .. " ([^\n]*)\n")
    end
    assert.truthy(r.out:find("^up=0\n"), r.out .. r.err)
    -- What the holder and the host hold, before the run, after it, and after the hand-made plan.
    assert.equal("holder 1\t0 host 1\t0", said("before"), r.out .. r.err)
    assert.equal(said("before"), said("after%-run"), "the run changed it: " .. r.out .. r.err)
    assert.equal(said("before"), said("after%-plan"), "the hand-made plan changed it: " .. r.out .. r.err)
    -- Nothing planned; the run succeeds and sees the host's own value (the kernel's "1 0",
    -- neither gid mapped in the sandbox's user namespace).
    assert.equal("0", said("planned"), "a sysctl step was planned: " .. r.out .. r.err)
    assert.equal("0 65534\t65534", said("run"), r.out .. r.err)
    -- The executor refuses the hand-made step itself. (The kernel would refuse the write
    -- too: the sandbox's user namespace holds no capability over the holder's, which owns
    -- the netns; this is the executor's own line.)
    assert.truthy((said("hand%-made") or ""):find("^nil\tsysctl net.ipv4.ping_group_range: the sandbox joined a network " ..
      "namespace that is not its own, and changes nothing of it\t1\t%d+$"), r.out .. r.err)
    assert.truthy(r.out:find("\ndown=0\nfiles=0\n$"), r.out .. r.err)
  end)

  it("a named sandbox in a host of the caller's topology is the caller's in ps, and enter joins it", function()
    local t = topo([[return { hosts = { lsja = {} }, links = {
      { { name = "lsjv0", address = "10.8.1.1/24" }, { host = "lsja", name = "lsjv1", address = "10.8.1.2/24" } } } }]])
    local p = H.profile("return { extends = \"default\", network = { join = \"" .. t:match("([^/]+)%.lua$") ..
      "/lsja" .. S .. "\" } }")
    local NAME = "lsjn" .. S
    local N = "setpriv --reuid=65534 --regid=65534 --clear-groups -- env XDG_RUNTIME_DIR=/run/xdg "
    local r = world(table.concat({
      "mkdir -m 700 /run/xdg && chown 65534:65534 /run/xdg",
      N .. "$L net up " .. t .. " >/dev/null",
      N .. "$L run --name " .. NAME .. " " .. p .. " -- sleep 60 & pid=$!",
      H.wait_until(N .. "$L ps | grep -q '^" .. NAME .. " '", 30),
      N .. "$L ps | grep -c '^" .. NAME .. " '",
      N .. "$L enter " .. NAME .. " -- sh -c 'ip -o -4 addr show lsjv1 | awk \"{print \\$4}\"'",
      N .. "$L stop " .. NAME .. " >/dev/null; echo stop=$?; wait $pid",
      N .. "$L net down " .. t .. " >/dev/null; echo down=$?",
    }, "; "))
    assert.equal("1\n10.8.1.2/24\nstop=0\ndown=0\n", r.out, r.err)
  end)

  it("a rootless join takes only the holder its file names, and only a netns that holder owns", function()
    local t = topo([[return { hosts = { lsja = {} } }]])
    local name = t:match("([^/]+)%.lua$")
    local p = H.profile("return { extends = \"default\", network = { join = \"" .. name .. "/lsja" .. S .. "\" } }")
    local X = "/run/xdg"
    local N = "setpriv --reuid=65534 --regid=65534 --clear-groups -- env XDG_RUNTIME_DIR=" .. X .. " "
    local HF = X .. "/lunshare/net/" .. name .. ".holder"
    local PIN = X .. "/lunshare/netns/lsja" .. S
    local IN_HOLDER = N .. "nsenter -t $H -U -m --preserve-credentials "
    local r = world(table.concat({
      "mkdir -m 700 " .. X .. " && chown 65534:65534 " .. X,
      N .. "$L net up " .. t .. " >/dev/null",
      "H=$(cut -d\" \" -f1 " .. HF .. ")",
      -- A netns of a user namespace inside the holder's, mounted over host A's pin.
      IN_HOLDER .. "sh -c 'unshare -U -r -n sleep 30 & p=$!; " ..
        H.wait_until("[ \"$(readlink /proc/$p/ns/net)\" != \"$(readlink /proc/self/ns/net)\" ]", 10) ..
        "; mount --bind /proc/$p/ns/net " .. PIN .. "; kill $p'",
      N .. "$L run " .. p .. " -- true; echo code=$?",
      IN_HOLDER .. "umount " .. PIN,
      -- A holder file whose user namespace is not the holder's (the pid may be recycled).
      N .. "sh -c 'cp " .. HF .. " " .. X .. "/saved; sed \"s/:[0-9]*$/:1/\" " .. X .. "/saved >" .. HF .. "'",
      N .. "$L run " .. p .. " -- true; echo code=$?",
      N .. "sh -c 'cat " .. X .. "/saved >" .. HF .. "; rm " .. X .. "/saved'",
      N .. "$L run " .. p .. " -- true; echo code=$?",
      N .. "$L net down " .. t .. " >/dev/null; echo down=$?",
    }, "; "))
    assert.truthy(r.err:find(p .. ":1: netns_join: join lsja" .. S .. ": the netns is not the topology holder's\n", 1, true), r.err)
    assert.truthy(r.err:find(p:gsub("%p", "%%%0") .. ":1: netns_join: join " .. name:gsub("%p", "%%%0") .. "/lsja" .. S ..
      ": the topology's holder %(pid %d+%) is gone"), r.err)
    assert.equal("code=1\ncode=1\ncode=0\ndown=0\n", r.out, r.err)
  end)

  it("a join of a topology that is not up says so, and how to bring it up", function()
    local p = H.profile("return { extends = \"default\", network = { join = \"lsnotopo" .. S .. "/lsja\" } }")
    local X = "/run/xdg"
    local r = world("mkdir -m 700 " .. X .. " && chown 65534:65534 " .. X .. "; setpriv --reuid=65534 " ..
      "--regid=65534 --clear-groups -- env XDG_RUNTIME_DIR=" .. X .. " $L run " .. p .. " -- true; echo code=$?")
    assert.truthy(r.err:find(p .. ":1: netns_join: join lsnotopo" .. S .. "/lsja: the topology lsnotopo" .. S ..
      " is not up (see `lunshare net list`)", 1, true), r.err)
    assert.truthy(r.out:find("code=1\n", 1, true), r.out)
  end)
end)

describe("net usage", function()
  it("says a directory is not a topology file, in one line, exit 2", function()
    local r = H.lunshare({ "net", "status", "/tmp" })
    assert.equal(2, r.code)
    assert.equal("lunshare: /tmp: Is a directory\n", r.err)
  end)

  it("names the missing FILE for the verb that was typed", function()
    local r = H.lunshare({ "net", "up" })
    assert.equal(2, r.code)
    assert.equal("lunshare: net up: expected one topology FILE\n", r.err)
  end)
end)

describe("net down then up", function()
  it("returns from down with every link gone, so an up right after works", function()
    local r = world(table.concat({
      "W=docs/examples/walkthrough.lua",
      "for i in 1 2 3; do $L net up $W >/dev/null || echo up-failed; $L net down $W >/dev/null || echo down-failed;" ..
        " ip -o link | grep -c veth1; done; true",
    }, "; "))
    assert.equal(0, r.code, r.err)
    assert.equal("0\n0\n0\n", r.out, r.err)
  end)
end)

-- ---- the plan: explain, the applier's very plan, check, list, exec ----------------------

-- The walkthrough as this spec names it inside a world (world() works from the checkout).
local W = "docs/examples/walkthrough.lua"
-- A rootless caller in a world: nobody with an XDG_RUNTIME_DIR of its own, /run/xdg; $N
-- runs a command so. (Nobody reads the walkthrough through a copy: the checkout may be
-- root's own.)
local NOBODY = "mkdir -m 700 /run/xdg && chown 65534:65534 /run/xdg && " ..
  "N='setpriv --reuid=65534 --regid=65534 --clear-groups -- env XDG_RUNTIME_DIR=/run/xdg'"
local NOTHING = "echo nothing=$(ip -o link | grep -v ' lo:' | wc -l)$(ip netns list | wc -l)$(ls -A /run/xdg /run/lunshare 2>/dev/null | grep -v : | wc -l)"

-- The steps of the walkthrough after the hosts' own, as root and rootless say them.
local function walk_steps(f, first, ip_n, netns)
  return table.concat({
    string.format("%3d  veth_add     ip link add veth1 type veth peer name veth1_peer netns %s\n       # %s:12\n", first, netns, f),
    string.format("%3d  addr_add     ip addr add 10.0.0.1/24 dev veth1\n       # %s:12\n", first + 1, f),
    string.format("%3d  link_up      ip link set veth1 up\n       # %s:12\n", first + 2, f),
    string.format("%3d  addr_add     %s addr add 10.0.0.2/24 dev veth1_peer\n       # %s:13\n", first + 3, ip_n, f),
    string.format("%3d  link_up      %s link set veth1_peer up\n       # %s:13\n", first + 4, ip_n, f),
  })
end

describe("net explain", function()
  it("prints each step of up with the ip command it replaces and its file:line, and builds nothing (root)", function()
    local r = world("$L net explain " .. W .. "; echo code=$?; " .. NOTHING)
    assert.equal(table.concat({
      "net up plan for " .. W .. " (as root)\n",
      "  netns1 and a veth pair veth1 / veth1_peer on 10.0.0.0/24\n",
      "  1  netns_add    ip netns add netns1\n       # " .. W .. ":10\n",
      "  2  lo_up        ip -n netns1 link set lo up\n       # " .. W .. ":10\n",
      walk_steps(W, 3, "ip -n netns1", "netns1"),
      "code=0\nnothing=000\n",
    }), r.out)
    assert.equal("", r.err)
  end)

  it("shows the holder first and the pins for a user, and builds nothing (rootless)", function()
    local f = H.copy_for_nobody(H.root .. "/" .. W)
    local pin = "/run/xdg/lunshare/netns/netns1"
    local r = world(NOBODY .. "; $N $L net explain " .. H.quote(f) .. "; echo code=$?; " .. NOTHING)
    assert.equal(table.concat({
      "net up plan for " .. f .. " (as uid 65534: rootless, inside a holder process)\n",
      "  netns1 and a veth pair veth1 / veth1_peer on 10.0.0.0/24\n",
      "  1  holder       unshare --user --map-root-user --mount --net sleep infinity &  # the holder, made by the first up\n",
      "                  nsenter -t PID -U -m -n --preserve-credentials  # PID from /run/xdg/lunshare/net/walkthrough.holder; every later step runs in there\n",
      "       # " .. f .. ":8\n",
      "  2  netns_add    touch " .. pin .. " && unshare --net=" .. pin .. " true\n       # " .. f .. ":10\n",
      "  3  lo_up        nsenter --net=" .. pin .. " ip link set lo up\n       # " .. f .. ":10\n",
      walk_steps(f, 4, "nsenter --net=" .. pin .. " ip", pin),
      "code=0\nnothing=000\n",
    }), r.out, r.err)
  end)

  it("prints the plan of down from the journal, each step with the journal line that recorded it (root)", function()
    local r = world(table.concat({
      "$L net explain --down " .. W,
      "$L net up " .. W .. " >/dev/null",
      "$L net explain --down " .. W,
    }, "; "))
    local J = "/run/lunshare/net/walkthrough.state"
    assert.equal(table.concat({
      "net down plan for " .. W .. " (as root)\n  nothing built by up, nothing to remove\n",
      "net down plan for " .. W .. " (as root)\n",
      "  1  netns_del    ip netns del netns1\n       # " .. J .. ":2\n",
      "  2  link_gone    # no command: link veth1 (here) goes with netns netns1 a moment later; down waits for it\n",
      "       # " .. J .. ":3\n",
    }), r.out, r.err)
  end)

  for _, mode in ipairs(H.modes) do
    it("--json is the very plan up and down hand to the applier (" .. mode .. ")", function()
      local f, run, dir = W, "$L", "/run"
      if mode == "rootless" then
        f, run, dir = H.quote(H.copy_for_nobody(H.root .. "/" .. W)), "$N $L", "/run/xdg"
      end
      local r = world(table.concat({
        NOBODY,
        run .. " net explain --json " .. f .. " > " .. dir .. "/explain-up.json",
        "LUNSHARE_DUMP_PLAN=" .. dir .. "/ran-up.json " .. run .. " net up " .. f .. " >/dev/null; echo up=$?",
        run .. " net explain --down --json " .. f .. " > " .. dir .. "/explain-down.json",
        "LUNSHARE_DUMP_PLAN=" .. dir .. "/ran-down.json " .. run .. " net down " .. f .. " >/dev/null; echo down=$?",
        "cmp " .. dir .. "/explain-up.json " .. dir .. "/ran-up.json && echo up-same",
        "cmp " .. dir .. "/explain-down.json " .. dir .. "/ran-down.json && echo down-same",
        "grep -o '\"op\": \"[a-z_]*\"' " .. dir .. "/ran-up.json " .. dir .. "/ran-down.json | sed 's/.*: //' | tr -d '\"' | tr '\\n' ' '",
      }, "; "))
      local ops = mode == "root" and "netns_add lo_up veth_add addr_add link_up addr_add link_up netns_del link_gone " or
        "holder netns_add lo_up veth_add addr_add link_up addr_add link_up holder netns_del link_gone holder_end "
      assert.equal("up=0\ndown=0\nup-same\ndown-same\n" .. ops, r.out, r.err)
    end)
  end
end)

describe("net check", function()
  it("names file:line, the field path and the nearest name of every error, exit 2, and builds nothing", function()
    local bad = topo([[return {
  hosts = { lsh1 = { routes = { { to = "default", dev = "lsnone" } } } },
  switches = { lsbr0 = { host = "lsh2" } },
  links = {
    { { name = "lsv0", address = "10.0.0.300/24" },
      { host = "lsh11", name = "eth0", switch = "lsbr9" } },
  },
}]])
    local good = topo("return { hosts = { lsh1 = {} } }")
    local r = world("$L net check " .. H.quote(good) .. " " .. H.quote(bad) .. "; echo code=$?; " ..
      "$L net check " .. H.quote(good) .. "; echo code=$?; " .. NOTHING)
    assert.equal(good .. ": ok\ncode=2\n" .. good .. ": ok\ncode=0\nnothing=000\n", r.out, r.err)
    assert.equal(sfx(table.concat({
      bad .. ":3: switches.lsbr0" .. S .. ".host: no host named lsh2 (did you mean 'lsh1'?); the hosts are lsh1\n",
      bad .. ":5: links[1][1].address: expected an address with a prefix like \"10.0.0.2/24\" or \"fd00::2/64\", got 10.0.0.300/24\n",
      bad .. ":6: links[1][2].host: no host named lsh11 (did you mean 'lsh1'?); the hosts are lsh1\n",
      bad .. ":6: links[1][2].switch: no switch named lsbr9 (did you mean 'lsbr0'?)\n",
      bad .. ":2: hosts.lsh1" .. S .. ".routes[1].dev: no link lsnone in host lsh1\n",
    })), r.err)
  end)

  it("up refuses what check refuses, before building anything", function()
    local f = topo([[return { hosts = { lsh1 = {} }, switches = { lsbr0 = {} },
  links = { { { name = "lsv0" }, { host = "lsh1", name = "eth0", switch = "lsbr0" } } } }]])
    local r = world("$L net up " .. H.quote(f) .. "; echo code=$?; " .. COUNT)
    assert.equal(sfx(f .. ":2: links[1][2].switch: switch lsbr0 is in the caller's namespace, this end in host lsh1: " ..
      "an end joins a switch of its own namespace\n"), r.err:gsub("^lunshare: ", ""))
    assert.equal("code=2\nlinks=0 netns=0 state=0\n", r.out)
  end)

  it("prints what a topology names escaped, in check, explain, up, status and list", function()
    local raw = "lsq\226\128\174x" -- U+202E, which shows what follows backwards
    local f = H.profile('return { hosts = { ["' .. raw .. '"] = {} }, links = { { { name = "lsq\\27x" }, ' ..
      '{ host = "' .. raw .. '", name = "lsqb" } } } }')
    local g = H.profile('return { hosts = { ["' .. raw .. '"] = {} } }')
    local r = world(table.concat({
      "$L net check " .. H.quote(f) .. "; $L net check " .. H.quote(g),
      "$L net explain " .. H.quote(g), "$L net explain --json " .. H.quote(g),
      "$L net up " .. H.quote(g), "$L net status " .. H.quote(g),
      "$L net list", "$L net down " .. H.quote(g),
    }, "; "))
    assert.is_nil((r.out .. r.err):find("\226\128\174", 1, true), r.out .. r.err)
    assert.is_nil((r.out .. r.err):find("\27", 1, true), r.out .. r.err)
    assert.truthy(r.err:find(f .. ":1: links[1][1].name: expected a link name (1 to 15 bytes, no '/', spaces or control characters)", 1, true), r.err)
    assert.truthy(r.out:find("ip netns add $'lsq\\xe2\\x80\\xaex'\n", 1, true), r.out)
    assert.truthy(r.out:find("ok       host lsq\\u{202e}x\n", 1, true), r.out)
    assert.truthy(r.out:find('"host": "lsq\\u202ex"', 1, true), r.out) -- explain --json
    assert.truthy(r.out:find("  lsq\\u{202e}x\n", 1, true), r.out) -- net list's hosts
  end)

  it("loads and checks a file within the bounds: a check that would take hours stops in one line", function()
    -- 999 hosts of 58 bytes and 2,560 link ends naming hosts that are not there: every
    -- one would be compared with every host for a suggestion.
    local f = topo([[
local hosts, links, long = {}, {}, string.rep("h", 55)
for i = 1, 999 do hosts[long .. i] = {} end
for i = 1, 1280 do links[i] = { { host = long .. "x" .. i, name = "a" }, { host = long .. "y" .. i, name = "b" } } end
return { hosts = hosts, links = links }
]])
    local r = world(table.concat({
      "$L net check " .. H.quote(f) .. "; echo code=$?", "$L net explain " .. H.quote(f) .. "; echo code=$?",
      "$L net up " .. H.quote(f) .. "; echo code=$?", "$L net status " .. H.quote(f) .. "; echo code=$?", COUNT,
    }, "; "))
    assert.equal("code=2\ncode=2\ncode=2\ncode=2\nlinks=0 netns=0 state=0\n", r.out, r.err)
    local lines = H.lines(r.err)
    assert.equal(4, #lines, r.err)
    for _, l in ipairs(lines) do
      assert.truthy(l:find(f .. ": profile work takes too long (more than 1 s of CPU time)", 1, true), l)
    end
  end)
end)

describe("net list", function()
  it("lists root's topologies with their hosts, also one it did not make; a user sees none of them", function()
    local f = topo("return { hosts = { lsh1 = {}, lsh2 = {} } }")
    local name = f:match("([^/]+)%.lua$")
    local r = world(table.concat({
      NOBODY, "ip netns add netns1",
      "$L net up " .. W .. " >/dev/null", "$L net up " .. H.quote(f) .. " >/dev/null",
      "$L net list; echo code=$?", "$N $L net list; echo nobody=$?",
      "$L net down " .. W .. " >/dev/null", "$L net list", "$L net down " .. H.quote(f) .. " >/dev/null",
      "$L net list; echo code=$?",
    }, "; "))
    local w = math.max(#"TOPOLOGY", #name, #"walkthrough")
    local function row(a, b) return a .. string.rep(" ", w - #a) .. "  " .. b .. "\n" end
    local sorted = name < "walkthrough"
    assert.equal(sfx(table.concat({
      row("TOPOLOGY", "HOSTS"),
      sorted and row(name, "lsh1,lsh2") or row("walkthrough", "netns1"),
      sorted and row("walkthrough", "netns1") or row(name, "lsh1,lsh2"),
      "code=0\nnobody=0\n",
      (row("TOPOLOGY", "HOSTS"):gsub("^(TOPOLOGY)" .. string.rep(" ", w - 8), "%1" .. string.rep(" ", #name - 8))),
      name .. "  lsh1,lsh2\n",
      "code=0\n",
    })), r.out, r.err)
  end)

  it("lists a user's own with the holder's pid, and says when the holder is gone (rootless)", function()
    local f = H.quote(H.copy_for_nobody(H.root .. "/" .. W))
    local r = world(table.concat({
      NOBODY, "$L net up " .. W .. " >/dev/null",
      "$N $L net up " .. f .. " >/dev/null",
      "H=$(cut -d' ' -f1 /run/xdg/lunshare/net/walkthrough.holder)",
      "$N $L net list | sed \"s/ $H\\$/ PID/\"",
      "kill -KILL $H", H.wait_until([[s=$(awk '/^State/ {print $2}' /proc/$H/status 2>/dev/null); [ -z "$s" ] || [ "$s" = Z ] ]], 30),
      "$N $L net list", "$N $L net down " .. f .. " >/dev/null; echo down=$?", "$N $L net list; echo code=$?",
      "$L net down " .. W .. " >/dev/null",
    }, "; "))
    assert.equal(table.concat({
      "TOPOLOGY     HOSTS   HOLDER\nwalkthrough  netns1  PID\n",
      "TOPOLOGY     HOSTS   HOLDER\nwalkthrough  netns1  gone\n",
      "down=0\ncode=0\n",
    }), r.out, r.err)
  end)
end)

describe("net exec", function()
  it("runs a command in a host's netns with its status, 127 and 126, and names a host not in the file (root)", function()
    local r = world(table.concat({
      "$L net up " .. W .. " >/dev/null",
      "$L net exec " .. W .. " netns1 -- ip -br addr | awk '{print $1, $3}'",
      "[ \"$($L net exec " .. W .. " netns1 readlink /proc/self/ns/net)\" = \"$(ip netns exec netns1 readlink /proc/self/ns/net)\" ] && echo same-netns",
      "$L net exec " .. W .. " netns1 sh -c 'exit 7'; echo code=$?",
      "$L net exec " .. W .. " netns1 lsh-no-such-command; echo code=$?",
      "$L net exec " .. W .. " netns1 /etc/passwd; echo code=$?",
      "$L net exec " .. W .. " netns2 true; echo code=$?",
      "$L net down " .. W .. " >/dev/null",
      "$L net exec " .. W .. " netns1 true; echo code=$?",
    }, "; "))
    assert.equal("lo 127.0.0.1/8\nveth1_peer@if2 10.0.0.2/24\nsame-netns\ncode=7\ncode=127\ncode=126\ncode=2\ncode=1\n", r.out, r.err)
    assert.equal(table.concat({
      "lunshare: exec lsh-no-such-command: No such file or directory\n",
      "lunshare: exec /etc/passwd: Permission denied\n",
      "lunshare: " .. W .. ": no host named netns2 (did you mean 'netns1'?); its hosts are netns1\n",
      "lunshare: open netns netns1: no such netns (see `ip netns list`); " .. W .. " is not up (run 'lunshare net up " .. W .. "' first)\n",
    }), r.err)
  end)

  it("runs it inside the holder, in the host's netns, as the user with no capability (rootless)", function()
    local f = H.quote(H.copy_for_nobody(H.root .. "/" .. W))
    local r = world(table.concat({
      NOBODY, "$N $L net exec " .. f .. " netns1 true; echo code=$?",
      "$N $L net up " .. f .. " >/dev/null",
      "$N $L net exec " .. f .. " netns1 -- sh -c " .. H.quote("ip -br addr | awk '{print $1, $3}'; id -u; id -g; " ..
        "grep -E '^Cap(Inh|Prm|Eff|Amb)' /proc/self/status | tr '\\t' ' '"),
      -- It holds nothing over the holder's namespaces: the link stays as up made it.
      "$N $L net exec " .. f .. " netns1 ip link set veth1_peer down 2>/dev/null; echo code=$?",
      "$N $L net exec " .. f .. " netns1 sh -c 'exit 7'; echo code=$?",
      "$N $L net status " .. f .. " | tail -1",
      "$N $L net down " .. f .. " >/dev/null; echo down=$?",
      -- Nothing of it in the world's own network.
      "ip -o link | grep -v ' lo:' | wc -l",
    }, "; "))
    assert.equal(table.concat({
      "code=1\n", "lo 127.0.0.1/8\nveth1_peer@if2 10.0.0.2/24\n65534\n65534\n",
      "CapInh: 0000000000000000\nCapPrm: 0000000000000000\nCapEff: 0000000000000000\nCapAmb: 0000000000000000\n",
      "code=2\ncode=7\nup: everything matches the file\ndown=0\n0\n",
    }), r.out, r.err)
    assert.truthy(r.err:find("is not up (run 'lunshare net up ", 1, true), r.err)
  end)
end)

describe("net subcommands", function()
  for _, cmd in ipairs({ "up", "status", "down", "explain", "check", "list", "exec" }) do
    it(cmd .. " has --help, and an unknown option is a usage error", function()
      local r = H.lunshare({ "net", cmd, "--help" })
      assert.equal(0, r.code, r.err)
      assert.truthy(r.out:find("^usage: lunshare net " .. cmd .. "[ \n]"), r.out)
      r = H.lunshare({ "net", cmd, "--bogus", "x" })
      assert.equal(2, r.code)
      assert.equal("lunshare: net " .. cmd .. ": unknown option '--bogus' (see 'lunshare net " .. cmd .. " --help')\n", r.err)
    end)
  end

  it("net --help lists them all; an unknown one is named with the nearest", function()
    local r = H.lunshare({ "net", "--help" })
    assert.equal(0, r.code)
    for _, cmd in ipairs({ "up", "status", "down", "explain", "check", "list", "exec" }) do
      assert.truthy(r.out:find("\n  " .. cmd .. " ", 1, true), r.out)
    end
    r = H.lunshare({ "net", "explian", "x" })
    assert.equal(2, r.code)
    assert.equal("lunshare: net: unknown command 'explian' (did you mean 'explain'?); expected one of " ..
      "up, status, down, explain, check, list, exec\n", r.err)
  end)
end)
