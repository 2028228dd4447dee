-- Provenance: which line of which file each entry of a profile came from. Lua keeps no
-- line for the fields of a table, so a small tokenizer reads the source and maps the
-- literal table constructors (`return { mounts = { …, bind { source = … } } }`, and
-- `local x = { … }` referenced by name) to lines. Entries built by code instead get the
-- line of the constructor call that made them (recorded by the loader). The result is an
-- origin table kept beside the profile, keyed by table identity, that survives `extends`:
-- a merged list keeps each entry's own file:line.
local evaluator = require "lunshare.evaluator"

local M = {}

local KEYWORDS = {}
for w in ([[and break do else elseif end false for function goto if in local nil not or
  repeat return then true until while]]):gmatch("%a+") do KEYWORDS[w] = true end

local OPS3 = { ["..."] = true }
local OPS2 = { [".."] = true, ["=="] = true, ["~="] = true, ["<="] = true, [">="] = true,
  ["<<"] = true, [">>"] = true, ["//"] = true, ["::"] = true }

-- The map is a help, read from a source of at most 1 MiB: past this many tokens, or
-- tables nested past what Lua itself compiles, it gives up (errors then name the file).
M.TOKEN_LIMIT = 200000
M.NESTING_LIMIT = 200

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

-- Splits Lua source into tokens: three lists t ("name"|"kw"|"string"|"number"|"op"|
-- "eof"), v (the value) and line, in one table { t =, v =, line =, n = }. Unfinished
-- strings or comments end the token list; the compiler reports those.
function M.tokenize(src)
  local tt, tv, tl, count = {}, {}, {}, 0
  local i, n, line = 1, #src, 1
  local function add(t, v, l)
    count = count + 1
    if count > M.TOKEN_LIMIT then error("source map: more than " .. M.TOKEN_LIMIT .. " tokens", 0) end
    tt[count], tv[count], tl[count] = t, v, l
  end
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
  return { t = tt, v = tv, line = tl, n = count }
end

local OPEN = { ["("] = true, ["["] = true, ["{"] = true }
local CLOSE = { [")"] = true, ["]"] = true, ["}"] = true }
local BLOCK_OPEN = { ["function"] = true, ["if"] = true, ["do"] = true, ["repeat"] = true }
local BLOCK_CLOSE = { ["end"] = true, ["until"] = true }

local Parser = {}
Parser.__index = Parser

-- Whether token i is of type t (and value v); past the end, every token is "eof".
function Parser:is(i, t, v)
  return (self.t[i] or "eof") == t and (v == nil or self.v[i] == v)
end

-- A table node: { line = n, fields = { [key] = { line = n, node = table node | nil,
-- ref = local name | nil } } }.
function Parser:table_at(i, depth)
  if depth > M.NESTING_LIMIT then error("source map: tables nest too deep", 0) end
  local node = { line = self.line[i], fields = {} }
  i = i + 1
  local index = 0
  while not self:is(i, "eof") and not self:is(i, "op", "}") do
    local key
    local tline = self.line[i]
    if self.t[i] == "name" and self:is(i + 1, "op", "=") then
      key = self.v[i]
      i = i + 2
    elseif self:is(i, "op", "[") then
      local kt = self.t[i + 1]
      if (kt == "string" or kt == "number") and self:is(i + 2, "op", "]") then key = self.v[i + 1] end
      local nest = 0
      repeat
        if self.t[i] == "op" and OPEN[self.v[i]] then nest = nest + 1
        elseif self.t[i] == "op" and CLOSE[self.v[i]] then nest = nest - 1 end
        i = i + 1
      until nest == 0 or self:is(i, "eof")
      if self:is(i, "op", "=") then i = i + 1 end
    else
      index = index + 1
      key = index
    end
    local field = { line = tline }
    local before = i
    i = self:expr(i, field, depth)
    -- Only valid Lua reaches here (the compiler ran first), but never loop on a token.
    if i == before then i = i + 1 end
    if key ~= nil and node.fields[key] == nil then node.fields[key] = field end
    if self:is(i, "op", ",") or self:is(i, "op", ";") then i = i + 1 end
  end
  return node, i + 1
end

-- Skips one expression (up to , ; or } at depth 0), noting in field the first table
-- constructor at its top level or the local name it consists of.
function Parser:expr(i, field, depth)
  local nest, start = 0, i
  while true do
    local t, v = self.t[i] or "eof", self.v[i]
    if t == "eof" then return i end
    if nest == 0 and t == "op" and (v == "," or v == ";" or v == "}" or v == ")" or v == "]") then
      break
    end
    if nest == 0 and t == "op" and v == "{" then
      local node, nexti = self:table_at(i, depth + 1)
      field.node = field.node or node
      i = nexti
    else
      if t == "op" and OPEN[v] then nest = nest + 1
      elseif t == "op" and CLOSE[v] then nest = nest - 1
      elseif t == "kw" and BLOCK_OPEN[v] then nest = nest + 1
      elseif t == "kw" and BLOCK_CLOSE[v] then nest = nest - 1 end
      i = i + 1
    end
  end
  if i == start + 1 and self.t[start] == "name" then field.ref = self.v[start] end
  return i
