-- Evaluating profile source safely, and bounding everything done with what a profile
-- holds. A profile may come from anywhere, so loading it must not reach the system and
-- must end: it runs in an environment of constructors and pure helpers only, under a
-- budget of instructions in which each library call is charged for the work it does, a
-- bound on memory and on CPU time, and a profile cannot catch the error that stops it.
-- What lunshare does with the data afterwards (composing, checking, planning, printing)
-- runs in a bounded region (M.bounded) as well, so no phase is left unbounded.
local util = require "lunshare.util"
-- The allocator bound and the CPU timer (bindings/l_bounds.c); without lunshare.core (a
-- stock lua5.4 with the scripts alone) the bounds fall back to what hooks can do.
local has_core, core_module = pcall(require, "lunshare.core")

-- The functions the guards call, taken before any profile runs. A profile can replace
-- anything in its own copies of the libraries, and while it runs string methods go
-- through the string metatable to the table built for it: the guards use neither.
local type, tostring, select, error, pcall, xpcall = type, tostring, select, error, pcall, xpcall
local pairs, ipairs, next, rawlen, setmetatable = pairs, ipairs, next, rawlen, setmetatable
local tointeger, floor, log = math.tointeger, math.floor, math.log
local sbyte, ssub, sformat, srep = string.byte, string.sub, string.format, string.rep
local sfind, smatch, sgmatch, sgsub = string.find, string.match, string.gmatch, string.gsub
local tpack, tunpack = table.pack, table.unpack
local getinfo, getlocal, sethook, gethook = debug.getinfo, debug.getlocal, debug.sethook, debug.gethook
local getmetatable_raw = debug.getmetatable
local clock = os.clock
local cocreate, coresume = coroutine.create, coroutine.resume
local collect = collectgarbage
local load, tonumber, _G = load, tonumber, _G

local M = {}

-- A profile's source, whatever path it comes in by (the reader caps files at the same).
M.SOURCE_LIMIT = 1 << 20
-- Instructions, counting each library call as the work it does (one instruction for
-- about BYTES_PER_UNIT bytes it goes through, or one per element).
M.INSTRUCTION_LIMIT = 10000000
M.BYTES_PER_UNIT = 8
-- Lua patterns backtrack: one call may take #subject^k steps that no hook can
-- interrupt, so each call is charged its worst case (pattern_steps) against this.
M.PATTERN_LIMIT = 1e8
-- The memory one evaluation may allocate, and all the work on profile data of one
-- command (a region), evaluations included.
M.MEMORY_LIMIT = 64 * 1024 * 1024
M.WORK_MEMORY_LIMIT = 128 * 1024 * 1024
-- CPU time for one command's work on profile data, checked by hooks; past the hard
-- limit (a C call no hook reaches) the process prints one line and exits 2.
M.CPU_LIMIT = 1
M.HARD_CPU_LIMIT = 2
M.HOOK_STEP = 100
-- HOOK_STEP instructions that take longer than this (seconds of CPU) are dear: the hook
-- then watches each one (see evaluate).
M.SLOW_STEP = 0.01
-- A call costs the hook that watches it (constructor lines) more than an instruction.
M.CALL_COST = 10
-- Without lunshare.core, a hook on lunshare's own code checks the clock this often.
M.REGION_HOOK_STEP = 10000
-- The shape of a profile's value: how deep its tables nest, and how many entries it
-- holds in all (a table reached twice counts twice).
M.DATA_DEPTH = 16
M.DATA_ENTRIES = 10000

-- Names a profile cannot use, with the reason a person reads in the error.
M.FORBIDDEN = {
  io = "files", os = "the system", require = "modules", load = "code loading",
  loadfile = "code loading", dofile = "code loading", loadstring = "code loading",
  debug = "the interpreter's internals", collectgarbage = "the interpreter's internals",
  getmetatable = "metatables", setmetatable = "metatables", rawset = "metatables",
  _G = "the global table", package = "modules",
  coroutine = "coroutines", print = "output",
}

local SAFE = { "assert", "error", "ipairs", "next", "rawequal", "rawget", "rawlen",
  "select", "tostring", "type", "pairs" }

local function copy(t)
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  return c
end

-- The libraries as they were when lunshare started, for the copies profiles get.
local STRING, TABLE, UTF8, MATH = copy(string), copy(table), copy(utf8), copy(math)

local function core_limits()
  if has_core and type(core_module) == "table" and core_module.memory_limit then return core_module end
  return nil
end

-- ---- the cost of library calls ---------------------------------------------------------

