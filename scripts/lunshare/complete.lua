-- TAB in the REPL: the words that may replace the one before the cursor. API names and
-- the fields and methods of live values (`core.ns_` → core.ns_open …, `h:clo` → h:close),
-- globals and keywords, profile fields and constructors inside a table, and inside a
-- string the live names of the machine (named netns, links).
local core = require "lunshare.core"
local schema = require "lunshare.schema"
local state = require "lunshare.state"

local M = {}

local KEYWORDS = { "and", "break", "do", "else", "elseif", "end", "false", "for", "function",
  "goto", "if", "in", "local", "nil", "not", "or", "repeat", "return", "then", "true", "until",
  "while" }

local function is_name(k) return type(k) == "string" and k:match("^[%a_][%w_]*$") ~= nil end

-- Where live names come from: each source returns a list of names, and one that fails
-- gives none. Named sandboxes (lunshare run --name) add theirs as M.live.sandboxes.
M.live = {}

-- Named netns: /run/netns, and the pins of the caller's rootless topologies.
function M.live.netns()
  local names = {}
  for _, n in ipairs(core.netns_list() or {}) do names[#names + 1] = n end
  if state.rootless() then
    local pins = state.open("netns", { create = false })
    if pins then
      for _, n in ipairs(core.netns_list(pins:handle()) or {}) do names[#names + 1] = n end
      pins:close()
    end
  end
  return names
end

-- The links of the caller's network namespace.
function M.live.links()
  local nl = assert(core.netlink())
  local names = {}
  for _, l in ipairs(nl:links() or {}) do names[#names + 1] = l.name end
  nl:close()
  return names
end

local function live_names()
  local out = {}
  for _, source in pairs(M.live) do
    local ok, names = pcall(source)
    if ok and type(names) == "table" then
      for _, n in ipairs(names) do
        if type(n) == "string" then out[#out + 1] = n end
      end
    end
  end
  return out
end

-- The quote a string left open in s begins with, if any (short strings only).
local function open_quote(s)
  local q, i = nil, 1
  while i <= #s do
    local c = s:sub(i, i)
    if q then
      if c == "\\" then i = i + 1
      elseif c == q then q = nil end
    elseif c == "'" or c == '"' then
      q = c
    elseif c == "-" and s:sub(i, i + 1) == "--" then
      local nl = s:find("\n", i, true)
      if not nl then return nil end
      i = nl
    end
    i = i + 1
  end
  return q
end

-- Whether s leaves a table constructor open (outside strings).
local function in_table(s)
  local depth = 0
  local stripped = s:gsub("\\.", ""):gsub('"[^"]*"', ""):gsub("'[^']*'", "")
  for c in stripped:gmatch("[{}]") do depth = depth + (c == "{" and 1 or -1) end
  return depth > 0
end

-- The keys of a value: a table's own and, through __index tables, its class's; a
-- userdata's or a string's methods. With methods, functions only.
local function keys_of(v, methods, out)
  local seen = 0
  while v ~= nil and seen < 8 do
    seen = seen + 1
    if type(v) == "table" then
      for k, x in next, v do
        if is_name(k) and (not methods or type(x) == "function") then out[k] = true end
      end
    end
    local mt = getmetatable(v)
    local index = type(mt) == "table" and rawget(mt, "__index") or nil
    if type(v) == "string" then index = string end
    if type(index) ~= "table" then break end
    v = index
  end
end

-- Whether path is names joined by dots ("lunshare.core").
local function dotted(path)
  for part in (path .. "."):gmatch("(.-)%.") do
    if not is_name(part) then return false end
  end
  return true
end

-- The value of a dotted path in env ("lunshare.core"), or nil.
local function resolve(env, path)
  local v = env
  for part in path:gmatch("[^.]+") do
    local ok, x = pcall(function() return v[part] end)
    if not ok or x == nil then return nil end
    v = x
  end
  return v
end

-- The words (whole, to replace text) that complete text; line is the line up to the
-- cursor and pending what earlier lines of an unfinished statement hold. doc: the names
-- of lunshare-lua(3) (lunshare's parts load when first used, so they are not keys yet).
function M.candidates(text, line, env, pending, doc_names)
  local before = (pending and (pending .. "\n") or "") .. line:sub(1, #line - #text)
  local found = {}
  local function offer(word)
    if word:sub(1, #text) == text then found[word] = true end
  end
  if open_quote(before) then
    for _, n in ipairs(live_names()) do offer(n) end
  else
    local path, sep = text:match("^([%a_][%w_.]-)([.:])[%w_]*$")
    if path and dotted(path) then
      local keys = {}
      keys_of(resolve(env, path), sep == ":", keys)
      for k in pairs(keys) do offer(path .. sep .. k) end
      if sep == "." then
        for _, n in ipairs(doc_names or {}) do
          local rest = n:sub(#path + 2)
          if n:sub(1, #path + 1) == path .. "." and is_name(rest) and resolve(env, path) ~= nil then
            offer(n)
          end
        end
      end
    elseif text == "" or is_name(text) then
      local keys = {}
      keys_of(env, false, keys)
      for k in pairs(keys) do offer(k) end
      for _, k in ipairs(KEYWORDS) do offer(k) end
      if in_table(before) then
        for _, f in ipairs(schema.FIELDS) do offer(f) end
      end
    end
  end
  local out = {}
  for w in pairs(found) do out[#out + 1] = w end
  table.sort(out)
  return out
end

return M
