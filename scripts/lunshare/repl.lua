-- `lunshare repl`: a Lua prompt with the lunshare API loaded, for experimenting with the
-- very primitives that profiles use. Line editing and history come from libedit when the
-- executable provides it and stdin is a terminal; otherwise lines are read plainly, so the
-- REPL can also be driven by a pipe.
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
function M.eval(src, env, out)
  local fn, err = load("return " .. src, "=repl", "t", env)
  if not fn then fn, err = load(src, "=repl", "t", env) end
  if not fn then
    if err:find("<eof>$") then return "incomplete" end
    out:write(err, "\n")
    return "error"
  end
  local res = table.pack(xpcall(fn, function(e) return debug.traceback(tostring(e), 2) end))
  if not res[1] then
    out:write(tostring(res[2]):gsub("\n%s*%[C%]: in function 'xpcall'.*", ""), "\n")
    return "error"
  end
  local shown = {}
  for i = 2, res.n do shown[#shown + 1] = M.render(res[i]) end
  if #shown > 0 then out:write(table.concat(shown, "\t"), "\n") end
  return "ok"
end

function M.env()
  local lunshare = require "lunshare"
  local env = setmetatable({ lunshare = lunshare, core = lunshare.core }, { __index = _G })
  env.print = function(...)
    local t = table.pack(...)
    for i = 1, t.n do t[i] = type(t[i]) == "string" and t[i] or M.render(t[i]) end
    io.stdout:write(table.concat(t, "\t", 1, t.n), "\n")
  end
  return env
end

function M.main()
  local core = require "lunshare.core"
  local interactive = core.isatty(0)
  local ok, edit = pcall(require, "lunshare.edit")
  if not (ok and interactive) then edit = nil end
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
    if line == nil then break end
    local src = buffer and (buffer .. "\n" .. line) or line
    if src:match("%S") then
      local r = M.eval(src, env, io.stdout)
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