-- A string argument's length as the library sees it (it converts numbers).
local function len(x)
  if type(x) == "string" then return #x end
  if type(x) == "number" then return #tostring(x) end
  return nil
end

-- The number of positions i..j of a string of n bytes covers, as string.sub counts them.
local function span(n, i, j)
  i, j = tointeger(i or 1), tointeger(j or -1)
  if not i or not j then return 0 end
  if i < 0 then i = n + i + 1 end
  if j < 0 then j = n + j + 1 end
  if i < 1 then i = 1 end
  if j > n then j = n end
  return j >= i and j - i + 1 or 0
end

local function bytes(n) return n // M.BYTES_PER_UNIT end

-- The worst case of Lua's matcher for pattern pat on a subject of n bytes, in steps, and
-- the number of repetitions behind it. Each repetition item (* + -), %b and back-reference
-- (%1) can make the matcher try the rest of the pattern at every position, an optional
-- item (?) try it twice, and a search not anchored with ^ starts at every position; each
-- attempt goes through at most the whole pattern.
function M.pattern_steps(n, pat, can_anchor)
  local m, i, reps, opts = #pat, 1, 0, 0
  if can_anchor and sbyte(pat, 1) == 94 then i = 2 else reps = 1 end
  while i <= m do
    local c = sbyte(pat, i)
    local single = true
    if c == 37 then -- %
      local d = sbyte(pat, i + 1)
      if d == 98 then -- %bxy
        reps, i, single = reps + 1, i + 4, false
      elseif d == 102 then -- %f, then its set
        i, single = i + 2, false
      elseif d and d >= 48 and d <= 57 then -- %0-%9
        reps, i, single = reps + 1, i + 2, false
      else
        i = i + 2
      end
    elseif c == 91 then -- [set]
      local j = i + 1
      if sbyte(pat, j) == 94 then j = j + 1 end
      repeat
        if j > m then break end
        local d = sbyte(pat, j)
        j = j + (d == 37 and 2 or 1)
      until sbyte(pat, j) == 93
      i = j + 1
    elseif c == 40 or c == 41 then -- ( )
      i, single = i + 1, false
    else
      i = i + 1
    end
    if single then
      local q = sbyte(pat, i)
      if q == 42 or q == 43 or q == 45 then reps, i = reps + 1, i + 1
      elseif q == 63 then opts, i = opts + 1, i + 1 end
    end
  end
  return (m + 1) * (n + 1.0) ^ reps * 2.0 ^ opts, reps
end