end

-- Reads the source: the returned table, the tables bound to names, and the first table
-- passed to each called name (`params { … }`).
function M.parse(src)
  if #src > evaluator.SOURCE_LIMIT then error("source map: the source is over 1 MiB", 0) end
  local p = setmetatable(M.tokenize(src), Parser)
  local locals, calls, root = {}, {}, nil
  local depth, i = 0, 1
  while not p:is(i, "eof") do
    local t = p.t[i]
    if t == "name" and p:is(i + 1, "op", "=") and p:is(i + 2, "op", "{") then
      local node, nexti = p:table_at(i + 2, 1)
      locals[p.v[i]] = node
      i = nexti
    elseif t == "name" and p:is(i + 1, "op", "{") and not p:is(i - 1, "op", ".") then
      local node, nexti = p:table_at(i + 1, 1)
      calls[p.v[i]] = calls[p.v[i]] or node
      i = nexti
    elseif p:is(i, "kw", "return") and depth == 0 then
      local field = { line = p.line[i] }
      i = math.max(p:expr(i + 1, field, 0), i + 1)
      root = field
    else
      if t == "kw" and BLOCK_OPEN[p.v[i]] then depth = depth + 1
      elseif t == "kw" and BLOCK_CLOSE[p.v[i]] then depth = depth - 1 end
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

-- The line of the entry at a path (a list of keys) as far as the source shows it.
function M.line_of(map, keys)
  local node, line = map.root, map.root_line
  for _, k in ipairs(keys or {}) do
    local f = node and node.fields[k]
    if not f then break end
    line, node = f.line, map.resolve(f)
  end
  return line
end

-- Records in origins (table -> { [key] = "file:line" }) where every entry of value came
-- from. src is the source or its parse(); ctor_lines maps tables made by constructors to
-- the line of the call.
function M.annotate(value, src, file, origins, ctor_lines)
  local map = type(src) == "string" and M.parse(src) or src
  -- Bounded like the data it describes: a loaded profile passed check_data already, but
  -- a table handed in by other code may nest without end.
  local seen, budget = {}, evaluator.DATA_ENTRIES
  local function walk(t, node, line, depth)
    if seen[t] or depth > evaluator.DATA_DEPTH then return end
    seen[t] = true
    local o = origins[t] or {}
    origins[t] = o
    o[""] = o[""] or (file .. ":" .. line)
    for k, v in next, t do
      budget = budget - 1
      if budget < 0 then return end
      local f = node and node.fields[k]
      local l = (f and f.line) or (type(v) == "table" and ctor_lines and ctor_lines[v]) or line
      o[k] = o[k] or (file .. ":" .. l)
      if type(v) == "table" then walk(v, map.resolve(f), l, depth + 1) end
    end
  end
  if type(value) == "table" then
    local root = map.root
    walk(value, root, root and root.line or map.root_line or 1, 1)
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

-- The path as the file that wrote the entry counts: in a list merged through `extends`,
-- "mounts[19]" of a child whose parent gave 18 entries is its "mounts[1]". An index
-- becomes the entry's place among the entries of the list from the same file.
function M.own_path(origins, root, path)
  if not path or not path:find("[", 1, true) then return path end
  local t = root
  return (path:gsub("([%w_]*)%[(%d+)%]", function(field, n)
    local list = type(t) == "table" and (field ~= "" and rawget(t, field) or t)
    local i = tonumber(n)
    local o = type(list) == "table" and origins[list]
    local out = field .. "[" .. n .. "]"
    -- Only a sequence whose entries came from more than one file is renumbered.
    if o and o[i] and i <= #list then
      local file = M.split_origin(o[i])
      local own, mixed = 0, false
      for j = 1, i do
        local f = o[j] and M.split_origin(o[j])
        if f == file then own = own + 1 elseif f then mixed = true end
      end
      if mixed then out = field .. "[" .. own .. "]" end
    end
    t = type(list) == "table" and list[i] or nil
    return out
  end))
end

-- A loaded profile's path as the file (or layer) that wrote the entry counts it
-- (own_path over the profile's origins): what every message about an entry prints.
function M.own(profile, path)
  if not profile._origins then M.origin(profile, "") end
  if not profile._origins then return path end
  return M.own_path(profile._origins, profile, path)
end

-- "file.lua:12" -> "file.lua", 12; an origin without a line -> it, nil.
function M.split_origin(o)
  if not o then return nil end
  local f, l = o:match("^(.*):(%d+)$")
  if f then return f, tonumber(l) end
  return o, nil
end

-- The file:line an entry of a loaded profile came from ("mounts[3].source"), through
-- `extends` too; the profile's file when it has no finer origin.
function M.origin(profile, path)
  if not profile._origins and type(profile._source) == "string" then
    -- A profile table made without the loader (specs, the REPL) but with its source.
    local origins = setmetatable({}, { __mode = "k" })
    if pcall(M.annotate, profile, profile._source, profile._file or "profile", origins) then
      profile._origins = origins
    end
  end
  local o = profile._origins and M.lookup(profile._origins, profile, path)
  return o or profile._file or "profile"
end

return M
