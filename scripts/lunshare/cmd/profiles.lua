-- `lunshare profiles [--json]`: every profile on the profile path, in the order a name is
-- looked up (LUNSHARE_PROFILE_PATH, the user's directory, /etc/lunshare/profiles, then
-- the shipped ones), each with its description and where it was found. A name found
-- earlier shadows the same name later: the later one is listed as shadowed, and a
-- shipped one stays reachable as builtin:NAME.
--
-- Listing evaluates each profile (bounded, like check) for its description; one that does
-- not load is listed with its first error instead.
local command = require "lunshare.command"
local core = require "lunshare.core"
local json = require "lunshare.json"
local profile = require "lunshare.profile"
local schema = require "lunshare.schema"
local util = require "lunshare.util"

local M = {}

-- The description of the profile at name (a path or builtin:NAME), or nil and an error.
local function describe(name)
  local p, errs = profile.load(name, { placeholders = true })
  if not p then return nil, schema.format_error(errs[1]) end
  return type(p.description) == "string" and p.description or ""
end

-- The entries: { name, where, path, builtin, description, error, shadowed_by }, in lookup
-- order (directories first, then the shipped ones), names sorted within each place.
function M.list()
  local shipped_dir = profile.shipped_dir()
  local entries, first = {}, {}
  local function add(e)
    if first[e.name] then e.shadowed_by = first[e.name].where else first[e.name] = e end
    entries[#entries + 1] = e
  end
  for _, dir in ipairs(profile.search_path()) do
    -- The shipped directory is what the builtin entries below are.
    if dir ~= shipped_dir then
      local names = core.dir_list(dir) or {}
      table.sort(names)
      for _, f in ipairs(names) do
        local n = f:match("^([%w_%-%.]+)%.lua$")
        if n and core.kind(dir .. "/" .. f) == "file" then
          local path = dir .. "/" .. f
          local d, err = describe(path)
          add({ name = n, where = path, path = path, builtin = false, description = d, error = err })
        end
      end
    end
  end
  local ship = profile.shipped()
  for _, n in ipairs(util.sorted_keys(ship)) do
    local d, err = describe(profile.BUILTIN .. n)
    add({ name = n, where = profile.BUILTIN .. n, path = ship[n].path, builtin = true, description = d, error = err })
  end
  return entries
end

local function text(entries)
  local width = 4
  for _, e in ipairs(entries) do width = math.max(width, #e.name) end
  local out = {}
  for _, e in ipairs(entries) do
    local what = e.error and ("(does not load: " .. e.error .. ")") or e.description
    out[#out + 1] = string.format("%-" .. width .. "s  %s\n%s  from %s%s\n", util.escape(e.name),
      util.escape(what), string.rep(" ", width), util.escape(e.where),
      e.shadowed_by and ("; shadowed by " .. util.escape(e.shadowed_by) ..
        (e.builtin and (", still reachable as " .. util.escape(e.where)) or "")) or "")
  end
  return table.concat(out)
end

function M.main(args)
  local o = command.options("profiles", args)
  if o.help then return command.help_for("profiles") end
  if #o.positional > 0 or o.dashdash then
    command.usage_error("profiles: unknown argument '" .. (o.positional[1] or "--") .. "'")
  end
  local entries = M.list()
  if o.json then
    local list = {}
    for i, e in ipairs(entries) do
      list[i] = { name = e.name, where = e.where, path = e.path, builtin = e.builtin,
        description = e.description, error = e.error, shadowed_by = e.shadowed_by }
    end
    io.stdout:write(json.encode(list, true), "\n")
  else
    io.stdout:write(text(entries))
  end
  return 0
end

return M
