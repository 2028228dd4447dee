-- A small JSON encoder for `explain --json` and `net status --json`, plain data only, and
-- a bounded decoder for the data lunshare reads back (state files).
local util = require "lunshare.util"

local M = {}

-- JSON null decodes to this value (a nil would leave holes in lists), and encodes back.
M.null = setmetatable({}, { __tostring = function() return "null" end })

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
  if t == "nil" or v == M.null then return "null" end
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

-- ---- decoding ---------------------------------------------------------------------------
--
-- What is decoded may come from anyone who could write the file, so the work is bounded
-- (its size, its depth, its number of values) and an error says what was expected at which
-- byte, never what was found: a message must not quote a file it did not choose to show.

M.MAX_SIZE = 1 << 20
M.MAX_DEPTH = 32
M.MAX_ITEMS = 100000

local unescapes = { ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n", r = "\r", t = "\t" }

local function decoder(s, opts)
  local max_depth, items_left = opts.max_depth or M.MAX_DEPTH, opts.max_items or M.MAX_ITEMS
  local pos = 1
  local function fail(what) error({ json = "expected " .. what .. " at byte " .. pos }, 0) end
  local function skip() pos = s:find("[^ \t\r\n]", pos) or #s + 1 end
  local value
  local function count()
    items_left = items_left - 1
    if items_left < 0 then error({ json = "more than " .. (opts.max_items or M.MAX_ITEMS) .. " values" }, 0) end
  end
  local function codepoint()
    local hex = s:match("^%x%x%x%x", pos)
    if not hex then fail("four hex digits after \\u") end
    pos = pos + 4
    return tonumber(hex, 16)
  end
  local function str()
    pos = pos + 1 -- the opening quote
    local out = {}
    while true do
      local stop = s:find('["\\%c]', pos)
      if not stop then fail("a closing quote") end
      out[#out + 1] = s:sub(pos, stop - 1)
      local c = s:sub(stop, stop)
      pos = stop + 1
      if c == '"' then break end
      if c ~= "\\" then pos = stop; fail("no control character in a string") end
      local e = s:sub(pos, pos)
      pos = pos + 1
      if e == "u" then
        local cp = codepoint()
        if cp >= 0xd800 and cp <= 0xdbff and s:sub(pos, pos + 1) == "\\u" then
          pos = pos + 2
          local lo = codepoint()
          if lo < 0xdc00 or lo > 0xdfff then fail("a low surrogate") end
          cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00)
        end
        out[#out + 1] = utf8.char(cp)
      elseif unescapes[e] then
        out[#out + 1] = unescapes[e]
      else
        pos = pos - 1
        fail("an escape (\\\", \\\\, \\/, \\b, \\f, \\n, \\r, \\t or \\uXXXX)")
      end
    end
    return table.concat(out)
  end
  function value(depth)
    if depth > max_depth then fail("at most " .. max_depth .. " levels of nesting") end
    skip()
    count()
    local c = s:sub(pos, pos)
    if c == "{" then
      pos = pos + 1
      local t = {}
      skip()
      if s:sub(pos, pos) == "}" then pos = pos + 1 return t end
      while true do
        skip()
        if s:sub(pos, pos) ~= '"' then fail("a key in quotes") end
        local k = str()
        skip()
        if s:sub(pos, pos) ~= ":" then fail("':'") end
        pos = pos + 1
        t[k] = value(depth + 1)
        skip()
        c = s:sub(pos, pos)
        pos = pos + 1
        if c == "}" then return t end
        if c ~= "," then pos = pos - 1; fail("',' or '}'") end
      end
    elseif c == "[" then
      pos = pos + 1
      local t, n = {}, 0
      skip()
      if s:sub(pos, pos) == "]" then pos = pos + 1 return t end
      while true do
        n = n + 1
        t[n] = value(depth + 1)
        skip()
        c = s:sub(pos, pos)
        pos = pos + 1
        if c == "]" then return t end
        if c ~= "," then pos = pos - 1; fail("',' or ']'") end
      end
    elseif c == '"' then
      return str()
    end
    for word, v in pairs({ ["true"] = true, ["false"] = false, null = M.null }) do
      if s:sub(pos, pos + #word - 1) == word then
        pos = pos + #word
        return v
      end
    end
    local num = s:match("^-?%d+%.?%d*[eE]?[-+]?%d*", pos)
    if num and num ~= "" and num ~= "-" then
      local n = math.tointeger(tonumber(num)) or tonumber(num)
      if n == nil then fail("a number") end
      pos = pos + #num
      return n
    end
    fail("a value")
  end
  return function()
    local v = value(1)
    skip()
    if pos <= #s then fail("the end of the text") end
    return v
  end
end

-- Decodes one JSON text. opts: max_size, max_depth, max_items. Returns the value, or nil
-- and "expected … at byte N".
function M.decode(s, opts)
  opts = opts or {}
  if type(s) ~= "string" then return nil, "expected a string to decode" end
  local max = opts.max_size or M.MAX_SIZE
  if #s > max then return nil, "larger than " .. max .. " bytes" end
  local ok, v = pcall(decoder(s, opts))
  if ok then return v end
  if type(v) == "table" and v.json then return nil, v.json end
  error(v, 0)
end


-- For tests: the very plan handed to the executor (run) or the applier (net up/down),
-- written as `explain --json` prints it to the file LUNSHARE_DUMP_PLAN names, if set.
function M.dump_plan(plan)
  local path = os.getenv("LUNSHARE_DUMP_PLAN")
  if path and path ~= "" then
    local f = assert(io.open(path, "w"))
    f:write(M.encode(plan, true), "\n")
    f:close()
  end
end

return M
