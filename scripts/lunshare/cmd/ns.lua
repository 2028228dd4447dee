-- lunshare ns [NAME|PID] [--json]: the namespaces of one process (a named sandbox's
-- command, any process the caller may inspect, or lunshare itself), each with its
-- identity, whether it differs from the host's (pid 1's; the caller's own when pid 1's
-- cannot be read, as for a user), and which other processes share it: what lsns shows,
-- for one sandbox. Reads only /proc.
local command = require "lunshare.command"
local core = require "lunshare.core"
local json = require "lunshare.json"
local sandboxes = require "lunshare.sandboxes"

local M = {}

-- Shown at most per namespace; the count says how many there are.
local MAX_SHOWN = 8

local function ns_id(pid, proc)
  local l = core.readlink("/proc/" .. pid .. "/ns/" .. proc)
  return l and tonumber(l:match("%[(%d+)%]"))
end

-- The pid NAME or PID stands for.
local function target(word)
  if not word then return core.proc_self and core.proc_self() or tonumber(core.readlink("/proc/self")) end
  local pid = word:match("^%d+$") and math.tointeger(tonumber(word))
  if pid then
    if not core.proc_stat(pid) then command.fail(command.EXIT_RUNTIME, "ns: no process " .. pid) end
    return pid
  end
  local rec, err = sandboxes.find(word)
  if err then command.fail(command.EXIT_RUNTIME, "ns: " .. err) end
  if not rec then command.fail(command.EXIT_RUNTIME, "ns: no sandbox named \"" .. word .. "\" is running (see 'lunshare ps')") end
  return sandboxes.command_pid(rec) or rec.pid
end

function M.main(args)
  local o = command.options("ns", args)
  if o.help then return command.help_for("ns") end
  if #o.positional > 1 then command.usage_error("ns: expected at most one NAME or PID") end
  local pid = target(o.positional[1])
  -- The baseline: the host's (pid 1's), or the caller's own when pid 1's is not readable.
  local base_pid, base = 1, "host"
  if not ns_id(1, "user") then base_pid, base = tonumber(core.readlink("/proc/self")), "yours" end
  local kinds = core.ns_kinds()
  local rows, by_id = {}, {}
  for _, k in ipairs(kinds) do
    local id = ns_id(pid, k.proc)
    if not id then command.fail(command.EXIT_RUNTIME, "ns: cannot read /proc/" .. pid .. "/ns/" .. k.proc ..
      " (a process of another user, or a sandbox's pid 1: name the sandbox)") end
    local row = { kind = k.name, id = id, differs = id ~= ns_id(base_pid, k.proc), shared = {} }
    rows[#rows + 1] = row
    by_id[k.proc] = row
  end
  -- Every process we may inspect, by namespace.
  for _, d in ipairs(core.dir_list("/proc") or {}) do
    local p = d:match("^%d+$") and math.tointeger(tonumber(d))
    if p and p ~= pid then
      for _, k in ipairs(kinds) do
        local row = by_id[k.proc]
        if ns_id(p, k.proc) == row.id then row.shared[#row.shared + 1] = p end
      end
    end
  end
  if o.json then
    io.stdout:write(json.encode({ pid = pid, baseline = base, namespaces = rows }, true), "\n")
    return 0
  end
  io.stdout:write(string.format("namespaces of pid %d (compared with %s)\n", pid, base == "host" and "the host's" or "yours"))
  io.stdout:write(string.format("%-8s %-12s %-7s %s\n", "KIND", "ID", base == "host" and "HOST" or "YOURS", "SHARED WITH"))
  for _, r in ipairs(rows) do
    table.sort(r.shared)
    local shown = {}
    for i = 1, math.min(#r.shared, MAX_SHOWN) do shown[i] = tostring(r.shared[i]) end
    local others = #r.shared == 0 and "-" or (#r.shared .. ": " .. table.concat(shown, " ") .. (#r.shared > MAX_SHOWN and " …" or ""))
    io.stdout:write(string.format("%-8s %-12d %-7s %s\n", r.kind, r.id, r.differs and "own" or "same", others))
  end
  return 0
end

return M
