-- Provenance: which line of which file each entry of a profile came from. Lua keeps no
-- line for the fields of a table, so a small tokenizer reads the source and maps the
-- literal table constructors (`return { mounts = { …, bind { source = … } } }`, and
-- `local x = { … }` referenced by name) to lines. Entries built by code instead get the
-- line of the constructor call that made them (recorded by the loader). The result is an
-- origin table kept beside the profile, keyed by table identity, that survives `extends`:
-- a merged list keeps each entry's own file:line.
local M = {}

local KEYWORDS = {}
for w in ([[and break do else elseif end false for function goto if in local nil not or
  repeat return then true until while]]):gmatch("%a+") do KEYWORDS[w] = true end

local OPS3 = { ["..."] = true }
local OPS2 = { [".."] = true, ["=="] = true, ["~="] = true, ["<="] = true, [">="] = true,
  ["<<"] = true, [">>"] = true, ["//"] = true, ["::"] = true }

-- The escapes of a short string, as Lua reads them (\z and line breaks apart).
local ESCAPES = { a = "\a", b = "\b", f = "\f", n = "\n", r = "\r", t = "\t", v = "\v",
  ["\\"] = "\\", ['"'] = '"', ["'"] = "'" }

-- Where the line break at src[i] ("\n", "\r", "\r\n" or "\n\r", one line each, as Lua
-- counts them) ends.
local function after_break(src, i)
  local c, d = src:sub(i, i), src:sub(i + 1, i + 1)
  if (d == "\n" or d == "\r") and d ~= c then return i + 2 end
  return i + 1
end

-- The number of line breaks in s.
local function breaks(s)
  local n, i = 0, 1
  while true do
    local at = s:find("[\r\n]", i)
    if not at then return n end
    n, i = n + 1, after_break(s, at)
  end
end

