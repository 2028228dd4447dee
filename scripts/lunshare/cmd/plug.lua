-- lunshare plug NAME bind SRC [DST] [--rw]: adds a bind of the host's SRC at DST (default:
-- SRC) to a named sandbox of the caller's while it runs, as the same bind in its profile
-- would be made (read-only unless --rw), and records it (lunshare.hotplug).
-- lunshare plug NAME veth HOSTIF [SBIF] [--address A/N]... [--peer-address A/N]...
-- [--route TO[,VIA]]... [--bridge BR]: a veth pair from the host (HOSTIF) into it (SBIF,
-- default HOSTIF), as a profile's veth { … } is made; root only, as for a profile.
-- lunshare plug NAME veth IF --to OTHER[:IF2] [--address A/N]... [--peer-address A/N]...
-- [--route TO[,VIA]]...: a veth pair between two running named sandboxes of the caller's,
-- IF in NAME (--address), IF2 (default IF) in OTHER (--peer-address); root only.
local command = require "lunshare.command"
local hotplug = require "lunshare.hotplug"
local sandboxes = require "lunshare.sandboxes"

local M = {}

local fail, EXIT_RUNTIME = command.fail, command.EXIT_RUNTIME

function M.main(args)
  local o = command.options("plug", args)
  if o.help then return command.help_for("plug") end
  local name, kind = o.positional[1], o.positional[2]
  if not name or not kind then command.usage_error("plug: expected NAME and what to plug (bind SRC [DST])") end
  if kind == "veth" then
    local host, inside = o.positional[3], o.positional[4]
    if o.to and (not host or #o.positional > 3) then command.usage_error("plug: expected veth IF --to OTHER[:IF2]") end
    if not host or #o.positional > 4 then command.usage_error("plug: expected veth HOSTIF [SBIF]") end
    local to, peer
    if o.to then
      local other, if2 = o.to:match("^([^:]+):(.+)$")
      other = other or o.to
      if o.bridge then command.usage_error("plug: --bridge and --to: a veth to another sandbox has no host end") end
      local orec, oerr = sandboxes.lookup(other)
      if not orec then fail(EXIT_RUNTIME, "plug: --to: " .. oerr) end
      to, peer = orec, if2
    end
    local routes = {}
    for _, r in ipairs(o.route or {}) do
      local to, via = r:match("^([^,]+),(.+)$")
      routes[#routes + 1] = { to = to or r, via = via }
    end
    local rec, terr = sandboxes.lookup(name)
    if not rec then fail(EXIT_RUNTIME, "plug: " .. terr) end
    local obj, err = hotplug.plug_veth(rec, { host = host, name = inside, address = o.address,
      host_address = o.peer_address, routes = routes, bridge = o.bridge, to = to, peer = peer })
    if not obj then fail(EXIT_RUNTIME, "plug: " .. err) end
    return 0
  end
  if kind ~= "bind" then command.usage_error("plug: cannot plug '" .. kind .. "' (expected bind or veth)") end
  local src, dst = o.positional[3], o.positional[4]
  if not src or #o.positional > 4 then command.usage_error("plug: expected bind SRC [DST]") end
  if src:sub(1, 1) ~= "/" or (dst and dst:sub(1, 1) ~= "/") then
    command.usage_error("plug: SRC and DST must be absolute paths")
  end
  local rec, terr = sandboxes.lookup(name)
  if not rec then fail(EXIT_RUNTIME, "plug: " .. terr) end
  local obj, err = hotplug.plug_bind(rec, src, dst, o.rw)
  if not obj then fail(EXIT_RUNTIME, "plug: " .. err) end
  return 0
end

return M
