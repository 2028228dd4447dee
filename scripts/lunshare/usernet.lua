-- Profile area helper: user-mode networking through pasta (Debian's passt).
--   network = "user"                                   outbound TCP, UDP and ICMP echo
--   network = { mode = "user", ports = { "8080:80", "127.0.0.1:5353:53/udp" } }
-- The sandbox keeps a network namespace of its own; the supervisor starts pasta against
-- it once the sandbox's process exists (before it runs anything) and ends it with the run.
-- pasta copies the host's address and default route into the namespace, answers DNS at
-- M.DNS (relayed to the host's first resolver), and makes outbound connections from
-- sockets of the caller's own: no host interface, route or firewall rule changes.
-- Nothing comes in but the listed ports, and the host's own loopback stays out of reach
-- (--no-map-gw, no namespace-to-host forwarding).
local util = require "lunshare.util"

local M = {}

-- The address inside at which pasta answers DNS (--dns-forward), and so the nameserver of
-- the sandbox's /etc/resolv.conf: link-local, never a real host's.
M.DNS = "169.254.1.1"
M.RESOLV_CONF = "nameserver " .. M.DNS .. "\n"
M.KEYS = { "mode", "ports" }
M.MODES = { "none", "host", "user" }

-- The mode of a network value: "user" for "user" or a table with mode = "user" (or ports).
function M.is_user(n)
  if n == "user" then return true end
  return type(n) == "table" and (n.mode == "user" or (n.mode == nil and n.ports ~= nil and n.egress == nil))
end

local function valid_port(s)
  local n = tonumber(s)
  return s:match("^%d+$") and n >= 1 and n <= 65535 and n or nil
end

-- "8080:80", "80", "127.0.0.1:5353:53/udp", "[::1]:8080:80/tcp" ->
-- { address = "127.0.0.1" or nil, host = 8080, port = 80, proto = "tcp" }; nil and why.
function M.parse_port(s)
  if type(s) ~= "string" then return nil, "expected a string like \"8080:80\"" end
  local rest, proto = s:match("^(.-)/(%w*)$")
  if rest then
    if proto ~= "tcp" and proto ~= "udp" then
      return nil, "unknown protocol \"" .. proto .. "\"" .. util.suggest(proto, { "tcp", "udp" }) ..
        ": expected /tcp or /udp"
    end
  else
    rest, proto = s, "tcp"
  end
  local address
  local v6, after = rest:match("^%[([%x:%.]+)%]:(.+)$")
  if v6 then
    address, rest = v6, after
  else
    local a, b = rest:match("^(%d+%.%d+%.%d+%.%d+):(.+)$")
    if a then address, rest = a, b end
  end
  if address and not util.valid_cidr(address) then
    return nil, "expected an address like 127.0.0.1 or [::1], got " .. address
  end
  local host, port = rest:match("^([^:]+):([^:]+)$")
  if not host then host, port = rest, rest end
  local h, p = valid_port(host), valid_port(port)
  if not h or not p then
    return nil, "expected \"[ADDRESS:]HOST_PORT[:SANDBOX_PORT][/tcp|/udp]\" with ports from 1 to 65535, got \"" ..
      util.escape(s, 80) .. "\""
  end
  return { address = address, host = h, port = p, proto = proto }
end

-- The host address a forward listens on: the one it names, else the host's loopback only
-- (a one-user tool opens no port to the LAN unless asked: "0.0.0.0:8080:80").
M.DEFAULT_ADDRESS = "127.0.0.1"
function M.listen_address(f) return f.address or M.DEFAULT_ADDRESS end

-- Whether a forward listens on every address of the host (0.0.0.0 or [::]).
function M.on_every_address(f)
  local a = M.listen_address(f)
  return a == "0.0.0.0" or a:match("^[0:]+$") ~= nil
end

-- c: the schema checker; n: the network value; ns: the namespaces.
function M.check(c, n, ns)
  if not ns.net then c:fail("network", "\"user\" networking needs the net namespace (add \"net\" to namespaces)") end
  if n == "user" then return end
  for _, k in ipairs(util.sorted_keys(n)) do
    if not util.contains(M.KEYS, k) then
      local why = k == "egress" and "; an egress allowlist means no other route out: drop mode = \"user\"" or
        (util.suggest(tostring(k), M.KEYS) .. "; expected mode or ports")
      c:fail(util.sub_path("network", k), (k == "egress" and "not with mode = \"user\"" or
        "unknown field") .. why)
    end
  end
  if n.mode ~= nil and n.mode ~= "user" then
    c:fail("network.mode", "expected \"user\"" .. (type(n.mode) == "string" and util.suggest(n.mode, { "user" }) or ""))
  end
  if n.ports == nil then return end
  if not c:list(n.ports, "network.ports", "port forwards") then return end
  local seen = {}
  for i, s in ipairs(n.ports) do
    local path = "network.ports[" .. i .. "]"
    local f, why = M.parse_port(s)
    if not f then
      c:fail(path, why)
    else
      local key = f.proto .. " " .. (f.address or "*") .. " " .. f.host
      if seen[key] then c:fail(path, "host port " .. f.host .. "/" .. f.proto .. " is forwarded twice") end
      seen[key] = true
    end
  end
end

local function ports(n)
  local out = {}
  for _, s in ipairs(type(n) == "table" and n.ports or {}) do out[#out + 1] = assert(M.parse_port(s)) end
  return out
end
M.ports = ports

-- pasta's spelling of a forward: "ADDRESS/HOST_PORT:SANDBOX_PORT", the address always
-- given (pasta's own default is every address).
local function pasta_spec(f)
  return M.listen_address(f) .. "/" .. f.host .. ":" .. f.port
end

-- Whether pasta joins the sandbox's user namespace before it starts, as the sandbox's own
-- unprivileged id (a root caller's: started as root, pasta would become nobody, who may
-- not enter a user namespace root owns, and `--runas 0:0` would leave it host root while
-- it parses every packet the sandbox sends).
function M.joins_user(ns, ids)
  return ns.user and ids ~= nil and (ids.euid or ids.uid) == 0
end

-- The command line the supervisor runs. {pid} is the sandbox's first process (the
-- executor fills it in); the pid file on fd 3 says that the namespace is configured.
function M.pasta_argv(n, ns, ids)
  local argv = { "pasta", "--foreground", "--quiet", "--config-net", "--ns-ifname", "eth0",
    "--no-map-gw", "--dns-forward", M.DNS, "--tcp-ns", "none", "--udp-ns", "none" }
  local tcp, udp = {}, {}
  for _, f in ipairs(ports(n)) do
    local list = f.proto == "udp" and udp or tcp
    list[#list + 1] = pasta_spec(f)
  end
  for _, x in ipairs({ { "--tcp-ports", tcp }, { "--udp-ports", udp } }) do
    if #x[2] == 0 then
      argv[#argv + 1], argv[#argv + 2] = x[1], "none"
    else
      for _, spec in ipairs(x[2]) do argv[#argv + 1], argv[#argv + 2] = x[1], spec end
    end
  end
  argv[#argv + 1], argv[#argv + 2] = "--pid", "/dev/fd/3"
  if M.joins_user(ns, ids) then
    -- A root caller's pasta is already in the sandbox's user namespace, as its own id
    -- (the executor put it there: join_user); it joins the network namespace, on fd 4.
    for _, a in ipairs({ "--netns-only", "--netns", "/proc/self/fd/4" }) do argv[#argv + 1] = a end
  elseif ns.user then
    argv[#argv + 1] = "{pid}"
  else
    -- No user namespace: only root can enter a network namespace that root owns, so pasta
    -- stays root (it would become nobody by default); it drops its capabilities itself.
    if ids and (ids.euid or ids.uid) == 0 then argv[#argv + 1], argv[#argv + 2] = "--runas", "0:0" end
    -- No user namespace of its own: join only the network namespace.
    for _, a in ipairs({ "--netns-only", "--netns", "/proc/{pid}/ns/net" }) do argv[#argv + 1] = a end
  end
  return argv
end

function M.plan(profile, add, ctx, origin, ns)
  add("host", { op = "helper", name = "pasta", ready = "pidfile", timeout = 10000,
    argv = M.pasta_argv(profile.network, ns, ctx.ids), join_user = M.joins_user(ns, ctx.ids) or nil,
    origin = origin })
  add("network", { op = "lo_up", origin = origin })
  return true
end

-- Whether the sandbox gets a generated /etc/resolv.conf: a new root (mounts) that does not
-- bring its own, nor the host's /etc.
function M.resolv_conf(profile)
  if not M.is_user(profile.network) or type(profile.mounts) ~= "table" then return nil end
  for _, m in ipairs(profile.mounts) do
    local dst = type(m) == "table" and util.clean_path(m.dst or m.src)
    if dst == "/etc/resolv.conf" or dst == "/etc" or dst == "/" then return nil end
  end
  return M.RESOLV_CONF
end

-- What a person needs to hear after pasta's own words when it did not start, for the
-- message of the failing helper step: "" when pasta's words are enough.
function M.failure_hint(step, msg)
  if not (step and step.op == "helper" and step.name == "pasta") then return "" end
  if msg:find("tun", 1, true) then
    return ": /dev/net/tun is not usable by this user (see 'lunshare doctor')"
  end
  return ""
end

function M.grants(profile)
  local n = profile.network
  local out = {
    { text = "a network namespace of its own, loopback up", path = "namespaces" },
    { text = "outbound TCP, UDP and ICMP echo to anywhere the host reaches, through pasta (DNS at " ..
      M.DNS .. ")", outbound = true, path = "network" },
    -- pasta's model: the host's loopback stays out (--no-map-gw), but a host service bound
    -- to 0.0.0.0 also listens on the host's other addresses, which the sandbox reaches.
    { text = "host services listening on every address (0.0.0.0) are reachable through the host's " ..
      "non-loopback addresses; the host's 127.0.0.1 is not", outbound = true, path = "network" },
  }
  for i, f in ipairs(ports(n)) do
    local a = M.listen_address(f)
    local where = M.on_every_address(f) and "on every address of the host" or
      ("on the host's " .. (a:find(":", 1, true) and ("[" .. a .. "]") or a))
    out[#out + 1] = { text = "port " .. f.host .. "/" .. f.proto .. " " .. where ..
      " forwarded to port " .. f.port .. " inside", forward = true, every_address = M.on_every_address(f) or nil,
      path = "network.ports[" .. i .. "]" }
  end
  return { network = out }
end

return M
