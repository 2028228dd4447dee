-- `lunshare repl`: a Lua prompt with the lunshare API loaded, for experimenting with the
-- very primitives that profiles use. Line editing and history come from libedit when the
-- executable provides it and stdin is a terminal; otherwise lines are read plainly, so the
-- REPL can also be driven by a pipe.
local core = require "lunshare.core"
local lunshare = require "lunshare"
local complete = require "lunshare.complete"
local doc = require "lunshare.doc"
local params = require "lunshare.params"
local profile = require "lunshare.profile"
local schema = require "lunshare.schema"
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

local function shown(v)
  local ok, text = pcall(M.render, v)
  return ok and text or ("<" .. type(v) .. ": " .. tostring(text) .. ">")
end

-- Compiles a chunk: as an expression first (its values are shown), else as statements.
-- where.line is the line of the input the chunk starts on, so that errors name it.
local function compile(src, env, where)
  local name = "=" .. (where and where.chunkname or "stdin")
  local pad = ("\n"):rep((where and where.line or 1) - 1)
  local fn, err = load(pad .. "return " .. src, name, "t", env)
  if fn then
    -- An expression's values pass through a function, so that a call in it is not a tail
    -- call: a function it calls can still ask where it was called from (error(msg, 2)).
    local chunk = assert(load(pad .. "local lsh_values_ = ... return lsh_values_(" .. src .. "\n)",
      name, "t", env))
    local function values(...) return ... end
    return function() return chunk(values) end
  end
  return load(pad .. src, name, "t", env)
end

