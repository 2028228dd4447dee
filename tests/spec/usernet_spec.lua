-- User-mode networking (pasta) and the egress allowlist: parsing, checks, the steps
-- planned, the proxy's filter and the grants. #unit
local planner = require "lunshare.plan"
local profile = require "lunshare.profile"
local schema = require "lunshare.schema"
local usernet = require "lunshare.usernet"
local egress = require "lunshare.egress"
local explain = require "lunshare.explain"

local function ctx(uid)
  return { ids = { uid = uid, gid = uid, euid = uid, user = "alice" }, environ = {}, subid = function() end }
end

local function load(src)
  local v = assert(profile.evaluate(src, "t.lua"))
  local out = {}
  for i, e in ipairs(schema.check(v, "t.lua", src)) do out[i] = schema.format_error(e) end
  return v, table.concat(out, "\n")
end

local function step(plan, op)
  for _, s in ipairs(plan.steps) do if s.op == op then return s end end
end

local function has(list, seq)
  local text = " " .. table.concat(list, " ") .. " "
  return text:find(" " .. seq .. " ", 1, true) ~= nil
end

describe("user-mode networking #unit", function()
  it("parses port forwards", function()
    assert.same({ host = 8080, port = 80, proto = "tcp" }, usernet.parse_port("8080:80"))
    assert.same({ host = 80, port = 80, proto = "tcp" }, usernet.parse_port("80"))
    assert.same({ address = "127.0.0.1", host = 5353, port = 53, proto = "udp" },
      usernet.parse_port("127.0.0.1:5353:53/udp"))
    assert.same({ address = "::1", host = 8443, port = 443, proto = "tcp" }, usernet.parse_port("[::1]:8443:443/tcp"))
    for _, bad in ipairs({ "0:80", "8080:65536", "a:b", "1.2.3.4:", "80/sctp", "300.1.1.1:80:80", "", "8080::80" }) do
      assert.is_nil(usernet.parse_port(bad), bad)
    end
  end)

  it("checks network = \"user\" and its ports with file:line", function()
    local _, errs = load('return { namespaces = { "user", "net" }, network = "user" }')
    assert.equal("", errs)
    _, errs = load('return { namespaces = { "user", "net" },\n network = { mode = "user", ports = {\n "8080:80", "8080:80" } } }')
    assert.equal("t.lua:3: network.ports[2]: host port 8080/tcp is forwarded twice", errs)
    _, errs = load('return { namespaces = { "user", "net" }, network = { mode = "uesr" } }')
    assert.equal("t.lua:1: network.mode: expected \"user\" (did you mean 'user'?)", errs)
  end)

  it("plans pasta as a helper after the clone, with the forwards and nothing else in", function()
    local p = load('return { namespaces = { "user", "net" }, network = { mode = "user", ports = { "8080:80", "127.0.0.1:5353:53/udp" } } }')
    local plan = assert(planner.build(p, ctx(1000)))
    local h = step(plan, "helper")
    assert.equal("supervisor", h.where)
    assert.equal("pasta", h.argv[1])
    assert.equal("{pid}", h.argv[#h.argv])
    assert.is_true(has(h.argv, "--tcp-ports 127.0.0.1/8080:80"))
    assert.is_true(has(h.argv, "--udp-ports 127.0.0.1/5353:53"))
    -- nothing from the sandbox to the host's loopback, no automatic forwards
    assert.is_true(has(h.argv, "--no-map-gw"))
    assert.is_true(has(h.argv, "--tcp-ns none"))
    assert.is_true(has(h.argv, "--udp-ns none"))
    assert.is_true(has(h.argv, "--dns-forward " .. usernet.DNS))
    assert.is_false(has(h.argv, "--runas 0:0"))
    local i_clone, i_helper
    for i, s in ipairs(plan.steps) do
      if s.op == "clone" then i_clone = i elseif s.op == "helper" then i_helper = i end
    end
    assert.is_true(i_helper > i_clone)
    assert.is_nil(h.join_user)
    -- a root caller's pasta is not root: the executor puts it in the sandbox's user
    -- namespace as the sandbox's own id (join_user), and it joins the netns on fd 4
    plan = assert(planner.build(p, ctx(0)))
    h = step(plan, "helper")
    assert.is_true(h.join_user)
    assert.is_false(has(h.argv, "--runas 0:0"))
    assert.is_true(has(h.argv, "--netns-only --netns /proc/self/fd/4"))
    assert.is_false(has(h.argv, "{pid}"))
    -- no forwards: none at all, for both protocols
    p = load('return { namespaces = { "user", "net" }, network = "user" }')
    plan = assert(planner.build(p, ctx(1000)))
    assert.is_true(has(step(plan, "helper").argv, "--tcp-ports none"))
    assert.is_true(has(step(plan, "helper").argv, "--udp-ports none"))
  end)

  it("gives a new root a resolv.conf that points at pasta's DNS", function()
    local p = load('return { namespaces = { "user", "mount", "net" }, network = "user", mounts = { ro_bind "/usr" } }')
    local plan = assert(planner.build(p, ctx(1000)))
    local found
    for _, s in ipairs(plan.steps) do if s.op == "file" and s.dst == "/etc/resolv.conf" then found = s end end
    assert.is_truthy(found)
    assert.equal("nameserver 169.254.1.1\n", found.content)
    -- a profile that brings its own keeps it
    p = load('return { namespaces = { "user", "mount", "net" }, network = "user", mounts = { ro_bind "/usr", file("/etc/resolv.conf", "nameserver 10.0.0.1\\n") } }')
    plan = assert(planner.build(p, ctx(1000)))
    local n = 0
    for _, s in ipairs(plan.steps) do if s.op == "file" and s.dst == "/etc/resolv.conf" then n = n + 1 end end
    assert.equal(1, n)
  end)

  it("explains the pasta command line", function()
    local p = load('return { namespaces = { "user", "net" }, network = { mode = "user", ports = { "8080:80" } } }')
    local text = explain.text(assert(planner.build(p, ctx(1000))), p)
    assert.matches("pasta %-%-foreground[^\n]*%-%-tcp%-ports 127%.0%.0%.1/8080:80[^\n]*'{pid}'", text)
  end)

  it("lists outbound access and forwarded ports as grants", function()
    local p = load('return { namespaces = { "user", "net" }, network = { mode = "user", ports = { "8080:80" } } }')
    local g = require("lunshare.network").grants(p, require("lunshare.areas").context(p)).network
    local texts = {}
    for _, x in ipairs(g) do texts[#texts + 1] = x.text end
    local all = table.concat(texts, "\n")
    assert.matches("outbound TCP, UDP and ICMP echo", all)
    assert.truthy(all:find("port 8080/tcp on the host's 127.0.0.1 forwarded to port 80 inside", 1, true), all)
    -- pasta's model: a host service on 0.0.0.0 answers on the host's other addresses
    assert.truthy(all:find("reachable through the host's non-loopback addresses", 1, true), all)
  end)

  it("forwards on the host's loopback unless an address is given, and warns of every address", function()
    local p = load('return { namespaces = { "user", "net" }, network = { mode = "user", ports = {\n "8080:80",\n "0.0.0.0:8081:81", "[::]:8082:82" } } }')
    local argv = step(assert(planner.build(p, ctx(1000))), "helper").argv
    assert.is_true(has(argv, "--tcp-ports 127.0.0.1/8080:80"))
    assert.is_true(has(argv, "--tcp-ports 0.0.0.0/8081:81"))
    assert.is_true(has(argv, "--tcp-ports ::/8082:82"))
    local g = require("lunshare.network").grants(p, require("lunshare.areas").context(p)).network
    local texts = {}
    for _, x in ipairs(g) do texts[#texts + 1] = x.text end
    local all = table.concat(texts, "\n")
    assert.truthy(all:find("port 8081/tcp on every address of the host forwarded to port 81 inside", 1, true), all)
    assert.truthy(all:find("port 8082/tcp on every address of the host forwarded to port 82 inside", 1, true), all)
    local ws = require("lunshare.grants").warnings(p, require("lunshare.grants").context())
    local lines = {}
    for _, w in ipairs(ws) do
      if w.msg:find("every address of the host", 1, true) then lines[#lines + 1] = w.path end
    end
    assert.same({ "network.ports[2]", "network.ports[3]" }, lines)
  end)
end)

describe("egress allowlist #unit", function()
  it("parses patterns and suggests the nearest valid one", function()
    assert.same({ wild = false, name = "deb.debian.org" }, egress.parse("deb.debian.org"))
    assert.same({ wild = true, name = "pypi.org" }, egress.parse("*.pypi.org"))
    assert.same({ wild = false, name = "example.test", port = 8443 }, egress.parse("Example.Test:8443"))
    local _, why = egress.parse("*pypi.org")
    assert.matches('did you mean "%*%.pypi%.org"', why)
    _, why = egress.parse("http://deb.debian.org/")
    assert.matches('did you mean "deb%.debian%.org"', why)
    for _, bad in ipairs({ "", "*", "*.", "a..b", "-a.test", "a.test:", "a.test:99999", "a b", "a.test/x", "*.*.test",
      "a\nb.test", string.rep("a", 64) .. ".test" }) do
      assert.is_nil(egress.parse(bad), bad)
    end
  end)

  it("refuses an allowlist with user-mode networking or port forwards", function()
    local _, errs = load('return { namespaces = { "user", "net" },\n network = { egress = { "a.test" }, ports = { "80" } } }')
    assert.matches("t.lua:2: network.ports: not with egress", errs, 1, true)
    _, errs = load('return { namespaces = { "user", "net" }, network = { egress = {} } }')
    assert.matches("allows nothing", errs)
  end)

  it("writes a default-deny filter: exact names, suffixes, ports, default 80 and 443", function()
    local f = egress.filter({ egress = { "deb.debian.org", "*.pypi.org", "example.test:8443" } })
    local lines = {}
    for l in f:gmatch("[^\n]+") do lines[#lines + 1] = l end
    assert.same({
      "^deb\\.debian\\.org:443$", "^http://deb\\.debian\\.org(:80)?/",
      "^([a-z0-9-]+\\.)+pypi\\.org:443$", "^http://([a-z0-9-]+\\.)+pypi\\.org(:80)?/",
      "^example\\.test:8443$", "^http://example\\.test:8443/",
    }, lines)
    assert.matches("FilterDefaultDeny Yes", egress.config(), 1, true)
    assert.matches("Listen 127.0.0.1", egress.config(), 1, true)
  end)

  it("plans the proxy, the relay and the proxy variables", function()
    local p = load('return { namespaces = { "user", "net" }, network = { egress = { "allowed.test" } } }')
    local c = ctx(1000)
    c.egress_log = "/tmp/x.jsonl"
    local plan = assert(planner.build(p, c))
    local h, r = step(plan, "helper"), step(plan, "relay")
    assert.equal("tinyproxy", h.argv[1])
    assert.equal("port", h.ready)
    assert.equal(egress.PROXY_PORT, r.port)
    assert.equal("/tmp/x.jsonl", r.log)
    local env = table.concat(step(plan, "exec").env, "\n")
    for _, k in ipairs({ "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy" }) do
      assert.matches("\n?" .. k .. "=http://127%.0%.0%.1:3128", env)
    end
    assert.matches("NO_PROXY=localhost,127.0.0.1,::1", env, 1, true)
    -- no pasta and no veth: loopback only
    for _, s in ipairs(plan.steps) do assert.is_false(s.op == "veth" or (s.op == "helper" and s.name == "pasta")) end
    -- the proxy in a network namespace of its own, whose one way out is the relay's gate
    assert.is_true(h.netns)
    assert.equal(egress.GATE_PORT, r.gate)
    assert.matches("Upstream http 127.0.0.1:" .. egress.GATE_PORT .. "\n", h.files[2], 1, true)
    assert.same({}, r.allow_private)
    -- and the gate checks the allowlist again
    assert.same({ "connect allowed.test:443", "http allowed.test:80" }, r.allow)
    assert.same({ "connect *.pypi.org:443", "http *.pypi.org:80", "connect example.test:8443", "http example.test:8443" },
      egress.gate_list({ egress = { "*.PyPI.org", "example.test:8443" } }))
  end)

  it("plans a root caller's proxy and relay as an id of their own, a user's as the user; the state's base only", function()
    local p = load('return { namespaces = { "user", "net" }, network = { egress = { "allowed.test" } } }')
    local plan = assert(planner.build(p, ctx(0)))
    local h, r = step(plan, "helper"), step(plan, "relay")
    assert.equal(egress.PROXY_IDS[1], h.ids_from)
    assert.equal(egress.PROXY_IDS[2], h.ids_count)
    assert.is_nil(h.files_uid)
    assert.is_true(r.helper_id)
    assert.is_nil(r.uid)
    -- above the sandboxes' own fixed range, below 2^31
    assert.is_true(h.ids_from > planner.ROOT_FALLBACK_RANGE[1] + planner.ROOT_FALLBACK_RANGE[2])
    assert.is_true(h.ids_from + h.ids_count <= 2147483647)
    -- explain says so
    local text = explain.step(h)
    assert.matches("/egress/tinyproxy-ID ({dir})", text, 1, true)
    assert.matches("exec setpriv --reuid=ID --regid=ID --clear-groups tinyproxy -d -c tinyproxy.conf'", text, 1, true)
    assert.matches("ID: an id of its own for this run, drawn from 2100000000..2116777215", text, 1, true)
    assert.matches("(as the proxy's own id ID)", explain.step(r), 1, true)
    plan = assert(planner.build(p, ctx(1000)))
    h, r = step(plan, "helper"), step(plan, "relay")
    assert.is_nil(explain.step(h):find("setpriv", 1, true))
    assert.is_nil(h.ids_from)
    assert.is_nil(h.ids_count)
    assert.is_nil(r.helper_id)
  end)

  it("parses allow_private: addresses, networks and host names, nothing else", function()
    assert.same({ net = "10.1.2.3" }, egress.parse_private("10.1.2.3"))
    assert.same({ net = "10.0.0.0/8" }, egress.parse_private("10.0.0.0/8"))
    assert.same({ net = "fd00::/8" }, egress.parse_private("FD00::/8"))
    assert.same({ net = "::1" }, egress.parse_private("::1"))
    assert.same({ net = "fe80::1:2:3:4" }, egress.parse_private("fe80::1:2:3:4"))
    assert.same({ name = "intranet.test" }, egress.parse_private("Intranet.Test"))
    assert.same({ name = "*.corp.test" }, egress.parse_private("*.corp.test"))
    for _, bad in ipairs({ "10.0.0.256", "10.0.0.0/33", "10.0.0", "01.2.3.4", "::1/129", "1:2:3:4:5:6:7:8:9",
      "1::2::3", "12345::", "intranet.test:80", "a..b", "", "10.0.0.0/8/8" }) do
      assert.is_nil(egress.parse_private(bad), bad)
    end
    local _, errs = load('return { namespaces = { "user", "net" },\n network = { egress = { "a.test" },\n allow_private = { "10.0.0.0/8", "10.0.0.300" } } }')
    assert.matches('t.lua:3: network.allow_private[2]: expected an address like', errs, 1, true)
    _, errs = load('return { namespaces = { "user", "net" }, network = { egress = { "a.test" }, allow_privat = { "a.test" } } }')
    assert.matches("network.allow_privat: unknown field (did you mean 'allow_private'?)", errs, 1, true)
  end)

  it("hands allow_private to the relay and lists it as a grant", function()
    local p = load('return { namespaces = { "user", "net" }, network = { egress = { "intranet.test", "a.test" },' ..
      ' allow_private = { "intranet.test", "192.168.0.0/16" } } }')
    local plan = assert(planner.build(p, ctx(1000)))
    assert.same({ "intranet.test", "192.168.0.0/16" }, step(plan, "relay").allow_private)
    local g = require("lunshare.network").grants(p, require("lunshare.areas").context(p)).network
    local texts = {}
    for _, x in ipairs(g) do texts[#texts + 1] = x.text end
    local all = table.concat(texts, "\n")
    assert.matches("private address: name intranet.test\n", all, 1, true)
    assert.matches("private address: address 192.168.0.0/16", all, 1, true)
  end)
end)
