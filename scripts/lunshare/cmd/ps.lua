-- lunshare ps [--json]: the caller's named sandboxes that run (root: everyone's), one a
-- line, from their records (lunshare.sandboxes), with their host links' addresses and what
-- `lunshare plug` added; stale records are cleaned on the way.
local command = require "lunshare.command"
local core = require "lunshare.core"
local hotplug = require "lunshare.hotplug"
local json = require "lunshare.json"
local sandboxes = require "lunshare.sandboxes"
local util = require "lunshare.util"

local M = {}

local function duration(s)
  if s < 60 then return s .. "s" end
  if s < 3600 then return string.format("%dm%02ds", s // 60, s % 60) end
  if s < 86400 then return string.format("%dh%02dm", s // 3600, s % 3600 // 60) end
  return string.format("%dd%02dh", s // 86400, s % 86400 // 3600)
end

-- What ps says of one record, as JSON gives it (a plugged veth the sandbox deleted says
-- gone = true).
local function row(rec)
  for _, o in ipairs(rec.plugged) do if hotplug.gone(o) then o.gone = true end end
  return { name = rec.name, pid = rec.pid, supervisor = rec.supervisor, uid = rec.owner, profile = rec.profile,
    file = rec.file, uptime = sandboxes.uptime(rec), namespaces = rec.namespaces, links = rec.links,
    addresses = rec.addresses, plugged = rec.plugged, net_joined = rec.net_joined }
end

-- The namespaces column: its own, and the netns it joined ("net(joined NAME)").
local function namespaces_text(r)
  local out = {}
  for i, n in ipairs(r.namespaces) do out[i] = n end
  if r.net_joined then out[#out + 1] = "net(joined " .. r.net_joined .. ")" end
  return #out > 0 and table.concat(out, ",") or "-"
end

-- The links column: each host link with its addresses ("lsh0=10.0.0.1/24").
local function links_text(r)
  local out = {}
  for i, l in ipairs(r.links) do
    local a = r.addresses[l]
    out[i] = l .. (a and #a > 0 and ("=" .. table.concat(a, "+")) or "")
  end
  return #out > 0 and table.concat(out, ",") or "-"
end

-- The plugged column: what `lunshare plug` added, each by the id unplug takes.
local function plugged_text(r)
  local out = {}
  for i, o in ipairs(r.plugged) do out[i] = hotplug.describe(o) end
  return #out > 0 and table.concat(out, ",") or "-"
end

function M.main(args)
  local o = command.options("ps", args)
  if o.help then return command.help_for("ps") end
  if #o.positional > 0 then command.usage_error("ps: takes no arguments") end
  local all = (core.ids().euid or core.ids().uid) == 0
  local list, warnings = (all and sandboxes.list_all or sandboxes.list)()
  if not list then command.fail(command.EXIT_RUNTIME, "ps: " .. warnings) end
  for _, w in ipairs(warnings) do io.stderr:write("lunshare: ps: ", w, "\n") end
  local rows = {}
  for i, rec in ipairs(list) do rows[i] = row(rec) end
  if o.json then
    io.stdout:write(json.encode(rows, true), "\n")
    return 0
  end
  local fmt = all and "%-20s %-6s %8s %-16s %8s  %s%s%s\n" or "%-20s%s %8s %-16s %8s  %s%s%s\n"
  io.stdout:write(string.format(fmt, "NAME", all and "UID" or "", "PID", "PROFILE", "UPTIME", "NAMESPACES", "  LINKS",
    "  PLUGGED"))
  -- Every column through util.text: a record is its owner's to write (another user's,
  -- for root), and its profile, links and paths are text of theirs.
  local text = util.text
  for _, r in ipairs(rows) do
    io.stdout:write(string.format(fmt, text(r.name), all and tostring(r.uid) or "", r.pid, text(r.profile),
      duration(r.uptime), text(namespaces_text(r)), "  " .. text(links_text(r)), "  " .. text(plugged_text(r))))
  end
  return 0
end

return M
