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
local areas = require "lunshare.areas"
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
  return areas.merge_rules(rules)
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
  return areas.merge_key(field) or DEFAULT_KEYS[field] or default_key
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
local merge, keep_wins

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

-- The entries of a merged list as they are built: each entry with its origin, and, per
-- key, where its live entries are, so that `without` and "-name" find theirs at once
-- instead of scanning the list (a profile may hold thousands).
local function entries(keyof)
  local e = { value = {}, origin = {}, live = {}, at = {}, n = 0 }
  function e.add(v, o)
    e.n = e.n + 1
    e.value[e.n], e.origin[e.n], e.live[e.n] = v, o, true
    local k = keyof(v)
    -- (NaN is not a key: an entry of NaN is never removed by name.)
    if k ~= nil and k == k then
      local list = e.at[k]
      if not list then list = {} e.at[k] = list end
      list[#list + 1] = e.n
    end
  end
  -- Removes every live entry with key k (or only the last one); returns how many.
  function e.remove(k, last_only)
    local list = k ~= nil and e.at[k]
    if not list or #list == 0 then return 0 end
    local removed = 0
    while #list > 0 do
      e.live[list[#list]] = false
      list[#list] = nil
      removed = removed + 1
      if last_only then break end
    end
    return removed
  end
  function e.has(k) return k ~= nil and e.at[k] ~= nil and #e.at[k] > 0 end
  -- The keys of the live entries, for a suggestion.
  function e.keys()
    local keys = {}
    for i = 1, e.n do
      local k = e.live[i] and keyof(e.value[i])
      if type(k) == "string" then keys[#keys + 1] = k end
    end
    return keys
  end
  -- The live entries in order, into a new list whose origins follow them.
  function e.result(ctx, origin)
    local out = {}
    local o = { [""] = origin }
    ctx.origins[out] = o
    for i = 1, e.n do
      if e.live[i] then
        out[#out + 1] = e.value[i]
        o[#out] = e.origin[i]
      end
    end
    return out
  end
  return e
end

local function origin_at(ctx, t, k)
  local o = ctx.origins[t]
  return o and o[k]
end

local function merge_list(parent, child, path, ctx, field)
  local keyof = key_fn(field)
  local e = entries(keyof)
  if type(parent) == "table" then
    for i, x in ipairs(parent) do e.add(x, origin_at(ctx, parent, i)) end
  end
  local keys
  -- `without` removes inherited entries only, wherever it stands in the list: the
  -- file's own entries, before or after it, stay.
  for i, x in ipairs(child) do
    if is_marker(x) and e.remove(x.without) == 0 then
      keys = keys or e.keys()
      ctx.fail(path .. "[" .. i .. "]", origin_of(ctx, child, i),
        "without '" .. tostring(x.without) .. "' removes nothing: no inherited entry has that target" ..
        util.suggest(x.without, keys))
    end
  end
  for i, x in ipairs(child) do
    if not is_marker(x) then e.add(x, origin_at(ctx, child, i)) end
  end
  return e.result(ctx, origin_of(ctx, child, "") or origin_of(ctx, parent or {}, ""))
end

local function merge_set(parent, child, path, ctx, field)
  local keyof = key_fn(field)
  local signed = false
  for _, x in ipairs(child) do
    if type(x) == "string" and x:match("^[%+%-]") then signed = true end
  end
  if not signed then return child end
  local e = entries(keyof)
  if type(parent) == "table" then
    for i, x in ipairs(parent) do e.add(x, origin_at(ctx, parent, i)) end
  end
  for i, x in ipairs(child) do
    if type(x) ~= "string" then
      e.add(x, origin_at(ctx, child, i))
    else
      local sign, name = x:match("^([%+%-]?)(.*)$")
      if sign == "-" then
        if e.remove(keyof(name), true) == 0 then
          ctx.fail(path .. "[" .. i .. "]", origin_of(ctx, child, i),
            "'" .. x .. "' removes nothing: '" .. name .. "' is not inherited" ..
            util.suggest(name, type(parent) == "table" and parent or {}))
        end
      elseif not e.has(keyof(name)) then
        e.add(name, origin_at(ctx, child, i))
      end
    end
  end
  return e.result(ctx, origin_of(ctx, child, ""))
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
  -- `user = false` drops an inherited table (with "-user" in namespaces, a profile that
  -- extends default leaves the user namespace).
  if child == false and (rule == "table" or type(rule) == "table") then return nil end
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

-- A variable the child keeps from the caller is the caller's, even where the parent set
-- it (`env = { keep = { "HOME" } }` over default, which sets HOME=/tmp): the child's own
-- env.set still wins over its own keep.
function keep_wins(parent, child, out, ctx)
  local pe, ce, oe = parent and parent.env, child.env, out.env
  if type(pe) ~= "table" or type(ce) ~= "table" or type(ce.keep) ~= "table" or type(oe) ~= "table" or
      type(oe.set) ~= "table" or type(pe.set) ~= "table" then
    return
  end
  local own = type(ce.set) == "table" and ce.set or {}
  local set, dropped = {}, false
  for k, v in pairs(oe.set) do set[k] = v end
  for _, k in ipairs(ce.keep) do
    if type(k) == "string" and set[k] ~= nil and own[k] == nil then
      set[k], dropped = nil, true
    end
  end
  if dropped then
    ctx.origins[set] = ctx.origins[oe.set]
    oe.set = set
  end
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
  keep_wins(parent, child, out, ctx)
  return out
end

return M
