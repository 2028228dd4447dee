-- Evaluating profile source safely. A profile may come from anywhere, so loading it must
-- not reach the system and must end: it runs in an environment of constructors and pure
-- helpers only, under a bound on instructions, memory and pattern-matching work, and a
-- profile cannot catch the error that stops it.
local util = require "lunshare.util"

local M = {}

M.INSTRUCTION_LIMIT = 10000000
M.MEMORY_LIMIT = 64 * 1024 * 1024
-- One instruction can be a C call that works on 64 MiB (s:upper(), table.insert into a
-- huge list), so instructions alone do not bound time: CPU time does, checked every
-- HOOK_STEP instructions.
M.CPU_LIMIT = 5
M.HOOK_STEP = 100
-- table.move walks its range even over nothing; no profile needs more than this.
M.MOVE_LIMIT = 1 << 24
-- Lua patterns backtrack: a pattern with q repetitions may try #subject^(q+1) positions
-- in one C call that no instruction hook can interrupt, so profiles get patterns whose
-- worst case stays under this many steps.
M.PATTERN_LIMIT = 1e8

-- Names a profile cannot use, with the reason a person reads in the error.
M.FORBIDDEN = {
  io = "files", os = "the system", require = "modules", load = "code loading",
  loadfile = "code loading", dofile = "code loading", loadstring = "code loading",
  debug = "the interpreter's internals", collectgarbage = "the interpreter's internals",
  getmetatable = "metatables", setmetatable = "metatables", rawset = "metatables",
  _G = "the global table", package = "modules",
  coroutine = "coroutines", print = "output",
}

local SAFE = { "assert", "error", "ipairs", "next", "pairs", "rawequal", "rawget", "rawlen",
  "select", "tonumber", "tostring", "type" }

local function copy(t)
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  return c
end

-- An upper bound on the number of repetition items in a Lua pattern.
local function repetitions(pat)
  local q, i, n = 0, 1, #pat
  while i <= n do
    local ch = pat:sub(i, i)
    if ch == "%" then
      local nx = pat:sub(i + 1, i + 1)
      if nx == "b" or nx == "f" then q = q + 1 end
      i = i + 2
    elseif ch == "[" then
      local j = i + 1
      if pat:sub(j, j) == "^" then j = j + 1 end
      if pat:sub(j, j) == "]" then j = j + 1 end
      while j <= n and pat:sub(j, j) ~= "]" do
        j = j + (pat:sub(j, j) == "%" and 2 or 1)
      end
      i = j + 1
    else
      if ch == "*" or ch == "+" or ch == "-" or ch == "?" then q = q + 1 end
      i = i + 1
    end
  end
  return q
end
M.repetitions = repetitions

