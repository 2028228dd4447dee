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
local state = require "lunshare.state"
local util = require "lunshare.util"

local M = {}

M.PROXY_PORT = 3128
M.PROXY_UID = 65534 -- nobody, whom tinyproxy runs as for a root caller
M.KEYS = { "egress" }
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

function M.check(c, n, ns)
  if not ns.net then c:fail("network", "an egress allowlist needs the net namespace (add \"net\" to namespaces)") end
  for _, k in ipairs(util.sorted_keys(n)) do
    if not util.contains(M.KEYS, k) then
      if k == "mode" or k == "ports" then
        c:fail(util.sub_path("network", k), "not with egress: an allowlist means there is no other route " ..
          "out (\"user\" networking and port forwards do not go with it)")
      else
        c:fail(util.sub_path("network", k), "unknown field" .. util.suggest(tostring(k), M.KEYS) ..
          "; expected egress")
      end
    end
  end
  if not c:list(n.egress, "network.egress", "host patterns") then return end
  if #n.egress == 0 then c:fail("network.egress", "an empty allowlist allows nothing: use network = \"none\"") end
  for i, s in ipairs(n.egress) do
    local ok, why = M.parse(s)
    if not ok then c:fail("network.egress[" .. i .. "]", why) end
  end
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

-- tinyproxy's configuration: {port} and {dir} are filled in by the executor (a free port
-- on the host's loopback, the run's private state directory).
function M.config()
  return table.concat({
    "Port {port}",
    "Listen 127.0.0.1",
    "Timeout 60",
    "MaxClients 64",
    -- For a root caller tinyproxy runs as nobody (the executor drops it; a caller that is
    -- not root it runs as); its files are nobody's and named relative to its directory.
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
  local root, path = state.base()
  add("host", { op = "helper", name = "tinyproxy", ready = "port", timeout = 10000,
    state_root = root, state_path = path .. "/egress",
    argv = { "tinyproxy", "-d", "-c", "tinyproxy.conf" },
    files = { "tinyproxy.conf", M.config(), "filter", M.filter(n), "tinyproxy.log", "" },
    files_uid = M.PROXY_UID, origin = origin })
  add("host", { op = "relay", port = M.PROXY_PORT, log = ctx.egress_log, origin = origin })
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
  return { network = out }
end

return M
