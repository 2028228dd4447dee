-- Composition: how a profile's fields combine with the profile it `extends`. The rules are
-- few and declared per field, here for the core fields and in each area module's MERGE
-- table for its own:
--   "replace"  the child's value replaces the parent's (every scalar, and the default)
--   "table"    key by key, the child's keys replacing the parent's; written as a list,
--              it merges as a "list"
--   { k = rule, … }  key by key, each key merged by its own rule
--   "list"     the parent's entries, then the child's; an entry `without "/home"` in the
--              child removes the inherited entries whose key (target, dst, name, …) is /home
--   "set"      a list of names; a list with "+name" / "-name" entries edits the inherited
--              set, a plain list replaces it
-- Every profile goes through the merge, with an empty parent when it extends nothing, so
-- markers and signs never reach the checker. Origins follow the entries they describe.
local util = require "lunshare.util"

local M = {}

M.CORE_RULES = {
  namespaces = "set",
  user = "table",
  time = "table",
  env = { set = "table", keep = "list", unset = "list" },
  -- Defaults for the areas' fields; an area's own MERGE table overrides them.
  mounts = "list",
  root = "table",
  network = { links = "list" },
  capabilities = "set",
  limits = "table",
  seccomp = "replace",
}

-- The rule for each field: core rules, then each area module's MERGE.
function M.rules()
  local rules = {}
  for k, v in pairs(M.CORE_RULES) do rules[k] = v end
  for _, area in ipairs(require("lunshare.plan").AREAS) do
    for k, v in pairs(require(area).MERGE or {}) do rules[k] = v end
  end
  return rules
end

-- The key an entry of a "list" field is removed by: an area may give MERGE_KEY[field].
local function default_key(e)
  if type(e) ~= "table" then return e end
  return e.target or e.dst or e.name or e.dest or e.path or e[1]
end

-- Keys of fields whose areas give none: a capability is the same with or without CAP_
-- and in either case, so "-CAP_NET_RAW" removes an inherited "net_raw".
local DEFAULT_KEYS = {
  capabilities = function(n)
    return type(n) == "string" and (n:lower():gsub("^cap_", "")) or n
  end,
}

local function key_fn(field)
  for _, area in ipairs(require("lunshare.plan").AREAS) do
    local k = (require(area).MERGE_KEY or {})[field]
    if k then return k end
  end
  return DEFAULT_KEYS[field] or default_key
end

-- The marker `without "/home"` is plain data too.
function M.without(target)
  if type(target) ~= "string" then
    error("without: expected the target of an inherited entry, got " .. type(target), 2)
  end
  return { without = target }
end

local function is_marker(e)
  return type(e) == "table" and e.without ~= nil and next(e, next(e)) == nil and
    next(e) == "without"
end

-- ctx: { origins = table -> {key -> "file:line"}, errors = list, fail = fn(path, where, msg) }
local merge

local function note(ctx, to, key, from, fkey)
  local o = ctx.origins[from]
  if o and o[fkey] then
    ctx.origins[to] = ctx.origins[to] or {}
    ctx.origins[to][key] = o[fkey]
  end
end

local function origin_of(ctx, t, key)
  local o = ctx.origins[t]
  return o and (o[key] or o[""])
end

