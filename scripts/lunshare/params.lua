-- Profile parameters: `params { name = { type =, values =, default =, description =, test = } }`
-- declares them and returns the table of their values, taken from `--set name=value`
-- (never from the environment). Every problem, in a declaration or in a value, becomes an
-- error naming the declaration's line; the profile goes on with the default so that all
-- errors are found at once.
local util = require "lunshare.util"

local M = {}

M.TYPES = { "string", "integer", "number", "boolean" }
-- `test` is the value `lunshare test` gives the parameter when a check sets none: a value,
-- or a scratch file or directory it makes ({ file = "…" }, { dir = { … } }; lunshare.checks).
M.KEYS = { "type", "values", "default", "description", "test" }

local function a_type(ty) return ty == "integer" and "an integer" or ("a " .. ty) end

-- A --set value (a string; any Lua value through the API) in the declared type.
function M.convert(raw, ty)
  if ty == "string" then
    if type(raw) == "string" then return raw end
  elseif ty == "integer" then
    local v = math.tointeger(tonumber(raw))
    if v then return v end
  elseif ty == "number" then
    local v = tonumber(raw)
    if v then return v end
  elseif ty == "boolean" then
    if raw == true or raw == "true" or raw == "yes" or raw == "1" then return true end
    if raw == false or raw == "false" or raw == "no" or raw == "0" then return false end
  end
  return nil, "expected " .. a_type(ty) .. ", got '" .. tostring(raw) .. "'"
end

local function fits(v, ty)
  if ty == "integer" then return math.type(v) == "integer" end
  return type(v) == ty
end

local function suggest_type(ty)
  for _, t in ipairs(M.TYPES) do
    if type(ty) == "string" and #ty >= 3 and t:sub(1, #ty) == ty then return " (did you mean '" .. t .. "'?)" end
  end
  return util.suggest(ty, M.TYPES)
end

local function texts(list)
  local t = {}
  for i, v in ipairs(list) do t[i] = tostring(v) end
  return t
end

-- Checks one declaration and returns the parameter's value (nil after an error).
local function declare_one(name, d, raw, fail, placeholder)
  for _, k in ipairs(util.sorted_keys(d)) do
    if not util.contains(M.KEYS, k) then
      fail(".", k, "unknown field" .. util.suggest(k, M.KEYS) .. "; expected one of " .. table.concat(M.KEYS, ", "))
    end
  end
  local ty = d.type
  if ty == nil and d.default ~= nil then
    ty = math.type(d.default) == "integer" and "integer" or type(d.default)
  end
  ty = ty or "string"
  if not util.contains(M.TYPES, ty) then
    fail(".", "type", "unknown type '" .. tostring(ty) .. "'" .. suggest_type(ty) ..
      "; expected one of " .. table.concat(M.TYPES, ", "))
    return nil
  end
  local allowed = d.values
  local entries = 0
  for k in pairs(type(allowed) == "table" and allowed or {}) do
    entries = entries + 1
    if math.type(k) ~= "integer" then entries = -1 break end
  end
  if allowed ~= nil and (type(allowed) ~= "table" or #allowed == 0 or entries ~= #allowed) then
    fail(".", "values", "expected a non-empty list of the values allowed")
    return nil
  end
  -- Each value is of the parameter's type: --set converts to that type, so one of
  -- another could never be chosen (and the message would contradict itself).
  for i, v in ipairs(allowed or {}) do
    if not fits(v, ty) then
      fail(".", "values[" .. i .. "]", "expected " .. a_type(ty) .. " (the parameter's type), got " .. type(v) ..
        " " .. tostring(v))
      return nil
    end
  end
  if d.description ~= nil and type(d.description) ~= "string" then
    fail(".", "description", "expected a string, got " .. type(d.description))
  end
  local one_of = allowed and ("expected one of " .. table.concat(texts(allowed), ", ")) or nil
  if d.default ~= nil then
    if not fits(d.default, ty) then
      fail(".", "default", "expected " .. a_type(ty) .. ", got " .. type(d.default))
    elseif allowed and not util.contains(allowed, d.default) then
      fail(".", "default", one_of .. ", got '" .. tostring(d.default) .. "'")
    end
  end
  if raw == nil then
    -- Shown or checked, not run: a required string stands as "/<name>" (for `check`,
    -- only one that declares a test value, the parameter lunshare test fills).
    if d.default == nil and ty == "string" and (placeholder == true or (placeholder == "test" and d.test ~= nil)) then
      return "/<" .. name .. ">"
    end
    if d.default == nil then
      fail("", "", "required parameter: pass --set " .. name .. "=VALUE")
      -- One mistake, one error: the fields that use it do not fail again for a nil.
      if ty == "string" then return "/<" .. name .. ">" end
    end
    return d.default
  end
  local v, why = M.convert(raw, ty)
  if v ~= nil and allowed and not util.contains(allowed, v) then
    v, why = nil, one_of .. ", got '" .. tostring(raw) .. "'" .. util.suggest(tostring(raw), texts(allowed))
  end
  if v == nil then
    fail("", "", "--set " .. name .. "=" .. tostring(raw) .. ": " .. why)
    if d.default == nil and ty == "string" then return "/<" .. name .. ">" end
    return d.default
  end
  return v
end

-- The `params` function of one profile file. ctx: { file, node (the source map's table
-- node of the declaration, for lines), set (name -> raw value), errors (appended to),
-- declared (name -> true, across the extends chain), values (name -> value, optional),
-- decls (name -> { decl =, file =, line = }, the first declaration; optional),
-- placeholder (true: a required string without a value stands as "/<name>", for showing;
-- "test": only one that declares a test value, for check) }.
function M.declarer(ctx)
  return function(spec)
    if type(spec) ~= "table" then
      error("params: expected a table of parameter declarations, got " .. type(spec), 2)
    end
    local values, names = {}, {}
    for _, name in ipairs(util.sorted_keys(spec)) do
      local f = ctx.node and ctx.node.fields[name]
      local line = f and f.line or (ctx.node and ctx.node.line)
      local path = "params." .. tostring(name)
      local function fail(sep, key, msg)
        ctx.errors[#ctx.errors + 1] = { file = ctx.file, line = line, path = path .. sep .. key, msg = msg }
      end
      if type(name) ~= "string" or not name:match("^[%a_][%w_]*$") then
        fail("", "", "a parameter name is a word of letters, digits and _")
      elseif type(spec[name]) ~= "table" then
        fail("", "", "expected a declaration { type = …, values = { … }, default = … }, got " .. type(spec[name]))
      else
        names[#names + 1] = name
        ctx.declared[name] = true
        values[name] = declare_one(name, spec[name], ctx.set[name], fail, ctx.placeholder)
        if ctx.decls and not ctx.decls[name] then
          ctx.decls[name] = { decl = spec[name], file = ctx.file, line = line }
        end
        if ctx.values and ctx.values[name] == nil then ctx.values[name] = values[name] end
      end
    end
    -- Reading a parameter nobody declared is a mistake worth an error, not a nil.
    return setmetatable(values, {
      __index = function(_, k)
        -- A declared parameter without a value was reported where it was declared.
        if util.contains(names, k) then return nil end
        error("unknown parameter '" .. tostring(k) .. "'" .. util.suggest(k, names) ..
          (#names > 0 and ("; this profile declares " .. table.concat(names, ", ")) or ""), 2)
      end,
    })
  end
end

return M
