-- Profile area helper: an enforced egress allowlist.
--   network = { egress = { "deb.debian.org", "*.pypi.org", "example.test:8443" } }
-- The sandbox's network namespace has loopback only, and no route out. On its loopback,
-- at M.PROXY_PORT, the supervisor listens and relays every connection to a filtering
-- proxy outside (tinyproxy, started with a generated config in a private state directory
-- and ended with the run), which allows CONNECT and plain HTTP only to the listed hosts
-- and answers anything else with 403. Names are resolved outside: the sandbox needs no
-- DNS. A program that ignores the proxy variables reaches nothing: fail closed.
--
-- A pattern: a host name ("deb.debian.org"), or "*." and a suffix ("*.pypi.org": any name
-- below pypi.org, not pypi.org itself), with an optional ":PORT"; without one, port 443
-- for CONNECT and port 80 for plain HTTP.
--
-- The proxy runs in a network namespace of its own, loopback only: no other user reaches
-- it, and its one way out is the relay's gate (core/relay.c), which resolves each name
-- outside and refuses with 403 an address that is loopback, link-local or private (a
-- listed name must not lead the sandbox to the host's own services), unless
-- allow_private lists the name ("intranet.corp", "*.corp") or the address ("10.1.2.3",
-- "10.0.0.0/8", "fd00::/8").
local state = require "lunshare.state"
local util = require "lunshare.util"

local M = {}

M.PROXY_PORT = 3128
-- A root caller's tinyproxy and relay run as an id of their own, drawn for each run from
-- this range and used by no account, group or subordinate range (core/helper_ops.c checks):
-- as nobody, any other nobody process could ptrace tinyproxy and read or forge the
-- sandbox's plain HTTP; as the sandbox's mapped id, the sandbox (or another sandbox of the
-- same map) could. Above the sandboxes' own fixed range (plan.ROOT_FALLBACK_RANGE) and
-- below 2^31. A caller who is not root runs them as itself (in a user namespace of their
-- own for tinyproxy), as every other process of theirs.
M.PROXY_IDS = { 2100000000, 1 << 24 }
M.GATE_PORT = 3129 -- the relay's gate, in the proxy's own network namespace
M.KEYS = { "egress", "allow_private" }
M.NO_PROXY = "localhost,127.0.0.1,::1"

function M.is_egress(n)
  return type(n) == "table" and n.egress ~= nil
end

local function valid_name(s)
  if #s == 0 or #s > 253 then return false end
  for label in (s .. "."):gmatch("([^.]*)%.") do
    if #label == 0 or #label > 63 or not label:match("^[%w%-]+$") or label:match("^%-") or label:match("%-$") then
      return false
    end
  end
  return true
end

-- "*.pypi.org:8443" -> { wild = true, name = "pypi.org", port = 8443 }; nil, why, nearest.
function M.parse(s)
  if type(s) ~= "string" then return nil, "expected a host name like \"deb.debian.org\" or \"*.pypi.org\"" end
  local text = s:lower()
  local rest, port = text:match("^(.-):(%d+)$")
  if rest then
    port = tonumber(port)
    if port < 1 or port > 65535 then return nil, "expected a port from 1 to 65535, got " .. port end
  else
    rest = text
  end
  local wild = false
  if rest:sub(1, 2) == "*." then wild, rest = true, rest:sub(3) end
  if valid_name(rest) then return { wild = wild, name = rest, port = port } end
  -- The nearest pattern that is valid, for the message.
  local guess = text:gsub("^%a+://", ""):gsub("/.*$", ""):gsub("^%*([^.])", "*.%1"):gsub("%.$", "")
  local why = "expected a host name, \"*.\" and a domain, and an optional \":PORT\", got \"" .. util.escape(s, 80) .. "\""
  if guess ~= text and guess ~= "" and M.parse(guess) then why = why .. "; did you mean \"" .. guess .. "\"?" end
  return nil, why
end

-- An IPv4 or IPv6 address, with an optional "/BITS": its family's bit count, or nil.
local function address_bits(s)
  local addr, bits = s:match("^([^/]+)/(%d+)$")
  addr = addr or s
  local max
  local a, b, c4, d = addr:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  if a then
    for _, x in ipairs({ a, b, c4, d }) do
      if tonumber(x) > 255 or (#x > 1 and x:sub(1, 1) == "0") then return nil end
    end
    max = 32
  elseif addr:find(":", 1, true) and addr:match("^[%x:]+$") and #addr <= 39 then
    local _, doubles = addr:gsub("::", "")
    local groups = 0
    for g in addr:gmatch("[^:]+") do
      if #g > 4 then return nil end
      groups = groups + 1
    end
    if doubles > 1 or addr:find(":::", 1, true) or (doubles == 0 and groups ~= 8) or groups > 7 + (1 - doubles)
      or (doubles == 0 and (addr:sub(1, 1) == ":" or addr:sub(-1) == ":")) then
      return nil
    end
    max = 128
  else
    return nil
  end
  if bits and tonumber(bits) > max then return nil end
  return max
end
M.address_bits = address_bits

-- An allow_private entry: an address or network, or a host pattern without a port.
function M.parse_private(s)
  if type(s) ~= "string" then return nil, "expected an address (\"10.1.2.3\", \"10.0.0.0/8\") or a host name" end
  local text = s:lower()
  if address_bits(text) then return { net = text } end
  if text:match("^[%d.]+$") or text:find(":", 1, true) or text:find("/", 1, true) then
    return nil, "expected an address like \"10.1.2.3\", \"10.0.0.0/8\" or \"fd00::/8\", or a host name, got \"" ..
      util.escape(s, 80) .. "\""
  end
  local p, why = M.parse(text)
  if not p then return nil, why end
  return { name = (p.wild and "*." or "") .. p.name }
end

function M.check(c, n, ns)
  if not ns.net then c:fail("network", "an egress allowlist needs the net namespace (add \"net\" to namespaces)") end
  for _, k in ipairs(util.sorted_keys(n)) do
    if not util.contains(M.KEYS, k) then
      if k == "mode" or k == "ports" then
        c:fail(util.sub_path("network", k), "not with egress: an allowlist means there is no other route " ..
          "out (\"user\" networking and port forwards do not go with it)")
      else
        c:fail(util.sub_path("network", k), "unknown field" .. util.suggest(tostring(k), M.KEYS) ..
          "; expected egress or allow_private")
      end
    end
  end
  if not c:list(n.egress, "network.egress", "host patterns") then return end
  if #n.egress == 0 then c:fail("network.egress", "an empty allowlist allows nothing: use network = \"none\"") end
  for i, s in ipairs(n.egress) do
    local ok, why = M.parse(s)
    if not ok then c:fail("network.egress[" .. i .. "]", why) end
  end
  if n.allow_private ~= nil and c:list(n.allow_private, "network.allow_private", "addresses or host names") then
    for i, s in ipairs(n.allow_private) do
      local ok, why = M.parse_private(s)
      if not ok then c:fail("network.allow_private[" .. i .. "]", why) end
    end
  end
end

-- The relay's list of what may lead to a private address: "NAME", "*.SUFFIX", "ADDRESS[/BITS]".
function M.private_allowed(n)
  local out = {}
  for _, s in ipairs(n.allow_private or {}) do
    local p = assert(M.parse_private(s))
    out[#out + 1] = p.net or p.name
  end
  return out
end

local function patterns(n)
  local out = {}
  for _, s in ipairs(n.egress) do out[#out + 1] = assert(M.parse(s)) end
  return out
end
M.patterns = patterns

local function ere_name(p)
  local name = p.name:gsub("[%.%-]", { ["."] = "\\.", ["-"] = "\\-" })
  return p.wild and ("([a-z0-9-]+\\.)+" .. name) or name
end

-- tinyproxy's filter (extended regular expressions over the URL it is asked for, which is
-- "HOST:PORT" for CONNECT and "http://HOST[:PORT]/…" for plain HTTP), one line a rule.
function M.filter(n)
  local lines = {}
  for _, p in ipairs(patterns(n)) do
    local name = ere_name(p)
    if p.port then
      lines[#lines + 1] = "^" .. name .. ":" .. p.port .. "$"
      lines[#lines + 1] = "^http://" .. name .. ":" .. p.port .. "/"
    else
      lines[#lines + 1] = "^" .. name .. ":443$"
      lines[#lines + 1] = "^http://" .. name .. "(:80)?/"
    end
  end
  return table.concat(lines, "\n") .. "\n"
end

-- The same allowlist for the relay's gate, which checks again what the filter let through:
-- "connect NAME:PORT" and "http NAME:PORT" (NAME as written, "*.SUFFIX" for a suffix).
function M.gate_list(n)
  local out = {}
  for _, p in ipairs(patterns(n)) do
    local name = (p.wild and "*." or "") .. p.name
    out[#out + 1] = "connect " .. name .. ":" .. (p.port or 443)
    out[#out + 1] = "http " .. name .. ":" .. (p.port or 80)
  end
  return out
end

-- tinyproxy's configuration: {port} and {dir} are filled in by the executor (a port on
-- the loopback of tinyproxy's own network namespace, the run's private state directory).
-- Its one way out is the relay's gate, as an upstream HTTP proxy.
function M.config()
  return table.concat({
    "Port {port}",
    "Listen 127.0.0.1",
    "Upstream http 127.0.0.1:" .. M.GATE_PORT,
    "Timeout 60",
    "MaxClients 64",
    -- For a root caller tinyproxy runs as an id of its own (M.PROXY_IDS: the executor
    -- drops it; a caller that is not root it runs as); its files are that id's and named
    -- relative to its directory.
    "LogFile \"tinyproxy.log\"",
    "LogLevel Notice",
    "Filter \"filter\"",
    "FilterURLs On",
    "FilterType ere",
    "FilterCaseSensitive No",
    "FilterDefaultDeny Yes",
    "DisableViaHeader Yes",
    "XTinyproxy No",
    "",
  }, "\n")
end

-- What the command's environment gets: the proxy inside, for each spelling programs read.
function M.env(profile)
  if not M.is_egress(profile.network) then return {} end
  local url = "http://127.0.0.1:" .. M.PROXY_PORT
  return { HTTP_PROXY = url, HTTPS_PROXY = url, http_proxy = url, https_proxy = url,
    NO_PROXY = M.NO_PROXY, no_proxy = M.NO_PROXY }
end

function M.plan(profile, add, ctx, origin)
  local n = profile.network
  -- The predictable base: the run itself moves to a fresh directory of the caller's own
  -- when another user made it first (core/statedir.c, lsh_statedir_open_run), so that
  -- planning (check, explain) makes no directory.
  local root, path = state.base()
  local ids = ctx.ids
  local as_root = ids ~= nil and (ids.euid or ids.uid) == 0
  add("host", { op = "helper", name = "tinyproxy", ready = "port", timeout = 10000, netns = true,
    state_root = root, state_path = path .. "/egress",
    argv = { "tinyproxy", "-d", "-c", "tinyproxy.conf" },
    files = { "tinyproxy.conf", M.config(), "filter", M.filter(n), "tinyproxy.log", "" },
    ids_from = as_root and M.PROXY_IDS[1] or nil, ids_count = as_root and M.PROXY_IDS[2] or nil, origin = origin })
  add("host", { op = "relay", port = M.PROXY_PORT, gate = M.GATE_PORT, helper_id = as_root or nil,
    allow = M.gate_list(n), allow_private = M.private_allowed(n), log = ctx.egress_log, origin = origin })
  add("network", { op = "lo_up", origin = origin })
  return true
end

function M.grants(profile)
  local out = {
    { text = "a network namespace of its own, loopback only, no route out", path = "namespaces" },
    { text = "an HTTP proxy at 127.0.0.1:" .. M.PROXY_PORT .. " (CONNECT and plain HTTP, names resolved outside)",
      path = "network.egress" },
  }
  for i, p in ipairs(patterns(profile.network)) do
    local ports = p.port and tostring(p.port) or "443 (CONNECT) and 80 (HTTP)"
    out[#out + 1] = { text = "outbound to " .. (p.wild and ("any name below " .. p.name) or p.name) ..
      ", port " .. ports, egress = true, path = "network.egress[" .. i .. "]" }
  end
  for i, s in ipairs(profile.network.allow_private or {}) do
    local p = assert(M.parse_private(s))
    out[#out + 1] = { text = "a listed name may lead to a loopback, link-local or private address: " ..
      (p.net and ("address " .. p.net) or ("name " .. p.name)), egress = true, path = "network.allow_private[" .. i .. "]" }
  end
  return { network = out }
end

return M