-- Evaluates one chunk of input in env; returns "incomplete" when more lines are needed.
-- Values go to out; an error is one line on errout (the message, not a traceback through
-- lunshare's own code), and "error" is returned.
function M.eval(src, env, out, errout, where)
  errout = errout or out
  local fn, err = compile(src, env, where)
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
  local parts = {}
  for i = 2, res.n do parts[#parts + 1] = shown(res[i]) end
  if #parts > 0 then out:write(table.concat(parts, "\t"), "\n") end
  return "ok"
end

-- ---- the REPL's core: lunshare.core but for what would take the REPL with it ----------

-- How long a blocking wait sleeps between looks, so that Ctrl-C reaches it.
local SLICE = 0.02

function M.safe_core(core)
  local safe = setmetatable({}, { __index = core })
  local in_child = false

  -- The child runs fn and exits with its result: a clone that went on in Lua, as after
  -- fork, would be a second REPL reading the same terminal.
  function safe.clone(kinds, fn, ...)
    if type(fn) ~= "function" then
      error("core.clone: in the REPL, give the function the child runs: " ..
        "core.clone(kinds, function() … end); it exits with the function's result", 2)
    end
    io.stdout:flush()
    io.stderr:flush()
    local pid, pidfd, errno = core.clone(kinds)
    if pid ~= 0 then return pid, pidfd, errno end
    in_child = true
    local res = table.pack(pcall(fn, ...))
    local code = 0
    if not res[1] then
      io.stderr:write(tostring(res[2]), "\n")
      code = 1
    elseif math.type(res[2]) == "integer" then
      code = res[2]
    elseif res[2] == false then
      code = 1
    end
    io.stdout:flush()
    io.stderr:flush()
    core._exit(code)
  end

  -- A holder never returns: only a child of clone may become one.
  function safe.hold(...)
    if in_child then return core.hold(...) end
    error("core.hold: this process would become a namespace holder and never return; " ..
      "make a child one: core.clone({ \"user\", \"net\" }, core.hold)", 2)
  end

  -- exec would replace the REPL with the program: only a child of clone may.
  function safe.exec(...)
    if in_child then return core.exec(...) end
    error("core.exec: this process would become the program and the REPL would end; " ..
      "run it in a child: core.clone({}, core.exec, { \"ls\" })", 2)
  end

  function safe.wait(pidfd, nohang, ...)
    if nohang or select("#", ...) > 0 then return core.wait(pidfd, nohang, ...) end
    while true do
      local res = table.pack(core.wait(pidfd, true))
      if res[1] ~= false then return table.unpack(res, 1, res.n) end
      core.sleep(SLICE)
    end
  end

  function safe.sleep(seconds, ...)
    if math.type(seconds) == nil or seconds < 0 or seconds > 3600 or select("#", ...) > 0 then
      return core.sleep(seconds, ...) -- its own error
    end
    local left = seconds
    while left > SLICE do
      core.sleep(SLICE)
      left = left - SLICE
    end
    core.sleep(left)
  end
  return safe
end

-- params in the REPL: a profile's declarations, checked as a profile's are; the values
-- come from `values` (as --set gives them) or the defaults.
function M.params(spec, values)
  local errors = {}
  -- Errors name the line of the input that called params, as a profile's name its file's.
  local caller = debug.getinfo(2, "Sl") or {}
  local declare = params.declarer({ file = caller.short_src or "params",
    set = values or {}, errors = errors, declared = {}, values = {} })
  local ok, res = pcall(declare, spec)
  if not ok then error(res, 2) end
  if #errors > 0 then
    local lines = {}
    for i, e in ipairs(errors) do
      if not e.line and (caller.currentline or -1) > 0 then e.line = caller.currentline end
      lines[i] = schema.format_error(e)
    end
    error(table.concat(lines, "\n"), 0)
  end
  return res
end

-- The REPL's globals: lunshare and core (the REPL's), the profile constructors, help,
-- params, and a print that shows tables. A running sandbox can be added here as `sb` by
-- whoever starts one (`lunshare repl PROFILE`): M.main(opts) puts opts.globals in.
function M.env(globals)
  local core = M.safe_core(lunshare.core)
  local api = setmetatable({ core = core }, { __index = lunshare })
  local env = setmetatable({ lunshare = api, core = core }, { __index = _G })
  for k, v in pairs(profile.constructors()) do env[k] = v end
  env.params = M.params
  env.help = function(x)
    io.stdout:write(doc.help(x, env))
  end
  env.print = function(...)
    local t = table.pack(...)
    for i = 1, t.n do
      if type(t[i]) ~= "string" then t[i] = shown(t[i]) end
    end
    io.stdout:write(table.concat(t, "\t", 1, t.n), "\n")
  end
  for k, v in pairs(globals or {}) do env[k] = v end
  return env
end

-- The REPL. On a terminal: libedit, history, completion, and Ctrl-C that interrupts the
-- chunk or drops the line, never the REPL; it ends with the input (Ctrl-D) and exits 0.
-- From a pipe: the chunks run as they come, and the first that fails ends the REPL with
-- status 1, as `lua -` ends at a failing script.
function M.main(opts)
  opts = opts or {}
  local interactive = core.isatty(0)
  local edit = has_edit and edit_module or nil
  local protect = edit and edit.pcall or pcall
  local editor = interactive and edit and edit.readline and edit or nil
  local env = M.env(opts.globals)
  local buffer, first, lineno = nil, nil, 0
  local hist = history_file()
  if editor then
    if hist then editor.read_history(hist) end
    editor.set_completer(function(text, line)
      return complete.candidates(text, line, env, buffer, doc.names())
    end)
  end
  if interactive then
    io.stdout:write("lunshare ", core.version, " — lunshare and core are loaded; help() lists the API; Ctrl-D quits\n")
  end
  local status = 0
  while true do
    local prompt = buffer and ">> " or "lunshare> "
    local line
    if editor then
      line = editor.readline(prompt)
    else
      if interactive then io.stdout:write(prompt) io.stdout:flush() end
      -- Without libedit, Ctrl-C interrupts the read (false), as it ends readline's.
      local ok, l = protect(io.read, "L")
      if not ok then line = false elseif l then line = l:gsub("\n$", "") end
    end
    if line == false then
      -- Ctrl-C at the prompt: the line and an unfinished statement are dropped.
      io.stdout:write("\n")
      buffer = nil
    elseif line == nil then
      if buffer then
        local _, err = compile(buffer, env, { line = interactive and 1 or first })
        io.stderr:write(err or "input ended inside an unfinished statement", "\n")
        if not interactive then status = 1 end
      end
      break
    else
      lineno = lineno + 1
      if not buffer then first = lineno end
      local src = buffer and (buffer .. "\n" .. line) or line
      if src:match("%S") then
        local where = { line = interactive and 1 or first }
        local ok, r = protect(M.eval, src, env, io.stdout, io.stderr, where)
        if not ok then
          io.stderr:write(tostring(r), "\n")
          r = "error"
        end
        if r == "incomplete" then
          buffer = src
        else
          if editor then editor.add_history(src) end
          buffer = nil
          if r == "error" and not interactive then
            status = 1
            break
          end
        end
      end
    end
    io.stdout:flush()
  end
  if editor and hist then editor.write_history(hist) end
  if interactive then io.stdout:write("\n") end
  -- The sandbox of `lunshare repl PROFILE` ends with the REPL, torn down as a run's.
  if opts.sandbox then opts.sandbox:stop() end
  return status
end

return M
