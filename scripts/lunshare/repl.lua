-- `lunshare repl`: a Lua prompt with the lunshare API loaded, for experimenting with the
-- very primitives that profiles use. Line editing and history come from libedit when the
-- executable provides it and stdin is a terminal; otherwise lines are read plainly, so the
-- REPL can also be driven by a pipe.
local core = require "lunshare.core"
local lunshare = require "lunshare"
-- libedit's line editing, which only the executable has (bindings/edit.c opens libedit
-- when first asked); a stock lua5.4 reads lines plainly.
local has_edit, edit_module = pcall(require, "lunshare.edit")

local M = {}

local function is_identifier(k)
  return type(k) == "string" and k:match("^[%a_][%w_]*$") ~= nil
end

-- Renders a value as readable Lua, tables with sorted keys, nested to a few levels.
function M.render(v, depth, seen)
  depth, seen = depth or 0, seen or {}
  local t = type(v)
  if t == "string" then return string.format("%q", v):gsub("\\\n", "\\n") end
  if t ~= "table" then
    local mt = getmetatable(v)
    if mt and mt.__tostring then return tostring(v) end
    return tostring(v)
  end
  local mt = getmetatable(v)
  if mt and mt.__tostring then return tostring(v) end
  if seen[v] then return "<cycle>" end
  if depth >= 4 then return "{…}" end
  seen[v] = true
  local parts, n = {}, #v
  for i = 1, n do parts[#parts + 1] = M.render(v[i], depth + 1, seen) end
  local keys = {}
  for k in pairs(v) do
    if not (math.type(k) == "integer" and k >= 1 and k <= n) then keys[#keys + 1] = k end
  end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  for _, k in ipairs(keys) do
    local ks = is_identifier(k) and k or ("[" .. M.render(k, depth + 1, seen) .. "]")
    parts[#parts + 1] = ks .. " = " .. M.render(v[k], depth + 1, seen)
  end
  seen[v] = nil
  local one = "{ " .. table.concat(parts, ", ") .. " }"
  if #parts == 0 then return "{}" end
  if #one <= 100 then return one end
  local pad = ("  "):rep(depth + 1)
  return "{\n" .. pad .. table.concat(parts, ",\n" .. pad) .. "\n" .. ("  "):rep(depth) .. "}"
end

local function history_file()
  local home = os.getenv("HOME")
  if not home or home == "" or home == "/nonexistent" then return nil end
  return home .. "/.lunshare_history"
end

-- Evaluates one chunk of input in env; returns "incomplete" when more lines are needed.
-- Values go to out; an error is one line on errout (the message, not a traceback through
-- lunshare's own code), and the prompt goes on.
function M.eval(src, env, out, errout)
  errout = errout or out
  local fn, err = load("return " .. src, "=repl", "t", env)
  if not fn then fn, err = load(src, "=repl", "t", env) end
  if not fn then
    if err:find("<eof>$") then return "incomplete" end
    errout:write(err, "\n")
    return "error"
  end
  local res = table.pack(pcall(fn))
  if not res[1] then
    errout:write(tostring(res[2]), "\n")
    return "error"
  end
  local shown = {}
  for i = 2, res.n do
    local ok, text = pcall(M.render, res[i])
    shown[#shown + 1] = ok and text or ("<" .. type(res[i]) .. ": " .. tostring(text) .. ">")
  end
  if #shown > 0 then out:write(table.concat(shown, "\t"), "\n") end
  return "ok"
end

function M.env()
  local env = setmetatable({ lunshare = lunshare, core = lunshare.core }, { __index = _G })
  env.print = function(...)
    local t = table.pack(...)
    for i = 1, t.n do
      if type(t[i]) ~= "string" then
        local ok, text = pcall(M.render, t[i])
        t[i] = ok and text or ("<" .. type(t[i]) .. ": " .. tostring(text) .. ">")
      end
    end
    io.stdout:write(table.concat(t, "\t", 1, t.n), "\n")
  end
  return env
end

function M.main()
  local interactive = core.isatty(0)
  local edit = has_edit and interactive and edit_module or nil
  local hist = history_file()
  if edit and hist then edit.read_history(hist) end
  local env = M.env()
  if interactive then
    io.stdout:write("lunshare ", core.version, " — lunshare and core are loaded; Ctrl-D quits\n")
  end
  local buffer
  while true do
    local prompt = buffer and ">> " or "lunshare> "
    local line
    if edit then
      line = edit.readline(prompt)
    else
      if interactive then io.stdout:write(prompt) io.stdout:flush() end
      line = io.read("L")
      if line then line = line:gsub("\n$", "") end
    end
    if line == nil then
      if buffer then io.stderr:write("repl: input ended inside an unfinished statement\n") end
      break
    end
    local src = buffer and (buffer .. "\n" .. line) or line
    if src:match("%S") then
      local r = M.eval(src, env, io.stdout, io.stderr)
      if r == "incomplete" then
        buffer = src
      else
        if edit then edit.add_history(src) end
        buffer = nil
      end
    end
    io.stdout:flush()
  end
  if edit and hist then edit.write_history(hist) end
  if interactive then io.stdout:write("\n") end
  return 0
end

return M