-- The library a profile sees, for one evaluation: st.charge(units, what) and
-- st.pattern(steps, what) count the work of each call before it runs.
-- ---- a deterministic evaluation -------------------------------------------------------
-- A profile is evaluated again in every process (run, show, install, the plan cache), and
-- each must see the same result: what install showed is what run grants. The real
-- tostring prints a heap address (which ASLR changes every run), string.format's %p is
-- one, and pairs/next follow the hash order of the table (string hashes are seeded per
-- process). In a profile, tostring of a table, function or coroutine is its type's name,
-- %p is refused (and %s of such a value is its type's name), and pairs/next go through
-- the keys in a fixed order: booleans (false first), numbers ascending, strings
-- byte-wise, then other keys (tables, functions) in the order of their own types' names
-- (an order among them that has no address in it does not exist: they stay together, and
-- a profile that needs an order uses ipairs).
local ADDRESSED = { table = true, ["function"] = true, thread = true, userdata = true }

function M.det_tostring(v)
  if ADDRESSED[type(v)] then
    local mt = getmetatable_raw(v)
    if mt and mt.__tostring then return tostring(v) end
    if mt and type(mt.__name) == "string" then return mt.__name end
    return type(v)
  end
  return tostring(v)
end

local KEY_RANK = { boolean = 1, number = 2, string = 3 }
local function key_before(a, b)
  local ta, tb = type(a), type(b)
  local ra, rb = KEY_RANK[ta] or 4, KEY_RANK[tb] or 4
  if ra ~= rb then return ra < rb end
  if ta == "boolean" then return a == false and b == true end
  if ra == 4 then return ta < tb end
  return a < b
end

-- next and pairs in that order. The sorted keys of a table are kept (weakly) while a
-- traversal walks it, so a whole pairs loop sorts once; charge(n) pays for the sort.
function M.det_next(charge)
  local orders = setmetatable({}, { __mode = "k" })
  local function dnext(t, k)
    if type(t) ~= "table" then error("bad argument #1 to 'next' (table expected, got " .. type(t) .. ")", 2) end
    local o = orders[t]
    if k == nil or not o or o.at[k] == nil then
      if k ~= nil and (o == nil or o.at[k] == nil) and rawget(t, k) == nil then
        error("invalid key to 'next'", 2)
      end
      local keys = {}
      for key in next, t do keys[#keys + 1] = key end
      if charge then charge(#keys, "pairs") end
      table.sort(keys, key_before)
      o = { keys = keys, at = {} }
      for i, key in ipairs(keys) do o.at[key] = i end
      orders[t] = o
    end
    local i = k == nil and 0 or o.at[k]
    for j = i + 1, #o.keys do
      local key = o.keys[j]
      local v = rawget(t, key)
      if v ~= nil then return key, v end
    end
    return nil
  end
  local function dpairs(t)
    local mt = getmetatable_raw(t)
    if mt and mt.__pairs then return mt.__pairs(t) end
    return dnext, t, nil
  end
  return dnext, dpairs
end

-- string.format without addresses: %p refused, %s of a table/function its type's name.
function M.det_format(fmt, ...)
  if type(fmt) == "string" then
    local n, i = select("#", ...), 0
    local args = tpack(...)
    for spec, conv in sgmatch(fmt, "%%([-+ #0-9.]*)(.)") do
      if conv ~= "%" then
        i = i + 1
        if conv == "p" then
          error("string.format: '%p' is not available in a profile (an address differs every run)", 3)
        end
        if conv == "s" and i <= n and ADDRESSED[type(args[i])] then args[i] = M.det_tostring(args[i]) end
      end
    end
    return sformat(fmt, tunpack(args, 1, args.n))
  end
  return sformat(fmt, ...)
end

local function library(st)
  local charge, pattern = st.charge, st.pattern

  local function pattern_guard(name, fn, can_anchor)
    return function(s, pat, init, plain, ...)
      local n, m = len(s), len(pat)
      if n and m then
        local steps, reps
        if plain and name == "find" then
          steps, reps = (m + 1) * (n + 1.0), 1
        else
          steps, reps = M.pattern_steps(n, tostring(pat), can_anchor)
        end
        if steps > M.PATTERN_LIMIT then
          error(sformat("string.%s: pattern '%s' on %d bytes is too much work for a profile " ..
            "(%d repetitions; use fewer or a shorter string)", name, tostring(pat), n, reps), 2)
        end
        pattern(steps, "string." .. name)
      end
      if name == "gsub" then
        -- The replacement is copied once a match: what comes out is charged too.
        local r, k = fn(s, pat, init, plain, ...)
        if type(r) == "string" then charge(bytes(#r), "string.gsub") end
        return r, k
      end
      return fn(s, pat, init, plain, ...)
    end
  end

  local s = copy(STRING)
  s.dump = nil
  s.find = pattern_guard("find", sfind, true)
  s.match = pattern_guard("match", smatch, true)
  s.gmatch = pattern_guard("gmatch", sgmatch, false)
  s.gsub = pattern_guard("gsub", sgsub, true)
  s.rep = function(str, n, sep)
    local ls, lsep, count = len(str), sep == nil and 0 or len(sep), tointeger(n)
    if ls and lsep and count then
      if count <= 0 then return "" end
      local total = ls * 1.0 * count + lsep * 1.0 * (count - 1)
      -- Nothing to repeat: the C loop would still go round count times.
      if total == 0 then return "" end
      if total > M.MEMORY_LIMIT then st.out_of_memory() end
      charge(bytes(total) + 1, "string.rep")
    end
    return srep(str, n, sep)
  end
  for _, name in ipairs({ "upper", "lower", "reverse" }) do
    local fn = STRING[name]
    s[name] = function(str, ...)
      local n = len(str)
      if n then charge(bytes(n), "string." .. name) end
      return fn(str, ...)
    end
  end
  s.sub = function(str, i, j, ...)
    local n = len(str)
    if n then charge(bytes(span(n, i, j)), "string.sub") end
    return ssub(str, i, j, ...)
  end
  s.byte = function(str, i, j, ...)
    local n = len(str)
    if n then charge(span(n, i or 1, j or i or 1), "string.byte") end
    return sbyte(str, i, j, ...)
  end
  s.char = function(...)
    charge(select("#", ...), "string.char")
    return STRING.char(...)
  end
  -- format, pack and unpack go through their arguments, then write what comes out.
  local function by_size(name, fn)
    return function(...)
      local n = select("#", ...)
      local total = 0
      for k = 1, n do total = total + (len((select(k, ...))) or 0) end
      charge(n + bytes(total), "string." .. name)
      local r = tpack(fn(...))
      if type(r[1]) == "string" then charge(bytes(#r[1]), "string." .. name) end
      charge(r.n, "string." .. name)
      return tunpack(r, 1, r.n)
    end
  end
  s.format = by_size("format", M.det_format)
  s.pack = by_size("pack", STRING.pack)
  s.unpack = by_size("unpack", STRING.unpack)
  s.packsize = by_size("packsize", STRING.packsize)

  local t = copy(TABLE)
  local function count_of(i, j)
    i, j = tointeger(i), tointeger(j)
    if i and j then return j >= i and (j - i + 1.0) or 0 end
    return 0
  end
  t.concat = function(list, sep, i, j)
    if type(list) == "table" then
      charge(count_of(i or 1, j or rawlen(list)), "table.concat")
      local r = TABLE.concat(list, sep, i, j)
      charge(bytes(#r), "table.concat")
      return r
    end
    return TABLE.concat(list, sep, i, j)
  end
  t.insert = function(list, ...)
    if type(list) == "table" and select("#", ...) >= 2 then charge(rawlen(list), "table.insert") end
    return TABLE.insert(list, ...)
  end
  t.remove = function(list, ...)
    if type(list) == "table" then charge(rawlen(list), "table.remove") end
    return TABLE.remove(list, ...)
  end
  t.move = function(a1, f, e, tpos, a2)
    charge(count_of(f, e), "table.move")
    return TABLE.move(a1, f, e, tpos, a2)
  end
  t.sort = function(list, cmp)
    if type(list) == "table" then
      local n = rawlen(list)
      charge(n > 1 and floor(n * log(n, 2)) or 1, "table.sort")
    end
    return TABLE.sort(list, cmp)
  end
  t.unpack = function(list, i, j)
    if type(list) == "table" then charge(count_of(i or 1, j or rawlen(list)), "table.unpack") end
    return tunpack(list, i, j)
  end
  t.pack = function(...)
    charge(select("#", ...), "table.pack")
    return tpack(...)
  end

  local u = copy(UTF8)
  u.len = function(str, i, j, ...)
    local n = len(str)
    if n then charge(bytes(span(n, i or 1, j or -1)), "utf8.len") end
    return UTF8.len(str, i, j, ...)
  end
  u.codepoint = function(str, i, j, ...)
    local n = len(str)
    if n then charge(span(n, i or 1, j or i or 1), "utf8.codepoint") end
    return UTF8.codepoint(str, i, j, ...)
  end
  u.offset = function(str, n, i)
    local l, k = len(str), tointeger(n)
    if l and k then charge(bytes(l) + 1, "utf8.offset") end
    return UTF8.offset(str, n, i)
  end
  u.char = function(...)
    charge(select("#", ...), "utf8.char")
    return UTF8.char(...)
  end

  local m = copy(MATH)
  -- A profile is a function of its file and its parameters: `explain` and `run` must
  -- build the same plan from it, so no randomness.
  m.random, m.randomseed = nil, nil

  local function tonumber_guard(x, base)
    local n = len(x)
    if n and type(x) == "string" then charge(bytes(n), "tonumber") end
    return tonumber(x, base)
  end

  -- The string metatable serves methods from its own copy, one the profile cannot reach:
  -- changing its `string` table changes only what it calls through that name.
  return { string = s, table = t, utf8 = u, math = m, tonumber = tonumber_guard }, copy(s)
end

-- " (did you mean 'x'?)" for a misspelt name: stricter than util.suggest, since the
-- names in reach are short and many (a 'veth' is not a misspelt 'math').
local function near(name, candidates)
  if type(name) ~= "string" or #name > 64 then return "" end
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
-- Returns it and the table string methods use while the profile runs.
-- What a misspelt constructor stands for: a placeholder that keeps its entry's place
-- (a nil would end the list there, hiding the entries after it from the checker), and
-- about which the checker says nothing more (its error is the unknown name's).
M.MISSPELT = setmetatable({}, { __mode = "k" }) -- the placeholders, each a fresh empty table

function M.environment(names, state)
  local noop = function() end
  state.charge = state.charge or noop
  state.pattern = state.pattern or noop
  state.out_of_memory = state.out_of_memory or function() error("not enough memory", 0) end
  local libs, methods = library(state)
  local env = {}
  for k, v in pairs(libs) do env[k] = v end
  for _, k in ipairs(SAFE) do env[k] = _G[k] end
  env.tostring = M.det_tostring
  env.next, env.pairs = M.det_next(state.charge)
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
        error(sformat("'%s' is not available in a profile: profiles are data and cannot " ..
          "reach %s", k, M.FORBIDDEN[k]), 2)
      end
      -- A misspelt constructor (ro_bnd "/x") must not hide the file's other errors: it
      -- is recorded with its line and stands for nothing, and the profile goes on.
      local hint = near(k, util.sorted_keys(env))
      local best = hint:match("'([^']+)'")
      if state.soft and best and type(env[best]) == "function" and type(names) == "table" and names[best] then
        local info = getinfo(2, "Sl")
        state.soft[#state.soft + 1] = { line = info and info.source == state.source and info.currentline or nil,
          msg = "unknown name '" .. tostring(k) .. "'" .. hint }
        return function() local t = {} M.MISSPELT[t] = true return t end
      end
      error("unknown name '" .. tostring(k) .. "'" .. hint, 2)
    end,
  }), methods
end

-- ---- budgets and regions ---------------------------------------------------------------

-- What one command may spend on profile data: evaluations share its instructions and
-- pattern steps, and everything shares its CPU time.
local function new_budget(label)
  return { units = 0, steps = 0, started = clock(), label = label }
end

local active -- the region running now, if any
-- How many evaluations have lunshare's own state (the string metatable, the collector)
-- given over to a profile: the region's CPU limit waits until they give it back.
local holding = 0

local function mib(n) return n // (1024 * 1024) end

-- What a region says when a bound is reached; the last one, printed as the process
-- ends, names what it was working on.
local function region_messages(b)
  return "profile work takes too long (more than " .. M.CPU_LIMIT .. " s of CPU time)",
    "profile work uses too much memory (more than " .. mib(M.WORK_MEMORY_LIMIT) .. " MiB)",
    (b.label and (b.label .. ": ") or "") .. "profile work takes too long (more than " ..
      M.HARD_CPU_LIMIT .. " s of CPU time)"
end

-- Runs fn(...) in a bounded region: CPU time (M.CPU_LIMIT, then M.HARD_CPU_LIMIT as a
-- backstop that ends the process with one line and exit 2), memory (M.WORK_MEMORY_LIMIT),
-- and for every profile evaluated inside, one budget of instructions and pattern steps.
-- label (a profile's name) starts the backstop's message. Returns true and fn's results,
-- or nil and the message when a bound was reached, whatever fn did with that error on
-- the way; fn's own errors pass through. Inside a region fn runs in that region.
function M.bounded(label, fn, ...)
  if active then return true, fn(...) end
  local core = core_limits()
  local b = new_budget(label)
  local cpu_message, memory_message, hard_message = region_messages(b)
  local old = tpack(gethook())
  local res, slow, exceeded
  active = b
  if core then
    -- No hook on lunshare's own code until the soft limit: core installs one then.
    -- The backstop ends the process: what was printed so far must be out first.
    io.stdout:flush()
    core.memory_limit(M.WORK_MEMORY_LIMIT)
    local all = tpack(core.cpu_bounded(M.HARD_CPU_LIMIT, "lunshare: " .. util.escape(hard_message),
      M.CPU_LIMIT, cpu_message, fn, ...))
    exceeded = core.memory_limit(nil)
    slow = all[1]
    res = tpack(tunpack(all, 2, all.n))
  else
    -- Without lunshare.core (a stock lua5.4), a hook reads the clock and samples memory.
    local base = collect("count")
    sethook(function()
      if holding > 0 then return end
      if b.tripped then error(b.tripped, 0) end
      if clock() - b.started > M.CPU_LIMIT then b.tripped = cpu_message end
      if not b.tripped and (collect("count") - base) * 1024 > M.WORK_MEMORY_LIMIT then
        collect()
        if (collect("count") - base) * 1024 > M.WORK_MEMORY_LIMIT then b.tripped = memory_message end
      end
      if b.tripped then error(b.tripped, 0) end
    end, "", M.REGION_HOOK_STEP)
    res = tpack(pcall(fn, ...))
    sethook(tunpack(old, 1, old.n))
  end
  active = nil
  if exceeded then return nil, memory_message end
  if slow then return nil, cpu_message end
  if b.tripped then return nil, b.tripped end
  if not res[1] then error(res[2], 0) end
  return true, tunpack(res, 2, res.n)
end

-- ---- evaluation ------------------------------------------------------------------------

-- Evaluates source as a profile chunk named chunkname with the given extra names.
-- Returns the value it returns, or nil and { line = n|nil, msg = "…" }.
-- ctor_lines, when given, receives table -> line for each table a constructor returned.
function M.evaluate(source, chunkname, names, ctor_lines)
  if type(source) ~= "string" then return nil, { msg = "a profile must be Lua source" } end
  if #source > M.SOURCE_LIMIT then
    return nil, { msg = sformat("a profile is at most %d bytes (1 MiB); this one is %d", M.SOURCE_LIMIT, #source) }
  end
  if ssub(source, 1, 1) == "\27" then return nil, { msg = "a profile must be Lua source, not bytecode" } end
  local budget = active or new_budget()
  local state = { source = "=" .. chunkname, ctor_lines = ctor_lines, soft = {} }
  local mem = mib(M.MEMORY_LIMIT)
  state.memory_message = "profile uses too much memory (more than " .. mem .. " MiB)"
  local long_message = "profile runs too long (more than " .. M.INSTRUCTION_LIMIT .. " instructions)"
  local pattern_message = "profile runs too long (more than " .. sformat("%.0f", M.PATTERN_LIMIT) ..
    " steps of pattern matching)"
  local cpu_message = "profile runs too long (more than " .. M.CPU_LIMIT .. " s of CPU time)"

  -- A limit names the profile line the work was asked on: the innermost frame of the
  -- profile's own chunk, below any helper that was running.
  local function trip(why, level)
    for l = level, level + 50 do
      local info = getinfo(l, "Sl")
      if not info then break end
      if info.source == state.source and info.currentline > 0 then
        state.tripped = chunkname .. ":" .. info.currentline .. ": " .. why
        error(state.tripped, 0)
      end
    end
    state.tripped = why
    error(state.tripped, 0)
  end
  state.charge = function(units, what)
    if state.tripped then error(state.tripped, 0) end
    -- Checked before it is counted: a count hook that comes between the two then sees
    -- the budget without this call's work, and the call is named as the one too many.
    local units_after = budget.units + units
    if units_after > M.INSTRUCTION_LIMIT then
      trip(long_message .. (what and (": " .. what .. " would go past it") or ""), 3)
    end
    budget.units = units_after
  end
  state.out_of_memory = function()
    state.tripped = state.memory_message
    error(state.tripped, 0)
  end
  state.pattern = function(steps, what)
    if state.tripped then error(state.tripped, 0) end
    budget.steps = budget.steps + steps
    if budget.steps > M.PATTERN_LIMIT then trip(pattern_message .. ": " .. what .. " would go past it", 3) end
  end

  local env, methods = M.environment(names, state)
  local fn, perr = load(source, "=" .. chunkname, "t", env)
  if not fn then
    local line, msg = smatch(perr, "^[^\n]-:(%d+): (.*)$")
    return nil, { line = tonumber(line), msg = "syntax error: " .. (msg or perr) }
  end

  local core = core_limits()
  local step = M.HOOK_STEP
  local last -- the clock at the last step of the count hook
  local hook -- the hook function, set on co below
  local base = collect("count")
  local co = cocreate(fn)
  -- Which constructor calls are open, and on which profile line each was made: the
  -- return hook then knows the line of every table a constructor returns, so an entry
  -- built in a loop still names the line that built it.
  local ctors, open = {}, {}
  for _, v in pairs(names or {}) do
    if type(v) == "function" then ctors[v] = true end
  end
  -- The hook reads the clock at every instruction (slow mode) until a step of
  -- M.HOOK_STEP instructions has been seen to take less than M.SLOW_STEP, then every
  -- step, until a step takes longer: instructions that are dear (each a big
  -- concatenation, a collection of the whole heap behind a refused allocation) are
  -- watched one by one, and the profile's limit comes within one of them of its time,
  -- well before the region's hard limit ends the process. Instructions are counted by
  -- the step in both modes (seen: those since the last step).
  local slow, seen = true, 0
  local function on_count()
    if state.tripped then error(state.tripped, 0) end
    local counted = not slow
    if slow then
      seen = seen + 1
      counted = seen >= step
    end
    local now = clock()
    if counted then
      budget.units = budget.units + step
      seen = 0
    end
    -- Every hook reads the clock: an instruction can be a long C call (a concatenation
    -- of 200 big strings), so a hundred of them may already be a lot of time.
    local why = (counted and budget.units > M.INSTRUCTION_LIMIT and long_message) or
      (now - budget.started > M.CPU_LIMIT and cpu_message) or nil
    if why then trip(why, 4) end
    if counted then
      local dear = now - last > M.SLOW_STEP
      if dear ~= slow then
        slow = dear
        sethook(co, hook, "cr", slow and 1 or step)
      end
      last = now
    end
    if core and core.memory_exceeded() then
      state.tripped = state.memory_message
      error(state.memory_message, 0)
    end
    -- Without the allocator bound (lua5.4 without lunshare.core), the hook samples.
    if not core and (collect("count") - base) * 1024 > M.MEMORY_LIMIT then
      collect()
      if (collect("count") - base) * 1024 > M.MEMORY_LIMIT then
        state.tripped = state.memory_message
        error(state.memory_message, 0)
      end
    end
  end
  hook = function(event)
    if event == "count" then
      on_count()
      return
    end
    -- Every call in the profile comes here: keep the common case (not a constructor, or a
    -- return with no constructor open) to one cheap look.
    if event == "return" and open[1] == nil then return end
    if event == "call" then budget.units = budget.units + M.CALL_COST end
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
          local _, v = getlocal(2, i)
          if type(v) == "table" and ctor_lines[v] == nil then ctor_lines[v] = call.line end
        end
      end
    else
      local caller = getinfo(3, "Sl")
      open[#open + 1] = { func = info.func, line = caller and caller.source == state.source and caller.currentline or nil }
    end
  end
  sethook(co, hook, "cr", 1)

  -- From here to the end of the run, nothing may stop this code half way: a region's
  -- CPU limit waits (holding), and the profile's own limits stop only the coroutine.
  holding = holding + 1
  if core and core.cpu_hold then core.cpu_hold(true) end
  local smt = getmetatable_raw("")
  local real_index = smt.__index
  smt.__index = methods
  local gc_was_running = collect("isrunning")
  if core then
    state.memory_exceeded = core.memory_exceeded
    -- The bound counts bytes since it was installed, and a free of an older block would
    -- count as room for the profile: the collector stays stopped while the profile runs,
    -- so nothing older is freed (a full collection here cost every run ~0.5 ms).
    collect("stop")
    core.memory_limit(M.MEMORY_LIMIT)
  end
  last = clock()
  local ok, res = coresume(co)
  local exceeded = core and core.memory_limit(nil)
  if gc_was_running then collect("restart") end
  smt.__index = real_index
  sethook(co)
  if core and core.cpu_hold then core.cpu_hold(false) end
  holding = holding - 1

  if exceeded then
    return nil, { line = nil, msg = state.memory_message }
  end
  if not ok then
    local msg = type(res) == "string" and res or ("error object is a " .. type(res))
    local prefix = sgsub(chunkname, "%p", "%%%0")
    local line, text = smatch(msg, "^" .. prefix .. ":(%d+): (.*)$")
    if line then return nil, { line = tonumber(line), msg = text } end
    if msg == state.tripped then return nil, { msg = msg } end
    -- Raised inside a helper (a constructor's own error()): the position that matters is
    -- the profile line that called it, still on the dead coroutine's stack.
    for level = 0, 200 do
      local info = getinfo(co, level, "Sl")
      if not info then break end
      if info.source == state.source and info.currentline > 0 then
        return nil, { line = info.currentline, msg = (sgsub(msg, "^[^\n]-%.lua:%d+: ", "")) }
      end
    end
    return nil, { msg = msg }
  end
  -- Errors that let the profile go on (a misspelt constructor), as the third result.
  if #state.soft > 0 then return res, nil, state.soft end
  return res
end

-- ---- the shape of the data -------------------------------------------------------------

-- Keys in a stable order, whatever their types, so that an error names the same entry
-- on every run.
local function key_less(a, b)
  local ta, tb = type(a), type(b)
  if ta ~= tb then return ta < tb end
  if ta == "boolean" then return (not a) and b end
  return a < b
end

-- Whether v is plain data a profile may hand lunshare: tables without metatables, nested
-- at most M.DATA_DEPTH deep, holding at most M.DATA_ENTRIES entries in all, with keys that
-- are strings, numbers or booleans and values that are those or tables. A table that
-- holds itself nests without end; a table reached twice counts twice. Returns true, or
-- nil, the path (a list of keys) and what is wrong.
local NUL_MSG = "a string holds a NUL byte (byte 0): every string of a profile becomes a C string " ..
  "(a path, a name, an argument), which would end there"

-- The same conditions, without a path: visiting the keys in any order finds a fault
-- wherever the ordered walk would (the budget counts every entry either way), and a run
-- needs no sorting of every table of a valid profile (issue #14: the ordered walk was a
-- tenth of a miss's Lua time). Only a profile found faulty is walked again, in order.
local function plain_fast(v)
  local entries = 0
  local function walk(t, depth)
    if getmetatable_raw(t) ~= nil or depth > M.DATA_DEPTH then return false end
    for k, x in next, t do
      entries = entries + 1
      if entries > M.DATA_ENTRIES then return false end
      local kt = type(k)
      if kt == "string" then
        if sfind(k, "\0", 1, true) then return false end
      elseif kt ~= "number" and kt ~= "boolean" then
        return false
      end
      local xt = type(x)
      if xt == "table" then
        if not walk(x, depth + 1) then return false end
      elseif xt == "string" then
        if sfind(x, "\0", 1, true) then return false end
      elseif xt ~= "number" and xt ~= "boolean" then
        return false
      end
    end
    return true
  end
  return walk(v, 1)
end

function M.check_data(v)
  if type(v) == "table" and plain_fast(v) then return true end
  local entries, path = 0, {}
  local function walk(t, depth)
    if getmetatable_raw(t) ~= nil then return "expected plain data, got a table with a metatable" end
    if depth > M.DATA_DEPTH then
      return "tables nest deeper than " .. M.DATA_DEPTH .. " levels (does a table hold itself?)"
    end
    -- Counted before anything is sorted, so that a huge table costs no more than the budget.
    local keys = {}
    for k in next, t do
      entries = entries + 1
      if entries > M.DATA_ENTRIES then
        return "a profile holds at most " .. M.DATA_ENTRIES .. " entries in all its tables"
      end
      local kt = type(k)
      if kt ~= "string" and kt ~= "number" and kt ~= "boolean" then
        return "expected plain data, got a key that is a " .. kt
      end
      -- Every string of a profile ends up a C string (a path, a name, an argument): one
      -- with a NUL in it would be cut there, and "/root/secret\0.lua" is not the file it
      -- names. Refused here, for every field at once.
      if kt == "string" and sfind(k, "\0", 1, true) then return NUL_MSG end
      keys[#keys + 1] = k
    end
    table.sort(keys, key_less)
    for _, k in ipairs(keys) do
      local x = t[k]
      path[depth] = k
      local xt = type(x)
      if xt == "table" then
        local why = walk(x, depth + 1)
        if why then return why end
      elseif xt ~= "string" and xt ~= "number" and xt ~= "boolean" then
        return "expected plain data, got a " .. xt
      elseif xt == "string" and sfind(x, "\0", 1, true) then
        return NUL_MSG
      end
      path[depth] = nil
    end
    return nil
  end
  if type(v) ~= "table" then return true end
  local why = walk(v, 1)
  if not why then return true end
  return nil, path, why
end

-- "mounts[3].src" for a list of keys from check_data, spelt as every field path is
-- (util.sub_path).
function M.path_text(keys)
  local path = ""
  for _, k in ipairs(keys) do path = util.sub_path(path, k) end
  return path
end

-- ---- what may be quoted of a file ----------------------------------------------------

-- Whether the text of a file that was read may be quoted in messages: only when what was
-- opened (real: its path with every symlink resolved, from core.read_file) is named
-- *.lua. The name it was reached by says nothing: "base.lua" may be a symlink to
-- /root/secret, and "/root/secret\0.lua" (refused anyway) would open /root/secret.
function M.quotable(real)
  return type(real) == "string" and real:match("%.lua$") ~= nil
end

M.NOT_SHOWN = " (what it names is not a .lua file, so its text is not shown)"
-- Lua's words, which an error may quote without quoting the file.
local LUA_WORDS = {}
for w in ([[and break do else elseif end false for function goto if in local nil not or
  repeat return then true until while]]):gmatch("%a+") do LUA_WORDS[w] = true end

-- What an evaluation error may say about a file that is not a profile by what was opened
-- (its real path does not end in .lua), whether named on the command line or reached
-- through `extends`: `extends = "/etc/shadow"` or a symlink shadow.lua -> /etc/shadow
-- must not make its text appear in a message. A syntax error keeps Lua's description and line without the
-- tokens it quotes (its "near '…'", any quoted name); any other error of the evaluation
-- (`KEY=value` reads the name value) says only that it failed. The bounds' own messages
-- quote nothing and stay.
function M.not_a_profile(msg)
  if smatch(msg, "^profile runs too long") or smatch(msg, "^profile uses too much memory") then return msg end
  local syntax = smatch(msg, "^syntax error: (.*)$")
  local why = M.NOT_SHOWN
  if not syntax then return "not a profile: evaluating it failed" .. why end
  syntax = sgsub(sgsub(syntax, "%s*near%s.*$", ""), "'([^']*)'", function(t)
    if LUA_WORDS[t] or smatch(t, "^%p+$") then return nil end
    return "'…'"
  end)
  if syntax == "syntax error" or syntax == "" then return "syntax error" .. why end
  return "syntax error: " .. syntax .. why
end

return M
