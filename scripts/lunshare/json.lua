-- A small JSON encoder for `explain --json` and `net status --json`: plain data only.
local M = {}

local escapes = { ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
  ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }

local function encode_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    return escapes[c] or string.format("\\u%04x", c:byte())
  end) .. '"'
end

local function is_array(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n == #t
end

local function encode(v, indent, level)
  local t = type(v)
  if t == "nil" then return "null" end
  if t == "boolean" then return tostring(v) end
  if t == "number" then
    if v ~= v or v == math.huge or v == -math.huge then return "null" end
    return math.type(v) == "integer" and tostring(v) or string.format("%.17g", v)
  end
  if t == "string" then return encode_string(v) end
  if t ~= "table" then error("cannot encode a " .. t .. " as JSON") end
  local nl = indent and ("\n" .. indent:rep(level + 1)) or ""
  local close = indent and ("\n" .. indent:rep(level)) or ""
  local sep = indent and ": " or ":"
  local parts = {}
  if next(v) == nil then return is_array(v) and "[]" or "{}" end
  if is_array(v) then
    for i, x in ipairs(v) do parts[i] = nl .. encode(x, indent, level + 1) end
    return "[" .. table.concat(parts, ",") .. close .. "]"
  end
  local keys = {}
  for k in pairs(v) do
    if type(k) ~= "string" then error("JSON object keys must be strings") end
    keys[#keys + 1] = k
  end
  table.sort(keys)
  for i, k in ipairs(keys) do
    parts[i] = nl .. encode_string(k) .. sep .. encode(v[k], indent, level + 1)
  end
  return "{" .. table.concat(parts, ",") .. close .. "}"
end

function M.encode(v, pretty)
  return encode(v, pretty and "  " or nil, 0)
end

return M
