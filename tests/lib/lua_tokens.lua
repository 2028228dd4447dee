-- A small Lua 5.4 lexer for the specs that read lunshare's own sources (the require graph,
-- the kernel numbers): comments are dropped, strings and numbers kept with their source
-- text and line. Enough for lunshare's code, not a validating parser.
--
--   for _, t in ipairs(tokens(src)) do print(t.line, t.type, t.value) end
--   t.type: "name", "keyword", "number", "string", "op"; t.value: the name, the keyword,
--   the number's text, the string's contents (escapes left as written), the operator.
local M = {}

local KEYWORDS = {}
for w in ([[and break do else elseif end false for function goto if in local nil not or
  repeat return then true until while]]):gmatch("%a+") do KEYWORDS[w] = true end

local OPS = { "...", "..", "==", "~=", "<=", ">=", "<<", ">>", "//", "::" }

-- The end of a long bracket opened at i ("[[", "[==["), or nil when none opens there.
local function long_bracket(src, i)
  local eq = src:match("^%[(=*)%[", i)
  if not eq then return nil end
  local close = "]" .. eq .. "]"
  local s = i + #eq + 2
  local e = src:find(close, s, true)
  if not e then error("unfinished long bracket at byte " .. i) end
  return s, e - 1, e + #close - 1
end

function M.tokens(src)
  local out, i, line, n = {}, 1, 1, #src
  local function count_lines(a, b)
    local _, k = src:sub(a, b):gsub("\n", "")
    line = line + k
  end
  while i <= n do
    local c = src:sub(i, i)
    if c == "\n" then
      line, i = line + 1, i + 1
    elseif c:match("%s") then
      i = i + 1
    elseif src:sub(i, i + 1) == "--" then
      local _, _, stop = long_bracket(src, i + 2)
      if stop then
        count_lines(i, stop)
        i = stop + 1
      else
        local e = src:find("\n", i, true) or (n + 1)
        i = e
      end
    elseif c == "[" and long_bracket(src, i) then
      local s, e, stop = long_bracket(src, i)
      out[#out + 1] = { type = "string", value = src:sub(s, e), line = line }
      count_lines(i, stop)
      i = stop + 1
    elseif c == '"' or c == "'" then
      local j, start = i + 1, line
      while true do
        local d = src:sub(j, j)
        if d == "" then error("unfinished string at line " .. start) end
        if d == "\\" then
          if src:sub(j + 1, j + 1) == "\n" then line = line + 1 end
          j = j + 2
        elseif d == c then
          break
        elseif d == "\n" then
          error("unfinished string at line " .. start)
        else
          j = j + 1
        end
      end
      out[#out + 1] = { type = "string", value = src:sub(i + 1, j - 1), line = start }
      i = j + 1
    elseif c:match("%d") or (c == "." and src:sub(i + 1, i + 1):match("%d")) then
      local text = src:match("^0[xX][%x%.]+[pP][%+%-]?%d+", i) or src:match("^0[xX][%x%.]+", i) or
        src:match("^%d*%.?%d+[eE][%+%-]?%d+", i) or src:match("^%d+%.?%d*[eE][%+%-]?%d+", i) or
        src:match("^%d*%.%d+", i) or src:match("^%d+%.?%d*", i)
      out[#out + 1] = { type = "number", value = text, line = line }
      i = i + #text
    elseif c:match("[%a_]") then
      local word = src:match("^[%w_]+", i)
      out[#out + 1] = { type = KEYWORDS[word] and "keyword" or "name", value = word, line = line }
      i = i + #word
    else
      local op = c
      for _, o in ipairs(OPS) do
        if src:sub(i, i + #o - 1) == o then op = o break end
      end
      out[#out + 1] = { type = "op", value = op, line = line }
      i = i + #op
    end
  end
  return out
end

-- The Lua files under dir (recursively), sorted, as paths relative to it.
function M.lua_files(dir)
  local H = require "helpers"
  local r = H.sh("cd " .. H.quote(dir) .. " && find . -name '*.lua' | sed 's|^./||' | sort")
  assert(r.code == 0, r.err)
  local files = {}
  for f in r.out:gmatch("[^\n]+") do files[#files + 1] = f end
  return files
end

function M.read(path)
  local f = assert(io.open(path))
  local s = f:read("a")
  f:close()
  return s
end

return M
