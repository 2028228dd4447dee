-- What a profile grants, as a summary two profiles can be compared by: the namespaces it
-- shares with the host, the ids, paths, network reach, capabilities, syscalls and limits.
-- Each area module may give `grants(profile)` returning { [category] = { "item", … } };
-- an area without one is summarised from its raw fields, so nothing it sets goes unseen.
local util = require "lunshare.util"

local M = {}

-- A value printed back as compact, stable Lua.
function M.show(v, seen)
  local t = type(v)
  if t == "string" then return string.format("%q", v) end
  if t ~= "table" then return tostring(v) end
  seen = seen or {}
  if seen[v] then return "{ <cycle> }" end
  seen[v] = true
  local parts = {}
  for _, x in ipairs(v) do parts[#parts + 1] = M.show(x, seen) end
  for _, k in ipairs(util.sorted_keys(v)) do
    -- Keys starting with _ are bookkeeping (a constructor's _line), not grants.
    if not (math.type(k) == "integer" and k >= 1 and k <= #v) and not tostring(k):match("^_") then
      local key = (type(k) == "string" and k:match("^[%a_][%w_]*$")) and k or ("[" .. M.show(k, seen) .. "]")
      parts[#parts + 1] = key .. " = " .. M.show(v[k], seen)
    end
  end
  seen[v] = nil
  return "{ " .. table.concat(parts, ", ") .. " }"
end

-- The raw-field summary for an area without grants(): one item per list entry or key.
function M.raw_grants(profile, fields)
  local out = {}
  for _, f in ipairs(fields) do
    local v = profile[f]
    if v ~= nil then
      local items = {}
      if type(v) == "table" then
        for _, x in ipairs(v) do items[#items + 1] = M.show(x) end
        for _, k in ipairs(util.sorted_keys(v)) do
          if not (math.type(k) == "integer" and k >= 1 and k <= #v) then
            items[#items + 1] = tostring(k) .. " = " .. M.show(v[k])
          end
        end
      else
        items[1] = M.show(v)
      end
      out[f] = items
    end
  end
  return out
end

function M.grants(profile)
  local schema = require "lunshare.schema"
  local g = {}
  local ns = {}
  for _, n in ipairs(profile.namespaces or {}) do ns[n] = true end
  local shared = {}
  for _, n in ipairs(schema.NAMESPACES) do
    if not ns[n] then shared[#shared + 1] = n end
  end
  g["namespaces shared with the host"] = shared
  if ns.user then
    local u = profile.user or {}
    local m = u.map or "self"
    g["ids inside"] = { string.format("uid %d gid %d, map %s", u.uid or 0, u.gid or 0,
      type(m) == "table" and M.show(m) or m) }
  else
    g["ids inside"] = { "the caller's own ids (no user namespace)" }
  end
  local e = profile.env or {}
  local env = {}
  if e.clear == false then
    env[1] = "the caller's whole environment"
  else
    env[1] = "kept from the caller: " .. table.concat(e.keep or require("lunshare.plan").DEFAULT_KEEP, " ")
  end
  for _, k in ipairs(util.sorted_keys(e.set or {})) do env[#env + 1] = "set " .. k .. "=" .. tostring(e.set[k]) end
  for _, k in ipairs(e.unset or {}) do env[#env + 1] = "unset " .. k end
  g.environment = env
  for _, f in ipairs({ "hostname", "domainname", "cwd", "pid1" }) do
    if profile[f] ~= nil then g[f] = { tostring(profile[f]) } end
  end
  if profile.time then g["clock offsets"] = M.raw_grants(profile, { "time" }).time end
  if profile.command then g.command = { util.shell_join(profile.command) } end
  for _, area in ipairs(require("lunshare.plan").AREAS) do
    local mod = require(area)
    local ag = mod.grants and mod.grants(profile) or M.raw_grants(profile, mod.FIELDS)
    for k, v in pairs(ag) do g[k] = v end
  end
  return g
end

-- The differences as text ("- item" only in old, "+ item" only in new, per category)
-- and whether there are any.
function M.text(old, new, old_name, new_name)
  local cats = {}
  for k in pairs(old) do cats[k] = true end
  for k in pairs(new) do cats[k] = true end
  local out, differ = { "--- " .. util.escape(old_name) .. "\n+++ " .. util.escape(new_name) .. "\n" }, false
  for _, cat in ipairs(util.sorted_keys(cats)) do
    local a, b = {}, {}
    for _, x in ipairs(old[cat] or {}) do a[x] = true end
    for _, x in ipairs(new[cat] or {}) do b[x] = true end
    -- Items and categories hold what the profiles wrote: escaped, one line each.
    local lines = {}
    for _, x in ipairs(old[cat] or {}) do
      if not b[x] then lines[#lines + 1] = "  - " .. util.escape(x) end
    end
    for _, x in ipairs(new[cat] or {}) do
      if not a[x] then lines[#lines + 1] = "  + " .. util.escape(x) end
    end
    if #lines > 0 then
      differ = true
      out[#out + 1] = util.escape(cat) .. ":\n" .. table.concat(lines, "\n") .. "\n"
    end
  end
  if not differ then out[#out + 1] = "they grant the same\n" end
  return table.concat(out), differ
end

return M
