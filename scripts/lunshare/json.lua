-- A small JSON encoder for `explain --json` and `net status --json`: plain data only.
local util = require "lunshare.util"

local M = {}

local escapes = { ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
  ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }

-- RFC 8259 wants the control characters below 0x20 escaped; DEL, the C1 controls and
-- the bidirectional overrides are escaped too (util.escape_with says which), so that no
-- string a profile controls moves a terminal's cursor when the JSON is shown. JSON cannot
-- hold a byte that is not UTF-8: such a byte 0xNN is written \udcNN, the lone surrogate
-- Python's "surrogateescape" reads back as that byte.
local function encode_string(s)
  s = s:gsub('["\\]', escapes)
  s = util.escape_with(s, function(cp)
    return (cp < 0x80 and escapes[string.char(cp)]) or string.format("\\u%04x", cp)
  end, function(b) return string.format("\\udc%02x", b) end)
  return '"' .. s .. '"'
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