-- Splits Lua source into tokens { t = "name"|"kw"|"string"|"number"|"op", v =, line = }.
-- Unfinished strings or comments end the token list; the compiler reports those.
function M.tokenize(src)
  local toks, i, n, line = {}, 1, #src, 1
  local function add(t, v, l) toks[#toks + 1] = { t = t, v = v, line = l } end
  local function long_bracket(at)
    local eq = src:match("^%[(=*)%[", at)
    if not eq then return nil end
    local close = "]" .. eq .. "]"
    local s = at + #eq + 2
    local e = src:find(close, s, true)
    local stop = e and (e + #close - 1) or n
    return src:sub(s, e and e - 1 or n), stop
  end
  while i <= n do
    local c = src:sub(i, i)
    if c == "\n" or c == "\r" then
      line = line + 1
      i = after_break(src, i)
    elseif c == " " or c == "\t" or c == "\f" or c == "\v" then
      -- A run of blanks at once: profiles are mostly indentation.
      i = (src:find("[^ \t\f\v]", i) or n + 1)
    elseif src:sub(i, i + 1) == "--" then
      local body, stop = long_bracket(i + 2)
      if body then
        line = line + breaks(body)
        i = stop + 1
      else
        -- A short comment ends at the line break, which the loop counts.
        i = src:find("[\r\n]", i) or n + 1
      end
    elseif c == "[" and src:match("^%[=*%[", i) then
      local l0 = line
      local body, stop = long_bracket(i)
      line = line + breaks(body)
      -- A line break right after the opening bracket is not part of the string.
      if body:sub(1, 1) == "\n" or body:sub(1, 1) == "\r" then body = body:sub(after_break(body, 1)) end
      add("string", body, l0)
      i = stop + 1
    elseif c == '"' or c == "'" then
      local l0, j, buf = line, i + 1, {}
      local stop = c == '"' and '[\\\r\n"]' or "[\\\r\n']"
      while j <= n do
        -- Plain characters up to the next quote, backslash or line break in one piece.
        local k = src:find(stop, j) or n + 1
        if k > j then buf[#buf + 1] = src:sub(j, k - 1) end
        j = k
        if j > n then break end
        local d = src:sub(j, j)
        if d == c then break end
        if d == "\\" then
          local e = src:sub(j + 1, j + 1)
          if e == "\n" or e == "\r" then
            line = line + 1
            buf[#buf + 1] = "\n"
            j = after_break(src, j + 1)
          elseif e == "z" then
            -- \z skips the blanks and line breaks that follow.
            j = j + 2
            while j <= n do
              local b = src:sub(j, j)
              if b == "\n" or b == "\r" then
                line = line + 1
                j = after_break(src, j)
              elseif b:match("^%s$") then
                j = j + 1
              else
                break
              end
            end
          elseif e == "x" then
            local hex = src:match("^%x%x", j + 2)
            buf[#buf + 1] = hex and string.char(tonumber(hex, 16)) or ""
            j = j + 2 + (hex and 2 or 0)
          elseif e:match("^%d$") then
            local digits = src:match("^%d%d?%d?", j + 1)
            local v = tonumber(digits)
            buf[#buf + 1] = v <= 255 and string.char(v) or ""
            j = j + 1 + #digits
          elseif e == "u" then
            local hex = src:match("^{(%x+)}", j + 2)
            local v = hex and #hex <= 8 and tonumber(hex, 16)
            buf[#buf + 1] = (v and v <= 0x7fffffff) and utf8.char(v) or ""
            j = j + 2 + (hex and #hex + 2 or 0)
          else
            buf[#buf + 1] = ESCAPES[e] or e
            j = j + 2
          end
        else
          -- A line break in a short string: the compiler refuses it; count it anyway.
          line = line + 1
          j = after_break(src, j)
        end
      end
      add("string", table.concat(buf), l0)
      i = j + 1
    elseif c:match("[%a_]") then
      local w = src:match("^[%a_][%w_]*", i)
      add(KEYWORDS[w] and "kw" or "name", w, line)
      i = i + #w
    elseif c:match("%d") or (c == "." and src:sub(i + 1, i + 1):match("%d")) then
      local num = src:match("^0[xX][%x%.]*[pP][%+%-]?%d+", i) or src:match("^0[xX][%x%.]*", i) or
        src:match("^[%d%.]+[eE][%+%-]?%d+", i) or src:match("^[%d%.]+", i)
      add("number", tonumber(num) or num, line)
      i = i + #num
    else
      local op = src:sub(i, i + 2)
      if not OPS3[op] then
        op = src:sub(i, i + 1)
        if not OPS2[op] then op = c end
      end
      add("op", op, line)
      i = i + #op
    end
  end
  add("eof", nil, line)
  return toks
end

local OPEN = { ["("] = true, ["["] = true, ["{"] = true }
local CLOSE = { [")"] = true, ["]"] = true, ["}"] = true }
local BLOCK_OPEN = { ["function"] = true, ["if"] = true, ["do"] = true, ["repeat"] = true }
local BLOCK_CLOSE = { ["end"] = true, ["until"] = true }

local function is(tok, t, v) return tok.t == t and (v == nil or tok.v == v) end

local Parser = {}
Parser.__index = Parser

-- A table node: { line = n, fields = { [key] = { line = n, node = table node | nil,
-- ref = local name | nil } } }.
function Parser:table_at(i)
  local toks = self.toks
  local node = { line = toks[i].line, fields = {} }
  i = i + 1
  local index = 0
  while not is(toks[i], "eof") and not is(toks[i], "op", "}") do
    local tok = toks[i]
    local key
    if tok.t == "name" and is(toks[i + 1], "op", "=") then
      key = tok.v
      i = i + 2
    elseif is(tok, "op", "[") then
      local k = toks[i + 1]
      if (k.t == "string" or k.t == "number") and is(toks[i + 2], "op", "]") then key = k.v end
      local depth = 0
      repeat
        local t = toks[i]
        if is(t, "op") and OPEN[t.v] then depth = depth + 1
        elseif is(t, "op") and CLOSE[t.v] then depth = depth - 1 end
        i = i + 1
      until depth == 0 or is(toks[i], "eof")
      if is(toks[i], "op", "=") then i = i + 1 end
    else
      index = index + 1
      key = index
    end
    local field = { line = tok.line }
    local before = i
    i = self:expr(i, field)
    -- Only valid Lua reaches here (the compiler ran first), but never loop on a token.
    if i == before then i = i + 1 end
    if key ~= nil and node.fields[key] == nil then node.fields[key] = field end
    if is(toks[i], "op", ",") or is(toks[i], "op", ";") then i = i + 1 end
  end
  return node, i + 1
end

-- Skips one expression (up to , ; or } at depth 0), noting in field the first table
-- constructor at its top level or the local name it consists of.
function Parser:expr(i, field)
  local toks = self.toks
  local depth, start = 0, i
  while true do
    local t = toks[i]
    if t.t == "eof" then return i end
    if depth == 0 and t.t == "op" and (t.v == "," or t.v == ";" or t.v == "}" or t.v == ")" or t.v == "]") then
      break
    end
    if depth == 0 and is(t, "op", "{") then
      local node, nexti = self:table_at(i)
      field.node = field.node or node
      i = nexti
    else
      if t.t == "op" and OPEN[t.v] then depth = depth + 1
      elseif t.t == "op" and CLOSE[t.v] then depth = depth - 1
      elseif t.t == "kw" and BLOCK_OPEN[t.v] then depth = depth + 1
      elseif t.t == "kw" and BLOCK_CLOSE[t.v] then depth = depth - 1 end
      i = i + 1
    end
  end
  if i == start + 1 and toks[start].t == "name" then field.ref = toks[start].v end
  return i
end

-- Reads the source: the returned table, the tables bound to names, and the first table
-- passed to each called name (`params { … }`).
function M.parse(src)
  local p = setmetatable({ toks = M.tokenize(src) }, Parser)
  local toks = p.toks
  local locals, calls, root = {}, {}, nil
  local depth, i = 0, 1
  while toks[i].t ~= "eof" do
    local t = toks[i]
    if t.t == "name" and is(toks[i + 1], "op", "=") and is(toks[i + 2], "op", "{") then
      local node, nexti = p:table_at(i + 2)
      locals[t.v] = node
      i = nexti
    elseif t.t == "name" and is(toks[i + 1], "op", "{") and not is(toks[i - 1] or {}, "op", ".") then
      local node, nexti = p:table_at(i + 1)
      calls[t.v] = calls[t.v] or node
      i = nexti
    elseif is(t, "kw", "return") and depth == 0 then
      local field = { line = t.line }
      i = math.max(p:expr(i + 1, field), i + 1)
      root = field
    else
      if t.t == "kw" and BLOCK_OPEN[t.v] then depth = depth + 1
      elseif t.t == "kw" and BLOCK_CLOSE[t.v] then depth = depth - 1 end
      i = i + 1
    end
  end
  local function resolve(field)
    if not field then return nil end
    if field.node then return field.node end
    if field.ref then return locals[field.ref] end
    return nil
  end
  return { root = resolve(root), root_line = root and root.line, locals = locals, calls = calls,
    resolve = resolve }
end

-- Records in origins (table -> { [key] = "file:line" }) where every entry of value came
-- from. src is the source or its parse(); ctor_lines maps tables made by constructors to
-- the line of the call.
function M.annotate(value, src, file, origins, ctor_lines)
  local map = type(src) == "string" and M.parse(src) or src
  local seen = {}
  local function walk(t, node, line)
    if seen[t] then return end
    seen[t] = true
    local o = origins[t] or {}
    origins[t] = o
    o[""] = o[""] or (file .. ":" .. line)
    for k, v in pairs(t) do
      local f = node and node.fields[k]
      local l = (f and f.line) or (type(v) == "table" and ctor_lines and ctor_lines[v]) or line
      o[k] = o[k] or (file .. ":" .. l)
      if type(v) == "table" then walk(v, map.resolve(f), l) end
    end
  end
  if type(value) == "table" then
    local root = map.root
    walk(value, root, root and root.line or map.root_line or 1)
  end
  return map
end

-- Splits "mounts[3].source" into { "mounts", 3, "source" }.
function M.split_path(path)
  local keys = {}
  for seg in path:gmatch("[^%.%[%]]+") do
    local k = math.tointeger(tonumber(seg)) or (seg:gsub('^"(.*)"$', "%1"))
    keys[#keys + 1] = k
  end
  return keys
end

-- The file:line the entry at path came from: the deepest part of the path with a
-- recorded origin, or the profile's own origin.
function M.lookup(origins, root, path)
  local t = root
  local best = origins[root] and origins[root][""]
  for _, k in ipairs(M.split_path(path or "")) do
    if type(t) ~= "table" then break end
    local o = origins[t] and origins[t][k]
    if o then best = o end
    -- A key that is not there is skipped: a missing field keeps its table's line, and
    -- a checker's alias (network.links[1] for network[1]) still finds the entry.
    if rawget(t, k) ~= nil then t = t[k] end
  end
  return best
end

return M