local function merge_list(parent, child, path, ctx, field)
  local out = {}
  ctx.origins[out] = { [""] = origin_of(ctx, child, "") or origin_of(ctx, parent or {}, "") }
  local keyof = key_fn(field)
  if type(parent) == "table" then
    for i, e in ipairs(parent) do
      out[#out + 1] = e
      note(ctx, out, #out, parent, i)
    end
  end
  for i, e in ipairs(child) do
    if is_marker(e) then
      local kept, removed = {}, 0
      local korigins = {}
      for j, x in ipairs(out) do
        if keyof(x) == e.without then
          removed = removed + 1
        else
          kept[#kept + 1] = x
          korigins[#kept] = ctx.origins[out][j]
        end
      end
      if removed == 0 then
        local keys = {}
        for _, x in ipairs(out) do
          if type(keyof(x)) == "string" then keys[#keys + 1] = keyof(x) end
        end
        ctx.fail(path .. "[" .. i .. "]", origin_of(ctx, child, i),
          "without '" .. tostring(e.without) .. "' removes nothing: no inherited entry has that target" ..
          util.suggest(e.without, keys))
      end
      for j = 1, #out do out[j] = nil end
      for j, x in ipairs(kept) do out[j] = x end
      for j = 1, #kept do ctx.origins[out][j] = korigins[j] end
      for j = #kept + 1, #kept + removed do ctx.origins[out][j] = nil end
    else
      out[#out + 1] = e
      note(ctx, out, #out, child, i)
    end
  end
  return out
end

local function merge_set(parent, child, path, ctx, field)
  local keyof = key_fn(field)
  local signed = false
  for _, e in ipairs(child) do
    if type(e) == "string" and e:match("^[%+%-]") then signed = true end
  end
  if not signed then return child end
  local out = {}
  ctx.origins[out] = { [""] = origin_of(ctx, child, "") }
  if type(parent) == "table" then
    for i, e in ipairs(parent) do
      out[#out + 1] = e
      note(ctx, out, #out, parent, i)
    end
  end
  for i, e in ipairs(child) do
    if type(e) ~= "string" then
      out[#out + 1] = e
      note(ctx, out, #out, child, i)
    else
      local sign, name = e:match("^([%+%-]?)(.*)$")
      local at
      for j, x in ipairs(out) do if keyof(x) == keyof(name) then at = j end end
      if sign == "-" then
        if not at then
          ctx.fail(path .. "[" .. i .. "]", origin_of(ctx, child, i),
            "'" .. e .. "' removes nothing: '" .. name .. "' is not inherited" ..
            util.suggest(name, type(parent) == "table" and parent or {}))
        else
          table.remove(out, at)
          local o = ctx.origins[out]
          for j = at, #out do o[j] = o[j + 1] end
          o[#out + 1] = nil
        end
      elseif not at then
        out[#out + 1] = name
        note(ctx, out, #out, child, i)
      end
    end
  end
  return out
end

local function is_list(t)
  if #t == 0 then return false end
  for k in pairs(t) do
    if math.type(k) ~= "integer" or k < 1 or k > #t then return false end
  end
  return true
end

local function merge_table(parent, child, path, ctx, rules)
  -- A table field written as a list (network = { veth { … }, … }) merges as a list.
  if is_list(child) and (type(parent) ~= "table" or next(parent) == nil or is_list(parent)) then
    return merge_list(parent, child, path, ctx, path)
  end
  local out = {}
  ctx.origins[out] = { [""] = origin_of(ctx, child, "") }
  if type(parent) == "table" then
    for k, v in pairs(parent) do
      out[k] = v
      note(ctx, out, k, parent, k)
    end
  end
  for k, v in pairs(child) do
    local sub = path == "" and tostring(k) or (path .. "." .. tostring(k))
    local rule = type(rules) == "table" and rules[k] or "replace"
    out[k] = merge(out[k], v, sub, ctx, rule, k)
    note(ctx, out, k, child, k)
  end
  return out
end

-- Merges child over parent by rule; returns the merged value.
function merge(parent, child, path, ctx, rule, field)
  if child == nil then return parent end
  if type(child) ~= "table" or rule == "replace" or rule == nil then return child end
  if (rule == "list" or rule == "set") then
    -- Not a plain list: left as it is, for the checker to say what is wrong with it.
    for k in pairs(child) do
      if math.type(k) ~= "integer" or k < 1 or k > #child then return child end
    end
  end
  if rule == "list" then return merge_list(parent, child, path, ctx, field) end
  if rule == "set" then return merge_set(parent, child, path, ctx, field) end
  if rule == "table" then return merge_table(parent, child, path, ctx, nil) end
  if type(rule) == "table" then return merge_table(parent, child, path, ctx, rule) end
  error("unknown merge rule " .. tostring(rule) .. " for " .. path)
end

-- Merges a whole profile (child) over its parent (nil when it extends nothing).
-- `extends` itself is not carried into the result.
function M.profile(parent, child, ctx)
  local rules = M.rules()
  local out = {}
  ctx.origins[out] = { [""] = origin_of(ctx, child, "") }
  for k, v in pairs(parent or {}) do
    out[k] = v
    note(ctx, out, k, parent, k)
  end
  for _, k in ipairs(util.sorted_keys(child)) do
    if k ~= "extends" then
      out[k] = merge(out[k], child[k], tostring(k), ctx, rules[k], k)
      note(ctx, out, k, child, k)
    end
  end
  return out
end

return M
