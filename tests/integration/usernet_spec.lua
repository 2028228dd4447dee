-- Networks for real programs: network = "user" through pasta, port forwards, and the
-- enforced egress allowlist (tinyproxy outside, a relay in). Every case builds its own
-- world inside `unshare --net --mount`: an "upstream" network namespace behind a veth with
-- HTTP, UDP echo and DNS servers, names in the world's hosts file and resolver, a default
-- route towards it; then runs lunshare as root and as nobody, and counts what is left.
-- #integration #netns
local H = require "helpers"

local S = H.RUN
local UP_LINK = "lsu" .. S -- the world's end of the veth to upstream

-- Servers of the upstream, each a python3 program (Debian's) run as root in its netns.
local HTTPD = [==[
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("hello from " + self.headers.get("Host", "?") + "\n").encode()
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer((sys.argv[1], int(sys.argv[2])), H).serve_forever()
]==]
local UDP_ECHO = [==[
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((sys.argv[1], int(sys.argv[2])))
while True:
    d, a = s.recvfrom(2048); s.sendto(b"echo:" + d, a)
]==]
-- Answers A queries for allowed.test with 192.0.2.2, anything else with no answer.
local DNSD = [==[
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("192.0.2.2", 53))
while True:
    d, a = s.recvfrom(512)
    i, name = 12, []
    while d[i]:
        name.append(d[i + 1:i + 1 + d[i]].decode()); i += d[i] + 1
    qend = i + 5
    hit = ".".join(name).lower() == "allowed.test" and d[i + 1:i + 3] == b"\x00\x01"
    hdr = d[:2] + b"\x81\x80" + d[4:6] + (b"\x00\x01" if hit else b"\x00\x00") + b"\x00\x00\x00\x00"
    ans = b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04" + bytes([192, 0, 2, 2]) if hit else b""
    s.sendto(hdr + d[12:qend] + ans, a)
]==]

-- The world's helpers (argv: its net and mount namespaces, "count" or "proxy"): how many
-- pasta, tinyproxy or lunshare processes are in either, or the pid of its tinyproxy.
local PROCS = [==[
import os, sys
w, m, what = sys.argv[1:4]
n = 0
for p in os.listdir("/proc"):
    if not p.isdigit(): continue
    try:
        net, mnt = os.readlink("/proc/%s/ns/net" % p), os.readlink("/proc/%s/ns/mnt" % p)
        comm = open("/proc/%s/comm" % p).read().strip()
    except OSError: continue
    if net != w and mnt != m: continue
    if what == "proxy" and comm == "tinyproxy": print(p); break
    if comm.startswith(("pasta", "passt")) or comm in ("tinyproxy", "lunshare"): n += 1
if what == "count": print(n)
]==]

-- Debian's python3 itself: $! is then the server, which the teardown ends.
local function py(file) return "/usr/bin/python3 " .. H.quote(file) end

-- The world: /run a tmpfs (state of root's runs), /dev/net/tun usable by nobody (Debian's
-- default mode; a container may have it root-only), ping sockets for pasta, the upstream
-- at 192.0.2.2 and .3 behind a veth with a default route, the world's names and resolver.
-- `body` runs there with $L the binary, $AS the prefix that drops to nobody (or nothing).
local function world(mode, body, opts)
  local httpd, udp, dnsd = H.file(HTTPD, ".py"), H.file(UDP_ECHO, ".py"), H.file(DNSD, ".py")
  local procs = H.file(PROCS, ".py")
  local setup = table.concat({
    "set -u",
    "mount -t tmpfs tmpfs /run || exit 99",
    "mkdir -m 700 /run/nobody && chown 65534:65534 /run/nobody",
    "mount -t tmpfs -o mode=755 tmpfs /dev/net && mknod -m " .. ((opts and opts.tun_mode) or "666") ..
      " /dev/net/tun c 10 200 || exit 99",
    "ip link set lo up",
    "sysctl -qw net.ipv4.ping_group_range='0 2147483647'",
    "unshare --net sleep 600 & UP=$!; PIDS=$UP",
    H.wait_until("[ \"$(readlink /proc/$UP/ns/net)\" != \"$(readlink /proc/self/ns/net)\" ]", 10) .. " || exit 99",
    "ip link add " .. UP_LINK .. " type veth peer name lsv" .. S .. " netns $UP || exit 99",
    "ip addr add 192.0.2.1/24 dev " .. UP_LINK .. "; ip link set " .. UP_LINK .. " up",
    "nsenter -t $UP -n sh -c 'ip link set lo up; ip addr add 192.0.2.2/24 dev lsv" .. S ..
      "; ip addr add 192.0.2.3/24 dev lsv" .. S .. "; ip link set lsv" .. S .. " up'",
    "ip route add default via 192.0.2.2",
    "printf '127.0.0.1 localhost loop.test\\n127.0.0.2 loop2.test\\n127.0.0.3 loop3.test\\n" ..
      "192.0.2.2 allowed.test a.sub.test port.test\\n192.0.2.3 denied.test sub.test\\n' > /run/hosts",
    "mount --bind /run/hosts /etc/hosts",
    "echo 'nameserver 192.0.2.2' > /run/resolv.conf; mount --bind /run/resolv.conf /etc/resolv.conf",
    "nsenter -t $UP -n " .. py(httpd) .. " 192.0.2.2 80 & PIDS=\"$PIDS $!\"",
    "nsenter -t $UP -n " .. py(httpd) .. " 192.0.2.3 80 & PIDS=\"$PIDS $!\"",
    "nsenter -t $UP -n " .. py(httpd) .. " 192.0.2.2 8080 & PIDS=\"$PIDS $!\"",
    "nsenter -t $UP -n " .. py(udp) .. " 192.0.2.2 7 & PIDS=\"$PIDS $!\"",
    "nsenter -t $UP -n " .. py(dnsd) .. " & PIDS=\"$PIDS $!\"",
    H.wait_until("curl -s -m1 -o /dev/null http://192.0.2.3/ && curl -s -m1 -o /dev/null http://192.0.2.2:8080/", 20) ..
      " || exit 99",
    "W=$(readlink /proc/self/ns/net); M=$(readlink /proc/self/ns/mnt)",
    -- What runs in the world under these names (pasta, the proxy, the relay and its
    -- children): in the world's netns, or in the world's mount namespace (the proxy and
    -- the relay's children that live in the proxy's own netns).
    -- One python3 pass over /proc, not a readlink per process: a busy machine has many.
    "helpers() { /usr/bin/python3 " .. H.quote(procs) .. " \"$W\" \"$M\" count; }",
    -- The pid of the world's tinyproxy, once there is one.
    "proxy() { /usr/bin/python3 " .. H.quote(procs) .. " \"$W\" \"$M\" proxy; }",
    "count() { echo \"links=$(ip -o link | wc -l) mounts=$(wc -l </proc/self/mountinfo) helpers=$(helpers) " ..
      "state=$(find /run/lunshare /run/nobody -mindepth 1 2>/dev/null | wc -l)\"; }",
    "L=" .. H.quote(H.bin),
    "AS=" .. (mode == "rootless" and H.quote(H.DROP .. "env XDG_RUNTIME_DIR=/run/nobody ") or "''"),
    "echo \"before $(count)\"",
  }, "\n")
  local teardown = "\necho \"after $(count)\"\nkill $PIDS 2>/dev/null; wait $PIDS 2>/dev/null; exit 0\n"
  return H.sh("unshare --net --mount sh -c " .. H.quote(setup .. "\n" .. body .. teardown),
    { timeout = (opts and opts.timeout) or 120 })