local function pattern_guard(name, fn, anchored_ok)
  return function(s, pat, ...)
    if type(s) == "string" and type(pat) == "string" then
      local q = repetitions(pat)
      if not (anchored_ok and pat:sub(1, 1) == "^") then q = q + 1 end
      if q > 0 and (#s + 1) ^ q > M.PATTERN_LIMIT then
        error(string.format("string.%s: pattern '%s' on %d bytes is too much work for a profile " ..
          "(%d repetitions; use fewer or a shorter string)", name, pat, #s, q), 2)
      end
    end
    return fn(s, pat, ...)
  end
end

-- The string library profiles see, both as `string` and through string methods.
local function safe_string()
  local s = copy(string)
  s.dump = nil
  s.find = pattern_guard("find", string.find, true)
  s.match = pattern_guard("match", string.match, true)
  s.gmatch = pattern_guard("gmatch", string.gmatch, false)
  s.gsub = pattern_guard("gsub", string.gsub, true)
  -- rep of "" with no separator loops n times producing nothing, in one C call.
  s.rep = function(str, n, sep)
    if math.type(n) == "integer" and n > 1 and #tostring(str) + #tostring(sep or "") == 0 then n = 1 end
    return string.rep(str, n, sep)
  end
  return s
end

local function safe_table()
  local t = copy(table)
  t.move = function(a1, f, e, tpos, a2)
    if math.type(f) == "integer" and math.type(e) == "integer" and e - f >= M.MOVE_LIMIT then
      error("table.move: " .. (e - f + 1) .. " elements is too many for a profile", 2)
    end
    return table.move(a1, f, e, tpos, a2)
  end
  return t
end

-- " (did you mean 'x'?)" for a misspelt name: stricter than util.suggest, since the
-- names in reach are short and many (a 'veth' is not a misspelt 'math').
local function near(name, candidates)
  if type(name) ~= "string" then return "" end
  local best, bestd
  for _, c in ipairs(candidates) do
    local d = util.distance(name, c)
    if not bestd or d < bestd then best, bestd = c, d end
  end
  if best and (bestd <= 1 or (bestd <= 2 and #name >= 6)) then return " (did you mean '" .. best .. "'?)" end
  return ""
end

-- Builds the environment: pure helpers, then `names` (constructors and the like).
-- Reading a name that is not there is an error that says why or suggests the right one.
function M.environment(names, state)
  local env = {
    string = safe_string(), table = safe_table(), math = copy(math), utf8 = copy(utf8),
  }
  -- A profile is a function of its file and its parameters: `explain` and `run` must
  -- build the same plan from it, so no randomness.
  env.math.random, env.math.randomseed = nil, nil
  for _, k in ipairs(SAFE) do env[k] = _G[k] end
  -- pcall and xpcall are there for profiles that probe, but a limit is not an error a
  -- profile may handle: once one is reached every protected call re-raises it.
  local function guard(...)
    if state.tripped then error(state.tripped, 0) end
    if state.memory_exceeded and state.memory_exceeded() then
      state.tripped = state.memory_message
      error(state.tripped, 0)
    end
    return ...
  end
  env.pcall = function(f, ...) return guard(pcall(f, ...)) end
  env.xpcall = function(f, h, ...) return guard(xpcall(f, h, ...)) end
  -- Constructors go in as they are: a profile calls them directly, so their own
  -- error(msg, 2) and debug.getinfo see the profile's line.
  for k, v in pairs(names or {}) do env[k] = v end
  return setmetatable(env, {
    __index = function(_, k)
      if M.FORBIDDEN[k] then
        error(string.format("'%s' is not available in a profile: profiles are data and cannot " ..
          "reach %s", k, M.FORBIDDEN[k]), 2)
      end
      error("unknown name '" .. tostring(k) .. "'" .. near(k, util.sorted_keys(env)), 2)
    end,
  })
end

local function core_limits()
  local ok, core = pcall(require, "lunshare.core")
  if ok and type(core) == "table" and core.memory_limit then return core end
  return nil
end

-- Evaluates source as a profile chunk named chunkname with the given extra names.
-- Returns the value it returns, or nil and { line = n|nil, msg = "…" }.
-- ctor_lines, when given, receives table -> line for each table a constructor returned.
function M.evaluate(source, chunkname, names, ctor_lines)
  local state = { source = "=" .. chunkname, ctor_lines = ctor_lines }
  local env = M.environment(names, state)
  if source:sub(1, 1) == "\27" then return nil, { msg = "a profile must be Lua source, not bytecode" } end
  local fn, perr = load(source, "=" .. chunkname, "t", env)
  if not fn then
    local line, msg = perr:match("^[^\n]-:(%d+): (.*)$")
    return nil, { line = tonumber(line), msg = "syntax error: " .. (msg or perr) }
  end

  local mib = M.MEMORY_LIMIT // (1024 * 1024)
  state.memory_message = "profile uses too much memory (more than " .. mib .. " MiB)"
  local long_message = "profile runs too long (more than " .. M.INSTRUCTION_LIMIT .. " instructions)"
  local cpu_message = "profile runs too long (more than " .. M.CPU_LIMIT .. " s of CPU time)"
  local core = core_limits()
  local count, step = 0, M.HOOK_STEP
  local started = os.clock()
  local base = collectgarbage("count")
  local co = coroutine.create(fn)
  -- Which constructor calls are open, and on which profile line each was made: the
  -- return hook then knows the line of every table a constructor returns, so an entry
  -- built in a loop still names the line that built it.
  local ctors, open = {}, {}
  for _, v in pairs(names or {}) do
    if type(v) == "function" then ctors[v] = true end
  end
  local function on_count()
    if state.tripped then error(state.tripped, 0) end
    count = count + step
    -- os.clock is a system call: asking it every 100 instructions cost more than most
    -- profiles take to run; every 1000 keeps a run of heavy C calls within seconds.
    local why = (count > M.INSTRUCTION_LIMIT and long_message) or
      (count % 1000 == 0 and os.clock() - started > M.CPU_LIMIT and cpu_message) or nil
    if why then
      local info = debug.getinfo(3, "Sl")
      state.tripped = (info and info.source == state.source and info.currentline > 0)
        and (chunkname .. ":" .. info.currentline .. ": " .. why) or why
      error(state.tripped, 0)
    end
    -- Without the allocator bound (lua5.4 without lunshare.core), the hook samples.
    if not core and (collectgarbage("count") - base) * 1024 > M.MEMORY_LIMIT then
      collectgarbage()
      if (collectgarbage("count") - base) * 1024 > M.MEMORY_LIMIT then
        state.tripped = state.memory_message
        error(state.memory_message, 0)
      end
    end
  end
  local getinfo = debug.getinfo
  debug.sethook(co, function(event)
    if event == "count" then
      on_count()
      return
    end
    -- Every call in the profile comes here: keep the common case (not a constructor, or a
    -- return with no constructor open) to one cheap look.
    if event == "return" and open[1] == nil then return end
    local info = getinfo(2, event == "return" and "fr" or "f")
    if not ctors[info.func] then return end
    if event == "return" then
      -- A call that ended in a caught error never returned: drop it too.
      local call
      repeat
        call = open[#open]
        open[#open] = nil
      until call == nil or call.func == info.func
      if call and call.line and ctor_lines then
        for i = info.ftransfer, info.ftransfer + info.ntransfer - 1 do
          local _, v = debug.getlocal(2, i)
          if type(v) == "table" and ctor_lines[v] == nil then ctor_lines[v] = call.line end
        end
      end
    else
      local caller = debug.getinfo(3, "Sl")
      open[#open + 1] = { func = info.func, line = caller and caller.source == state.source and caller.currentline or nil }
    end
  end, "cr", step)

  -- String methods ("x"):rep(…) go through the string metatable to the real string
  -- table; for the profile's run they go to its own copy instead.
  local smt = debug.getmetatable("")
  local real_index = smt.__index
  smt.__index = env.string
  local gc_was_running = collectgarbage("isrunning")
  if core then
    state.memory_exceeded = core.memory_exceeded
    -- The bound counts bytes since it was installed, and a free of an older block would
    -- count as room for the profile: the collector stays stopped while the profile runs,
    -- so nothing older is freed (a full collection here cost every run ~0.5 ms).
    collectgarbage("stop")
    core.memory_limit(M.MEMORY_LIMIT)
  end
  local ok, res = coroutine.resume(co)
  local exceeded = core and core.memory_limit(nil)
  if gc_was_running then collectgarbage("restart") end
  smt.__index = real_index
  debug.sethook(co)

  if exceeded then
    return nil, { line = nil, msg = state.memory_message }
  end
  if not ok then
    local msg = type(res) == "string" and res or ("error object is a " .. type(res))
    local prefix = chunkname:gsub("%p", "%%%0")
    local line, text = msg:match("^" .. prefix .. ":(%d+): (.*)$")
    if line then return nil, { line = tonumber(line), msg = text } end
    if msg == state.tripped then return nil, { msg = msg } end
    -- Raised inside a helper (a constructor's own error()): the position that matters is
    -- the profile line that called it, still on the dead coroutine's stack.
    for level = 0, 200 do
      local info = debug.getinfo(co, level, "Sl")
      if not info then break end
      if info.source == state.source and info.currentline > 0 then
        return nil, { line = info.currentline, msg = (msg:gsub("^[^\n]-%.lua:%d+: ", "")) }
      end
    end
    return nil, { msg = msg }
  end
  return res
end

return M