end

-- The counts before and after are the same: nothing left behind.
local function assert_clean(r)
  local before = r.out:match("before (links=[^\n]*)")
  local after = r.out:match("after (links=[^\n]*)")
  assert.truthy(before, r.out .. r.err)
  assert.equal(before, after, r.out .. r.err)
  assert.truthy(before:find("helpers=0", 1, true), before)
end

-- The examples the documentation shows (copied where nobody can read them).
local USER = H.profile(H.read(H.root .. "/docs/examples/user-network.lua"))
local EGRESS = H.profile(H.read(H.root .. "/docs/examples/egress.lua"))

-- The environment in which lua5.4 finds require "lunshare", nobody's too.
local function api_env()
  return "env " .. H.lua_env()
end

-- PTRACE_ATTACH of the pid in argv[1]: "attach 0" (then detached) or "attach -1 ERRNO".
local PTRACE = [==[import ctypes, errno, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
pid = int(sys.argv[1])
r = libc.ptrace(16, pid, None, None)
if r == 0:
    os.waitpid(pid, getattr(os, "__WALL", 0x40000000)); libc.ptrace(17, pid, None, None); print("attach 0")
else:
    print("attach", r, errno.errorcode.get(ctypes.get_errno(), "?"))
]==]

-- Inside the sandbox: a raw TCP connect, bypassing any proxy.
local RAW = [==[python3 -c 'import socket,sys
s=socket.socket(); s.settimeout(3)
try: s.connect((sys.argv[1],int(sys.argv[2]))); print("raw-connected")
except OSError as e: print("raw-failed", e.errno)']==]
local UDP = [==[python3 -c 'import socket
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.settimeout(3); s.sendto(b"ping",("192.0.2.2",7))
print(s.recv(100).decode())']==]

for _, mode in ipairs(H.modes) do
  describe("network = \"user\" (" .. mode .. ")", function()
    it("reaches the upstream over TCP, UDP, ICMP and DNS, with an address and default route", function()
      local inside = table.concat({
        "curl -s -m5 http://192.0.2.2/",
        UDP,
        "ping -c1 -W3 192.0.2.2 >/dev/null && echo ping-ok",
        "cat /etc/resolv.conf",
        "getent ahostsv4 allowed.test | head -1",
        "ip -4 -o addr show eth0 | awk \"{print \\\"addr \\\" \\$4}\"",
        "ip route show default",
      }, "; ")
      local r = world(mode, "$AS $L run " .. H.quote(USER) .. " -- sh -c " .. H.quote(inside) .. "; echo code=$?")
      assert.truthy(r.out:find("hello from 192.0.2.2\n", 1, true), r.out .. r.err)
      assert.truthy(r.out:find("echo:ping\n", 1, true), r.out .. r.err)
      assert.truthy(r.out:find("ping-ok\n", 1, true), r.out .. r.err)
      assert.truthy(r.out:find("nameserver 169.254.1.1\n", 1, true), r.out)
      assert.truthy(r.out:find("192.0.2.2%s+STREAM allowed.test"), r.out .. r.err)
      assert.truthy(r.out:find("addr 192.0.2.1/24\n", 1, true), r.out)
      assert.truthy(r.out:find("default via 192.0.2.2 dev eth0", 1, true), r.out)
      assert.truthy(r.out:find("code=0\n", 1, true), r.out .. r.err)
      assert_clean(r)
    end)

    it("forwards a host port into the sandbox, and pasta ends with the run", function()
      -- The sandbox serves its own /etc on 8000; the world reads its hostname through 18080.
      local body = table.concat({
        "$AS $L run " .. H.quote(USER) .. " -- sh -c 'cd /etc && exec python3 -m http.server 8000 >/dev/null 2>&1' & R=$!",
        H.wait_until("curl -s -m1 -o /run/got http://127.0.0.1:18080/hostname", 30),
        "echo \"got $(cat /run/got)\"",
        -- pasta, which parses what the sandbox sends, is never host root
        "for p in /proc/[0-9]*; do case \"$(cat $p/comm 2>/dev/null)\" in pasta*|passt*) " ..
          "[ \"$(readlink $p/ns/net)\" = \"$W\" ] && awk '/^Uid:/ {print \"pasta-uid \" $2}' $p/status;; esac; done",
        -- no address given: the host's loopback alone, not the world's other address
        "ss -Htln 'sport = :18080' | awk '{print \"listen \" $4}'",
        "curl -s -m2 -o /dev/null http://192.0.2.1:18080/hostname || echo other-address-refused",
        "kill -TERM $R; wait $R; echo code=$?",
      }, "\n")
      local r = world(mode, body)
      assert.truthy(r.out:find("got lunshare\n", 1, true), r.out .. r.err)
      assert.truthy(r.out:find("listen 127.0.0.1:18080\n", 1, true), r.out)
      local uid = r.out:match("pasta%-uid (%d+)\n")
      assert.truthy(uid, r.out)
      assert.are_not.equal("0", uid)
      -- a root caller's pasta is the sandbox's own unprivileged host id, not nobody's
      if mode == "root" then assert.equal("2000000000", uid) end
      assert.falsy(r.out:find("listen 0.0.0.0:18080", 1, true), r.out)
      assert.truthy(r.out:find("other-address-refused\n", 1, true), r.out)
      assert.truthy(r.out:find("code=143\n", 1, true), r.out .. r.err)
      assert_clean(r)
    end)

    if mode == "rootless" then
      it("says that /dev/net/tun is not usable by the user, leaving nothing", function()
        -- The world's /dev/net/tun is root's alone (0600), as on hosts that restrict it.
        local r = world(mode, "$AS $L run " .. H.quote(USER) ..
          " -- echo ran 2>/run/err; echo code=$?; echo \"lines=$(wc -l </run/err)\"; cat /run/err", { tun_mode = "600" })
        assert.truthy(r.out:find("code=1\n", 1, true), r.out .. r.err)
        assert.truthy(r.out:find("lines=1\n", 1, true), r.out)
        assert.truthy(r.out:find("helper: pasta did not start: [^\n]*: /dev/net/tun is not usable by this user " ..
          "%(see 'lunshare doctor'%)\n"), r.out)
        assert.falsy(r.out:find("ran\n", 1, true), r.out)
        assert_clean(r)
      end)
    end

    if mode == "rootless" then
      it("is not stopped by a /tmp/lunshare-UID another user made first, and writes nothing there", function()
        -- Without XDG_RUNTIME_DIR a user's state base is the predictable /tmp/lunshare-UID:
        -- uid 12345 makes it first (0777, theirs) in the world's own /tmp. A run still
        -- works, and a run's helper state goes to a fresh directory of the user's own.
        local lua = H.root .. "/scripts/lunshare/"
        local body = table.concat({
          "cp " .. H.quote(USER) .. " /run/user.lua && chmod 644 /run/user.lua",
          "mkdir -p /run/lua/lunshare && cp " .. H.quote(lua .. "state.lua") .. " " .. H.quote(lua .. "json.lua") ..
            " " .. H.quote(lua .. "util.lua") .. " " .. H.quote(H.build .. "/lua/lunshare/core.so") ..
            " /run/lua/lunshare/ && chmod -R a+rX /run/lua",
          "cp \"$L\" /run/lunshare && chmod 755 /run/lunshare && L=/run/lunshare",
          "mount -t tmpfs -o mode=1777 tmpfs /tmp",
          "setpriv --reuid=12345 --regid=12345 --clear-groups mkdir -m 777 /tmp/lunshare-65534",
          H.DROP .. "env -u XDG_RUNTIME_DIR $L run /run/user.lua -- curl -s -m5 http://192.0.2.2/; echo code=$?",
          "cd /run && " .. H.DROP .. "env -u XDG_RUNTIME_DIR lua5.4 -e " ..
            H.quote("package.path='/run/lua/?.lua' package.cpath='/run/lua/?.so' " ..
              "local r, p = require('lunshare.state').run_base() print('base', r, p)"),
          "echo \"foreign=$(ls -A /tmp/lunshare-65534 | wc -l)\"",
          "for d in /tmp/lunshare-65534-*; do stat -c 'fresh %a %u' $d; done",
          "umount /tmp; rm -rf /run/lua /run/lunshare /run/user.lua",
        }, "\n")
        local r = world(mode, body)
        assert.truthy(r.out:find("hello from 192.0.2.2\ncode=0\n", 1, true), r.out .. r.err)
        assert.truthy(r.out:find("base\t/tmp\tlunshare%-65534%-%x+/lunshare\n"), r.out .. r.err)
        assert.truthy(r.out:find("fresh 700 65534\n", 1, true), r.out)
        assert.truthy(r.out:find("foreign=0\n", 1, true), r.out)
        assert_clean(r)
      end)
    end

    it("fails with one line when pasta cannot start, leaving nothing", function()
      -- No default route: pasta finds no interface to take its configuration from.
      local r = world(mode, "ip route del default; $AS $L run " .. H.quote(USER) ..
        " -- echo ran 2>/run/err; echo code=$?; echo \"lines=$(wc -l </run/err)\"; cat /run/err")
      assert.truthy(r.out:find("code=1\n", 1, true), r.out .. r.err)
      assert.truthy(r.out:find("lines=1\n", 1, true), r.out)
      assert.truthy(r.out:find("helper: pasta did not start: ", 1, true), r.out)
      assert.falsy(r.out:find("ran\n", 1, true), r.out)
      assert_clean(r)
    end)
  end)

  describe("network = { egress = … } (" .. mode .. ")", function()
    it("allows listed hosts through the proxy, refuses others with 403, and nothing goes around it", function()
      local inside = table.concat({
        "env | grep -c \"^\\(HTTP_PROXY\\|HTTPS_PROXY\\|http_proxy\\|https_proxy\\)=http://127.0.0.1:3128$\"",
        "curl -s -m5 http://allowed.test/",
        "curl -s -m5 http://a.sub.test/",
        "curl -s -m5 http://port.test:8080/",
        "curl -s -m5 -o /dev/null -w \"denied %{http_code}\\n\" http://denied.test/",
        "curl -s -m5 -o /dev/null -w \"suffix-itself %{http_code}\\n\" http://sub.test/",
        "curl -s -m5 -o /dev/null -w \"other-port %{http_code}\\n\" http://port.test/",
        "curl -s -m5 -o /dev/null -w \"connect %{http_connect}\\n\" https://denied.test/",
        "curl -s -m5 http://denied.test/ | grep -o -m1 \"[Ff]iltered\"",
        "curl -s -m3 --noproxy \"*\" -o /dev/null http://allowed.test/ || echo noproxy-failed",
        RAW .. " 192.0.2.2 80",
        "ip route | wc -l | sed \"s/^/routes /\"",
      }, "; ")
      local r = world(mode, "$AS $L run --egress-log /run/egress.jsonl " .. H.quote(EGRESS) .. " -- sh -c " ..
        H.quote(inside) .. " 2>/run/err; echo code=$?; cat /run/err; echo; cat /run/egress.jsonl")
      local o = r.out
      assert.truthy(o:find("\n4\n", 1, true) or o:find("^4\n"), o)
      assert.truthy(o:find("hello from allowed.test\n", 1, true), o .. r.err)
      assert.truthy(o:find("hello from a.sub.test\n", 1, true), o)
      assert.truthy(o:find("hello from port.test:8080\n", 1, true), o)
      assert.truthy(o:find("denied 403\n", 1, true), o)
      assert.truthy(o:find("suffix-itself 403\n", 1, true), o)
      assert.truthy(o:find("other-port 403\n", 1, true), o)
      assert.truthy(o:find("connect 403\n", 1, true), o)
      assert.truthy(o:find("Filtered\n", 1, true) or o:find("filtered\n", 1, true), o)
      assert.truthy(o:find("noproxy-failed\n", 1, true), o)
      assert.truthy(o:find("raw-failed 101\n", 1, true), o) -- ENETUNREACH: no route out
      assert.truthy(o:find("routes 0\n", 1, true), o)
      assert.truthy(o:find("code=0\n", 1, true), o)
      assert.truthy(o:find("lunshare: egress denied: denied.test:80 (not in network.egress)\n", 1, true), o)
      assert.truthy(o:find("lunshare: egress denied: denied.test:443 (not in network.egress)\n", 1, true), o)
      assert.truthy(o:find("lunshare: egress denied: port.test:80 (not in network.egress)\n", 1, true), o)
      assert.truthy(o:find('{"time":%d+,"host":"denied.test","port":443,"denied":"denied.test:443","reason":"not in network.egress"}'), o)
      assert.falsy(o:find("egress denied: allowed.test", 1, true), o)
      assert_clean(r)
    end)

    if mode == "rootless" then
      it("is not stopped by a /tmp/lunshare-UID another user made first, writes nothing there, " ..
        "and check and explain make no directory", function()
        -- Without XDG_RUNTIME_DIR the proxy's state goes under the predictable
        -- /tmp/lunshare-UID, which uid 12345 made first (0777, theirs) in the world's own
        -- /tmp: the run moves to a fresh directory of the caller's own, chosen when it
        -- starts, while check and explain (which only plan) make none at all.
        local body = table.concat({
          "cp " .. H.quote(EGRESS) .. " /run/egress.lua && chmod 644 /run/egress.lua",
          "cp \"$L\" /run/lunshare && chmod 755 /run/lunshare && L=/run/lunshare",
          "mount -t tmpfs -o mode=1777 tmpfs /tmp",
          "setpriv --reuid=12345 --regid=12345 --clear-groups mkdir -m 777 /tmp/lunshare-65534",
          "tree() { find /tmp -mindepth 1 -printf '%p %u %m\\n' | sort | tr '\\n' ' '; }",
          "echo \"tmp-before $(tree)\"",
          "cd /run && " .. H.DROP .. "env -u XDG_RUNTIME_DIR $L check /run/egress.lua >/dev/null; echo check=$?",
          "cd /run && " .. H.DROP .. "env -u XDG_RUNTIME_DIR $L explain /run/egress.lua >/run/explain; echo explain=$?",
          "echo \"tmp-planned $(tree)\"",
          "grep 'mkdir -m 0700' /run/explain",
          H.DROP .. "env -u XDG_RUNTIME_DIR $L run /run/egress.lua -- sh -c " ..
            H.quote("curl -s -m5 http://allowed.test/; exec sleep 60") .. " >/run/out 2>/run/err & R=$!",
          -- (the world's proxy() is a script under the /tmp this world covered: pgrep instead)
          H.wait_until("grep -q hello /run/out && pgrep -P $R -x tinyproxy >/dev/null", 30),
          "cat /run/out",
          "P=$(pgrep -P $R -x tinyproxy); D=$(readlink /proc/$P/cwd); echo \"proxy $P dir $D\"",
          "stat -c 'fresh %a %u' \"${D%%/lunshare/egress/*}\"",
          "echo \"foreign-during=$(ls -A /tmp/lunshare-65534 | wc -l)\"",
          "kill -TERM $R; wait $R; echo code=$?; cat /run/err",
          "echo \"tmp-after $(tree)\"",
          -- A run killed with SIGKILL leaves its directory in a FIRST-RANDOM that no later
          -- run finds by name: the next run that falls back sweeps it.
          H.DROP .. "env -u XDG_RUNTIME_DIR $L run /run/egress.lua -- sleep 60 & R=$!",
          H.wait_until("pgrep -P $R -x tinyproxy >/dev/null", 30),
          "OLD=$(readlink /proc/$(pgrep -P $R -x tinyproxy)/cwd)",
          -- its helpers (and theirs) hold the directory's lock until PDEATHSIG ends them
          "KIDS=$(pgrep -P $R); KIDS=\"$KIDS $(for k in $KIDS; do pgrep -P $k; done)\"",
          "alive() { for k in $KIDS; do kill -0 $k 2>/dev/null && return 0; done; return 1; }",
          "kill -KILL $R; wait $R 2>/dev/null",
          H.wait_until("! alive", 10),
          "[ -d \"$OLD\" ] && echo left-behind",
          H.DROP .. "env -u XDG_RUNTIME_DIR $L run /run/egress.lua -- curl -s -m5 http://allowed.test/",
          "[ -e \"$OLD\" ] || echo old-swept",
          "umount /tmp; rm -f /run/lunshare /run/egress.lua /run/out /run/err /run/explain",
        }, "\n")
        local r = world(mode, body)
        local o = r.out
        assert.truthy(o:find("hello from allowed.test\n", 1, true), o .. r.err)
        assert.truthy(o:find("check=0\n", 1, true), o)
        assert.truthy(o:find("explain=0\n", 1, true), o)
        local before = o:match("tmp%-before ([^\n]*)")
        assert.equal("/tmp/lunshare-65534 12345 777 ", before, o)
        assert.equal(before, o:match("tmp%-planned ([^\n]*)"), o) -- check and explain made nothing
        assert.equal(before, o:match("tmp%-after ([^\n]*)"), o) -- the run left nothing
        assert.truthy(o:find("proxy %d+ dir /tmp/lunshare%-65534%-%x+/lunshare/egress/tinyproxy%-%x+\n"), o)
        assert.truthy(o:find("fresh 700 65534\n", 1, true), o)
        assert.truthy(o:find("foreign-during=0\n", 1, true), o)
        assert.truthy(o:find("code=143\n", 1, true), o)
        assert.truthy(o:find("left-behind\n", 1, true), o) -- the case this part is about happened
        assert.truthy(o:find("hello from allowed.test\nold-swept\n", 1, true), o)
        -- explain names the predictable place, and the fallback
        assert.truthy(o:find("mkdir -m 0700 /tmp/lunshare-65534/lunshare/egress/tinyproxy-RANDOM ({dir}) (when another " ..
          "user made /tmp/lunshare-65534 first, or left it open: a fresh /tmp/lunshare-65534-RANDOM of the caller's own " ..
          "instead, chosen at run time)\n", 1, true), o)
        assert_clean(r)
      end)
    end

    it("runs tinyproxy as an id no other process has; a run killed with SIGKILL leaves a state directory the next " ..
      "run sweeps", function()
      -- SIGKILL gives lunshare no exit path: its tinyproxy directory stays. The next run
      -- (which may get the same pid) must start, and remove what the killed one left.
      local dirs = "$(find /run/lunshare /run/nobody -maxdepth 4 -type d -path '*/egress/tinyproxy-*' 2>/dev/null)"
      local body = table.concat({
        "LSH_SECRET=hidden $AS $L run " .. H.quote(EGRESS) .. " -- sleep 60 & R=$!",
        H.wait_until("[ -n \"" .. dirs .. "\" ] && [ -e \"" .. dirs .. "/tinyproxy.conf\" ]", 30),
        "OLD=" .. dirs .. "; echo \"old $OLD\"",
        -- tinyproxy is never root (host root to a flaw in it): for root, an id of its own
        -- that the relay shares; for a user, the user.
        "P=$(proxy); echo \"proxy-uids $(awk '/^Uid:/{print $2,$3,$4,$5}' /proc/$P/status)\"",
        "echo \"proxy-gids $(awk '/^Gid:/{print $2,$3,$4,$5}' /proc/$P/status) groups $(awk '/^Groups:/{print $2}' /proc/$P/status)\"",
        "for c in $(pgrep -P $R); do echo \"child $(cat /proc/$c/comm) $(awk '/^Uid:/{print $2}' /proc/$c/status)\"; done",
        -- another process of nobody's (the id a root caller's tinyproxy had) cannot ptrace it
        mode == "root" and (H.DROP .. "/usr/bin/python3 -c " .. H.quote(PTRACE) .. " $P") or "",
        -- Nothing of the caller's environment: other processes of its uid read it.
        "echo \"proxy-env $(tr '\\0' '\\n' < /proc/$P/environ | grep -v '^PATH=' | wc -l)\"",
        "kill -KILL $R; wait $R 2>/dev/null",
        H.wait_until("[ \"$(helpers)\" = 0 ]", 10),
        "[ -d \"$OLD\" ] && echo left-behind",
        "$AS $L run " .. H.quote(EGRESS) .. " -- curl -s -m5 http://allowed.test/ " ..
          "2>/run/err; echo code=$?; cat /run/err",
        "[ -e \"$OLD\" ] || echo old-gone",
      }, "\n")
      local r = world(mode, body)
      local o = r.out
      assert.truthy(o:find("old /run/[^\n]*/egress/tinyproxy%-"), o .. r.err)
      assert.truthy(o:find("left-behind\n", 1, true), o) -- the case this test is about happened
      local id = o:match("proxy%-uids (%d+) %1 %1 %1\n")
      assert.truthy(id, o)
      assert.truthy(o:find("proxy-gids " .. id .. " " .. id .. " " .. id .. " " .. id .. " groups \n", 1, true), o)
      if mode == "root" then
        -- drawn from the plan's range: neither nobody nor the sandbox's id
        id = tonumber(id)
        assert.truthy(id >= 2100000000 and id < 2100000000 + (1 << 24), o)
        assert.truthy(o:find("child tinyproxy " .. id .. "\n", 1, true), o)
        assert.truthy(o:find("child lunshare " .. id .. "\n", 1, true), o) -- the relay
        assert.truthy(o:find("attach -1 EPERM\n", 1, true), o)
      else
        assert.equal("65534", id)
      end
      assert.truthy(o:find("proxy-env 0\n", 1, true), o)
      assert.falsy(o:find("proxy-uids [^\n]*%f[%d]0%f[%D]"), o)
      assert.truthy(o:find("hello from allowed.test\n", 1, true), o .. r.err)
      assert.truthy(o:find("code=0\n", 1, true), o)
      assert.truthy(o:find("old-gone\n", 1, true), o)
      assert_clean(r)
    end)

    it("refuses a listed name that leads to a loopback or private address, unless allow_private lists it", function()
      -- The world's own loopback serves HTTP (a service of the host's): loop.test leads
      -- there and is refused; loop2.test (by name) and loop3.test (by address) are allowed.
      local httpd = H.file(HTTPD, ".py")
      local p = H.profile([[return { extends = "default", network = {
        egress = { "allowed.test", "loop.test", "loop2.test", "loop3.test" },
        allow_private = { "loop2.test", "127.0.0.3/32" } } }]])
      local inside = table.concat({
        "curl -s -m5 -o /dev/null -w \"plain %{http_code}\\n\" http://loop.test/",
        "curl -s -m5 http://loop.test/",
        "curl -s -m5 -o /dev/null -w \"connect %{http_connect}\\n\" https://loop.test/",
        "curl -s -m5 http://loop2.test/",
        "curl -s -m5 http://loop3.test/",
        "curl -s -m5 http://allowed.test/",
      }, "; ")
      local body = table.concat({
        py(httpd) .. " 0.0.0.0 80 & LO=$!",
        H.wait_until("curl -s -m1 -o /dev/null http://127.0.0.1/", 20),
        "$AS $L run --egress-log /run/egress.jsonl " .. H.quote(p) .. " -- sh -c " .. H.quote(inside) ..
          " 2>/run/err; echo code=$?; cat /run/err; cat /run/egress.jsonl",
        "kill $LO; wait $LO 2>/dev/null",
      }, "\n")
      local o = world(mode, body).out
      assert.truthy(o:find("plain 403\n", 1, true), o)
      assert.truthy(o:find("connect 403\n", 1, true), o)
      assert.falsy(o:find("hello from loop.test", 1, true), o)
      assert.truthy(o:find("lunshare: egress denied: loop.test:80 (127.0.0.1 is a private address, not in " ..
        "network.allow_private)\n", 1, true), o) -- the 403's body and the stderr line
      assert.truthy(o:find("lunshare: egress denied: loop.test:443 (127.0.0.1 is a private address", 1, true), o)
      assert.truthy(o:find('{"time":%d+,"host":"loop.test","port":80,"denied":"loop.test:80","address":"127.0.0.1",' ..
        '"reason":"private address, not in network.allow_private"}'), o)
      assert.truthy(o:find("hello from loop2.test\n", 1, true), o)
      assert.truthy(o:find("hello from loop3.test\n", 1, true), o)
      assert.truthy(o:find("hello from allowed.test\n", 1, true), o)
      assert.truthy(o:find("code=0\n", 1, true), o)
    end)

    it("refuses a listed name that resolves only to ::1, fd00::/8 or a v4-mapped loopback, unless allow_private " ..
      "lists it", function()
      -- The world's own IPv6 loopback and an fd00:: address on its lo serve HTTP (both
      -- stacks: [::]:80); /etc/hosts gives each name one IPv6 address only. The gate must
      -- judge the IPv6 address it got, and connect to it when allow_private lists it.
      local httpd = H.file((HTTPD:gsub("http%.server%.ThreadingHTTPServer%(",
        "http.server.ThreadingHTTPServer.address_family = __import__('socket').AF_INET6\n" ..
        "http.server.ThreadingHTTPServer(")), ".py")
      local names = { "six.test", "six2.test", "ula.test", "ula2.test", "mapped.test", "mapped2.test" }
      local p = H.profile([[return { extends = "default", network = {
        egress = { "six.test", "six2.test", "ula.test", "ula2.test", "mapped.test", "mapped2.test" },
        allow_private = { "six2.test", "fd00::1/128", "mapped2.test" } } }]])
      local inside = {}
      for _, n in ipairs(names) do
        inside[#inside + 1] = "curl -s -m5 -o /dev/null -w \"" .. n .. " %{http_code}\\n\" http://" .. n .. "/"
        inside[#inside + 1] = "curl -s -m5 http://" .. n .. "/"
      end
      inside[#inside + 1] = "curl -s -m5 -o /dev/null -w \"connect-six %{http_connect}\\n\" https://six.test/"
      inside[#inside + 1] = "echo inside-done"
      local body = table.concat({
        "ip -6 addr add fd00::1/128 dev lo nodad && ip -6 addr add fd00::2/128 dev lo nodad || echo no-ipv6",
        "printf '::1 six.test six2.test\\nfd00::2 ula.test\\nfd00::1 ula2.test\\n" ..
          "::ffff:127.0.0.1 mapped.test mapped2.test\\n' >> /run/hosts",
        py(httpd) .. " :: 80 & LO=$!",
        H.wait_until("curl -s -m1 -o /dev/null 'http://[::1]/' && curl -s -m1 -o /dev/null 'http://[fd00::1]/' && " ..
          "curl -s -m1 -o /dev/null http://127.0.0.1/", 20) .. " || echo server-not-up",
        "getent ahosts ula.test | head -1 | sed 's/^/resolves /'",
        "$AS $L run " .. H.quote(p) .. " -- sh -c " .. H.quote(table.concat(inside, "; ")) ..
          " 2>/run/err; echo code=$?; cat /run/err",
        "kill $LO; wait $LO 2>/dev/null",
      }, "\n")
      local r = world(mode, body)
      local o = r.out
      assert.falsy(o:find("no-ipv6", 1, true), o .. r.err)
      assert.falsy(o:find("server-not-up", 1, true), o .. r.err)
      assert.truthy(o:find("resolves fd00::2 ", 1, true), o) -- the world's names are the test's
      for _, n in ipairs({ "six.test", "ula.test", "mapped.test" }) do
        assert.truthy(o:find(n .. " 403\n", 1, true), o)
        assert.falsy(o:find("hello from " .. n .. "\n", 1, true), o)
      end
      assert.truthy(o:find("connect-six 403\n", 1, true), o)
      assert.truthy(o:find("lunshare: egress denied: six.test:80 (::1 is a private address, not in " ..
        "network.allow_private)\n", 1, true), o)
      assert.truthy(o:find("lunshare: egress denied: six.test:443 (::1 is a private address", 1, true), o)
      assert.truthy(o:find("lunshare: egress denied: ula.test:80 (fd00::2 is a private address", 1, true), o)
      assert.truthy(o:find("lunshare: egress denied: mapped.test:80 (::ffff:127.0.0.1 is a private address", 1, true), o)
      for _, n in ipairs({ "six2.test", "ula2.test", "mapped2.test" }) do
        assert.truthy(o:find(n .. " 200\n", 1, true), o)
        assert.truthy(o:find("hello from " .. n .. "\n", 1, true), o)
      end
      assert.truthy(o:find("inside-done\ncode=0\n", 1, true), o)
      assert_clean(r)
    end)

    it("lets no other user reach the proxy: nothing listens on the host, and its namespace is closed", function()
      -- The attacker is another uid than the caller (nobody for root, 12345 for nobody).
      local attacker = mode == "root" and H.NOBODY_UID or 12345
      local as = string.format("setpriv --reuid=%d --regid=%d --clear-groups -- ", attacker, attacker)
      local try = "curl -s -m3 -x http://127.0.0.1:%s http://allowed.test/"
      local body = table.concat({
        "$AS $L run " .. H.quote(EGRESS) .. " -- sleep 60 & R=$!",
        -- the sandbox: lunshare's child in a network namespace neither the world's nor the proxy's
        "sandbox() { P=$(proxy); [ -n \"$P\" ] || return; for c in $(pgrep -P $R); do n=$(readlink /proc/$c/ns/net); " ..
          "[ \"$n\" != \"$W\" ] && [ \"$n\" != \"$(readlink /proc/$P/ns/net)\" ] && echo $c; done; }",
        H.wait_until("[ -n \"$(sandbox)\" ] && [ \"$(helpers)\" -ge 3 ]", 30),
        "P=$(proxy); S=$(sandbox); PORT=$(awk '/^Port /{print $2}' /proc/$P/cwd/tinyproxy.conf)",
        "echo \"port ${PORT:-none}\"",
        "echo \"listeners $(ss -Htln | wc -l)\"",
        -- the proxy's port on the host's loopback, then every port that listens there
        as .. string.format(try, "$PORT") .. " | sed 's/^/attacker-got /'",
        "for q in $(ss -Htln | awk '{print $4}' | sed 's/.*://'); do " .. as .. string.format(try, "$q") ..
          " | sed 's/^/attacker-got /'; done",
        -- the proxy's own namespace, and the sandbox's (where the relay listens)
        as .. "nsenter -t $P -n " .. string.format(try, "$PORT") .. " 2>/dev/null | sed 's/^/attacker-got /'",
        as .. "nsenter -t $P -U -n --preserve-credentials " .. string.format(try, "$PORT") ..
          " 2>/dev/null | sed 's/^/attacker-got /'",
        as .. "nsenter -t $S -n " .. string.format(try, "3128") .. " 2>/dev/null | sed 's/^/attacker-got /'",
        as .. "nsenter -t $S -U -n --preserve-credentials " .. string.format(try, "3128") ..
          " 2>/dev/null | sed 's/^/attacker-got /'",
        -- what the sandbox sees there still works (root enters its network namespace)
        "nsenter -t $S -n " .. string.format(try, "3128") .. " | sed 's/^/sandbox-got /'",
        "kill -TERM $R; wait $R",
      }, "\n")
      local r = world(mode, body)
      local o = r.out
      assert.truthy(o:find("port %d+\n"), o .. r.err)
      assert.truthy(o:find("listeners 0\n", 1, true), o)
      assert.falsy(o:find("attacker-got", 1, true), o)
      assert.truthy(o:find("sandbox-got hello from allowed.test\n", 1, true), o .. r.err)
      assert_clean(r)
    end)

    it("ends the proxy, the relay and pasta at the end of each run, while the program that ran it lives on", function()
      -- An embedding (require "lunshare" in lua5.4) runs an egress sandbox and a network =
      -- "user" one, then waits: PDEATHSIG would end the helpers only with the process, so
      -- only the explicit end of the run leaves none behind here.
      local script = H.profile(table.concat({
        'local lunshare = require "lunshare"',
        'local a = lunshare.run(' .. string.format("%q", EGRESS) .. ', { "curl", "-s", "-m5", "http://allowed.test/" })',
        'local b = lunshare.run(' .. string.format("%q", USER) .. ', { "curl", "-s", "-m5", "http://192.0.2.2/" })',
        'print("ran " .. tostring(a) .. " " .. tostring(b))',
        'io.stdout:flush()',
        'io.read("l")',
      }, "\n"))
      local body = table.concat({
        "mkfifo /run/go",
        "$AS " .. api_env() .. " lua5.4 " .. H.quote(script) .. " </run/go >/run/lua.out 2>&1 & LUA=$!",
        "exec 3>/run/go",
        H.wait_until("grep -q '^ran' /run/lua.out", 60),
        "cat /run/lua.out",
        "echo \"alive $(kill -0 $LUA && echo yes) helpers $(helpers) children $(pgrep -P $LUA | wc -l)\"",
        "echo go >&3; exec 3>&-; wait $LUA",
      }, "\n")
      local r = world(mode, body)
      local o = r.out
      assert.truthy(o:find("hello from allowed.test\n", 1, true), o .. r.err)
      assert.truthy(o:find("hello from 192.0.2.2\n", 1, true), o)
      assert.truthy(o:find("ran 0 0\n", 1, true), o)
      assert.truthy(o:find("alive yes helpers 0 children 0\n", 1, true), o)
      assert_clean(r)
    end)

    if mode == "root" then
      it("refuses an id range with no free id, in one line, leaving no state directory", function()
        -- The plan run would execute, with the proxy's range cut to nobody's id alone: the
        -- executor never runs a helper as an id someone has, and what it made goes.
        local script = H.profile(table.concat({
          'local lunshare = require "lunshare"',
          'local plan = assert(lunshare.plan(' .. string.format("%q", EGRESS) .. ', { "echo", "ran" }))',
          'for _, s in ipairs(plan.steps) do',
          '  if s.op == "helper" then s.ids_from, s.ids_count = 65534, 1 end',
          'end',
          'local code, msg = lunshare.core.spawn(plan)',
          'if not code then io.stderr:write(msg, "\\n") end',
          'os.exit(code or 1)',
        }, "\n"))
        local r = world(mode, api_env() .. " lua5.4 " .. H.quote(script) .. " 2>/run/err; echo code=$?; cat /run/err")
        local o = r.out
        assert.truthy(o:find("code=1\n", 1, true), o .. r.err)
        assert.truthy(o:find("no free id in 65534+1", 1, true), o)
        assert.falsy(o:find("ran\n", 1, true), o)
        assert_clean(r) -- state=0: /run/lunshare/egress went too
      end)
    end

    it("checks the allowlist again at the gate: a proxy whose filter lets all through is no open proxy", function()
      -- The plan run would execute, with tinyproxy's filter replaced by one that allows
      -- everything: the gate, outside tinyproxy, still refuses what the profile did not list.
      local script = H.profile(table.concat({
        'local lunshare = require "lunshare"',
        'local plan = assert(lunshare.plan(' .. string.format("%q", EGRESS) .. ', { "sh", "-c", ' ..
          string.format("%q", "curl -s -m5 http://denied.test/; curl -s -m5 -o /dev/null -w 'connect %{http_connect}\\n' " ..
            "https://denied.test/; curl -s -m5 http://allowed.test/") .. ' }))',
        'local n = 0',
        'for _, s in ipairs(plan.steps) do',
        '  if s.op == "helper" then assert(s.files[3] == "filter"); s.files[4] = ".*\\n"; n = n + 1 end',
        'end',
        'assert(n == 1)',
        'local code, msg = lunshare.core.spawn(plan)',
        'if not code then io.stderr:write(msg, "\\n") end',
        'os.exit(code or 1)',
      }, "\n"))
      local r = world(mode, "$AS " .. api_env() .. " lua5.4 " .. H.quote(script) .. " 2>/run/err; echo code=$?; cat /run/err")
      local o = r.out
      assert.truthy(o:find("hello from allowed.test\n", 1, true), o .. r.err)
      assert.falsy(o:find("hello from denied.test", 1, true), o)
      assert.truthy(o:find("connect 403\n", 1, true), o)
      assert.truthy(o:find("lunshare: egress denied: denied.test:80 (not in network.egress)\n", 1, true), o)
      assert.truthy(o:find("lunshare: egress denied: denied.test:443 (not in network.egress)\n", 1, true), o)
      assert.truthy(o:find("code=0\n", 1, true), o)
      assert_clean(r)
    end)

    it("survives malformed and hostile requests, and reports them escaped", function()
      -- Garbage, a request line far past any buffer, a CONNECT whose host holds an escape
      -- sequence and a quote; then an allowed request still works.
      local hostile = [==[python3 -c 'import socket
def send(b):
    s=socket.create_connection(("127.0.0.1",3128)); s.settimeout(5)
    try:
        s.sendall(b); print("reply", (s.recv(64).split(b"\r\n")[0] or b"none").decode("latin1"))
    except OSError as e: print("reply error", e.errno)
    s.close()
send(b"GARBAGE\r\n\r\n")
send(b"GET http://" + b"a"*100000 + b".test/ HTTP/1.1\r\n\r\n")
send(b"CONNECT ev\x1b[31mil\".test:443 HTTP/1.1\r\n\r\n")
send(b"\x00\xff\r\n\r\n")
send(b"GET http://allowed.test:80@denied.test/ HTTP/1.1\r\nHost: denied.test\r\n\r\n")
send(b"GET ftp://denied.test/ HTTP/1.1\r\n\r\n")']==]
      local inside = hostile .. "; curl -s -m5 http://allowed.test/"
      local r = world(mode, "$AS $L run --egress-log /run/egress.jsonl " .. H.quote(EGRESS) .. " -- sh -c " ..
        H.quote(inside) .. " 2>/run/err; echo code=$?; cat -v /run/err; cat -v /run/egress.jsonl")
      local o = r.out
      assert.truthy(o:find("hello from allowed.test\n", 1, true), o .. r.err)
      assert.truthy(o:find("code=0\n", 1, true), o)
      assert.falsy(o:find("^[", 1, true), o) -- cat -v shows an escape that reached stderr
      -- What tinyproxy denied, not what a URL's userinfo or scheme makes it look like.
      assert.falsy(o:find("egress denied: allowed.test", 1, true), o)
      assert.falsy(o:find('"host":"allowed.test"', 1, true), o)
      assert.truthy(o:find("lunshare: egress denied: denied.test:80 (not in network.egress)\n", 1, true), o)
      -- tinyproxy 1.11 answers another scheme 400 before its filter, unless it has an
      -- upstream (the gate), when its filter refuses it: reported with its scheme, and
      -- never a part of the URL as a host ("ftp" with a port).
      assert.truthy(o:find("reply HTTP/1.1 400", 1, true) or o:find("ftp://denied.test:21", 1, true), o)
      assert.falsy(o:find('"host":"ftp"', 1, true) or o:find("egress denied: ftp:%d"), o)
      assert.falsy(o:find(":0 (not in", 1, true), o)
      for line in o:gmatch("[^\n]+") do
        if line:find("egress denied", 1, true) then assert.truthy(#line < 400, line) end
      end
      assert_clean(r)
    end)

    it("opens --egress-log only as a regular file of the caller's, never through a symlink or a FIFO", function()
      -- A shared directory where another user (12345) prepared the names first.
      local me = mode == "rootless" and "65534" or "0"
      local r = world(mode, table.concat({
        "mkdir -m 1777 /run/logs",
        "echo keep > /run/logs/victim; chown " .. me .. " /run/logs/victim",
        "ln -s /run/logs/victim /run/logs/link; chown -h 12345 /run/logs/link",
        "mkfifo -m 666 /run/logs/fifo; chown 12345 /run/logs/fifo",
        "echo theirs > /run/logs/foreign; chmod 666 /run/logs/foreign; chown 12345 /run/logs/foreign",
        -- A directory symlink to a private directory of the caller's, and a hard link to a file of theirs.
        "mkdir -m 700 /run/private; chown " .. me .. " /run/private",
        "ln -s /run/private /run/logs/d; chown -h 12345 /run/logs/d",
        "echo keep > /run/logs/victim2; chown " .. me .. " /run/logs/victim2; ln /run/logs/victim2 /run/logs/hl",
        "for f in link fifo foreign d/newlog hl; do timeout 20 $AS $L run --egress-log /run/logs/$f " .. H.quote(EGRESS) ..
          " -- echo ran 2>/run/err; echo \"$f code=$? $(cat /run/err)\"; done",
        "echo \"victim $(cat /run/logs/victim) foreign $(cat /run/logs/foreign) victim2 $(cat /run/logs/victim2)\"",
        "[ -e /run/private/newlog ] || echo no-newlog",
        "$AS $L run --egress-log /run/logs/mine " .. H.quote(EGRESS) .. " -- true; echo \"mine code=$? $(stat -c %u:%a /run/logs/mine)\"",
      }, "\n"))
      local o = r.out
      assert.truthy(o:find("link code=1 lunshare: [^\n]*: relay: egress log /run/logs/link: a symlink %(name the file itself%)\n"), o .. r.err)
      assert.truthy(o:find("fifo code=1 lunshare: [^\n]*: relay: egress log /run/logs/fifo: not a regular file\n"), o)
      assert.truthy(o:find("foreign code=1 lunshare: [^\n]*: relay: egress log /run/logs/foreign: owned by another user\n"), o)
      assert.truthy(o:find("d/newlog code=1 lunshare: [^\n]*: relay: egress log /run/logs/d/newlog: a symlink on the way %(name the file by its real path%)"), o)
      assert.truthy(o:find("hl code=1 lunshare: [^\n]*: relay: egress log /run/logs/hl: it has other hard links\n"), o)
      assert.truthy(o:find("victim keep foreign theirs victim2 keep\n", 1, true), o)
      assert.truthy(o:find("no-newlog\n", 1, true), o)
      assert.truthy(o:find("mine code=0 " .. me .. ":600\n", 1, true), o)
      assert_clean(r)
    end)
  end)
end
