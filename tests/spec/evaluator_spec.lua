-- Safe evaluation of profile source: what a profile can reach and the limits it cannot
-- escape. #unit
local evaluator = require "lunshare.evaluator"
local H = require "helpers"

local function eval(src)
  return evaluator.evaluate(src, "t.lua", {})
end

describe("evaluator #unit", function()
  it("evaluates plain data and pure helpers", function()
    local v = eval("return { n = math.max(1, 2), s = ('a'):upper(), t = table.concat({ 'x', 'y' }, ','), " ..
      "u = utf8.char(72), f = string.format('%d', 3) }")
    assert.same({ n = 2, s = "A", t = "x,y", u = "H", f = "3" }, v)
  end)

  for name in pairs(evaluator.FORBIDDEN) do
    it("refuses " .. name .. " with a reason", function()
      local v, err = eval("local x = " .. name .. "\nreturn {}")
      assert.is_nil(v)
      assert.equal(1, err.line)
      assert.truthy(err.msg:find("^'" .. name .. "' is not available in a profile"), err.msg)
    end)
  end

  it("has no string.dump, through the library or the string metatable", function()
    assert.equal("nil nil", eval("return type(string.dump) .. ' ' .. type(('').dump)"):gsub("nil", "nil"))
  end)

  it("has no randomness, so explain and run build the same plan", function()
    assert.equal("nil nil", eval("return type(math.random) .. ' ' .. type(math.randomseed)"))
  end)

  it("suggests the name a profile probably meant", function()
    local _, err = eval("return { x = tostrng(1) }")
    assert.equal("unknown name 'tostrng' (did you mean 'tostring'?)", err.msg)
  end)

  it("cannot change the libraries or the string metatable lunshare itself uses", function()
    eval("string.format = nil; table.concat = nil; math.max = nil; return {}")
    assert.is_function(string.format)
    assert.is_function(table.concat)
    assert.is_function(math.max)
    local before = getmetatable("").__index
    eval("local s = 'x'; return { s:upper() }")
    assert.equal(before, getmetatable("").__index)
    assert.equal(string, getmetatable("").__index)
  end)

  it("stops an endless loop, naming the line", function()
    local v, err = eval("local n = 0\nwhile true do n = n + 1 end")
    assert.is_nil(v)
    assert.equal(2, err.line)
    assert.truthy(err.msg:find("runs too long"))
  end)

  it("does not let pcall or xpcall catch the instruction limit", function()
    local _, err = eval("for i = 1, 1000 do pcall(function() while true do end end) end return {}")
    assert.truthy(err.msg:find("runs too long"), err.msg)
    _, err = eval("for i = 1, 1000 do xpcall(function() while true do end end, function() return 1 end) end return {}")
    assert.truthy(err.msg:find("runs too long"), err.msg)
  end)

  it("stops memory without end, even one big allocation at a time", function()
    for _, src in ipairs({
      "local s = 'x' while true do s = s .. s end",
      "return ('x'):rep(1 << 30)",
      "return string.rep('x', 1 << 29, 'yz')",
      "local s = ('x'):rep(1 << 20) local t = {} for i = 1, 500 do t[i] = s end return table.concat(t)",
      "local s = ('x'):rep(1 << 22) return s..s..s..s..s..s..s..s..s..s..s..s..s..s..s..s..s..s..s..s",
      "local t = {} for i = 1, 1e8 do t[i] = { i } end",
    }) do
      local v, err = eval(src)
      assert.is_nil(v)
      assert.truthy(err.msg:find("too much memory") or err.msg:find("runs too long"), src .. ": " .. err.msg)
    end
    -- And lunshare can allocate again afterwards.
    assert.equal(1 << 24, #("x"):rep(1 << 24))
  end)

  it("does not let pcall catch the memory limit", function()
    local _, err = eval("local s = ('x'):rep(1 << 25)\nfor i = 1, 100 do pcall(function() return s .. s .. s end) end\nreturn {}")
    assert.equal("profile uses too much memory (more than 64 MiB)", err.msg)
  end)

  it("bounds the work of a pattern, which no hook can interrupt", function()
    local _, err = eval("local s = ('a'):rep(100000)\nreturn { s:find('.-.-.-b') }")
    assert.equal(2, err.line)
    assert.truthy(err.msg:find("too much work for a profile"), err.msg)
    _, err = eval("local s = ('a'):rep(100000)\nreturn { s:gsub('(.-)x', '%1') }")
    assert.truthy(err.msg:find("string.gsub"), err.msg)
    -- Ordinary patterns on ordinary strings work.
    assert.same({ "a", "b" }, eval("return { ('a=b'):match('^(.-)=(.*)$') }"))
  end)

  it("counts the worst case of a pattern: repetitions, %b, back-references, ?, and where it may start", function()
    local function reps(pat, anchor) return select(2, evaluator.pattern_steps(10, pat, anchor)) end
    assert.equal(0, reps("^abc", true))
    assert.equal(1, reps("abc", true))
    assert.equal(1, reps("^abc", false))
    assert.equal(2, reps("^(.-)=(.*)$", true))
    assert.equal(3, reps("^(.-)=(.*)$", false))
    assert.equal(0, reps("^%-%*[+-]", true))
    assert.equal(0, reps("^[%]*]", true))
    assert.equal(1, reps("^%b()", true))
    assert.equal(0, reps("^%f[%w]", true))
    assert.equal(2, reps("^(a*)%1", true))
    -- An optional item doubles the work, a repetition multiplies it by the subject's length.
    assert.equal(2 * evaluator.pattern_steps(10, "^a.b", true), evaluator.pattern_steps(10, "^a?b", true))
    assert.equal(11 * evaluator.pattern_steps(10, "^a.b", true), evaluator.pattern_steps(10, "^a*b", true))
    -- Each attempt may compare the whole pattern.
    assert.equal(11 * 11, evaluator.pattern_steps(10, ("a"):rep(10), false))
  end)

  it("counts back-references, which compare a whole capture at each attempt", function()
    local t0 = os.clock()
    local _, err = eval("local s = ('a'):rep(2000)\nreturn { s:find('(a*)%1b') }")
    assert.equal(2, err.line)
    assert.truthy(err.msg:find("too much work for a profile"), err.msg)
    assert.truthy(os.clock() - t0 < 1)
  end)

  it("charges pattern work across calls, so a loop of affordable calls still ends", function()
    local t0 = os.clock()
    local _, err = eval("local s = ('a'):rep(2000)\nfor i = 1, 1e6 do\n  s:find('^.-.-b')\nend\nreturn {}")
    assert.truthy(err.msg:find("steps of pattern matching"), err.msg)
    assert.equal(3, err.line)
    assert.truthy(os.clock() - t0 < 2, "took " .. (os.clock() - t0))
  end)

  it("refuses bytecode", function()
    local _, err = eval(string.dump(function() return {} end))
    assert.truthy(err.msg:find("not bytecode"))
  end)

  it("reports a syntax error with its line", function()
    local _, err = eval("return {\n  x = ,\n}")
    assert.equal(2, err.line)
    assert.truthy(err.msg:find("^syntax error: "))
  end)

  it("records the line each constructor call made its table on", function()
    local lines = {}
    local names = { mk = function(x) return { x = x } end }
    local v = evaluator.evaluate("local t = {}\nfor i = 1, 2 do\n  t[i] = mk(i)\nend\nreturn t", "t.lua", names, lines)
    assert.equal(3, lines[v[1]])
    assert.equal(3, lines[v[2]])
  end)

  it("points a constructor's error at the profile's line, whatever level it raised at", function()
    local names = {
      mk = function(x) if type(x) ~= "string" then error("mk: expected a path", 2) end return {} end,
      mk1 = function() error("mk1: bad") end,
    }
    local _, err = evaluator.evaluate("return {\n  mk(5),\n}", "t.lua", names)
    assert.equal(2, err.line)
    assert.equal("mk: expected a path", err.msg)
    _, err = evaluator.evaluate("return {\n\n  mk1(),\n}", "t.lua", names)
    assert.equal(3, err.line)
    assert.equal("mk1: bad", err.msg)
  end)

  it("calls constructors directly, so they see the profile as their caller", function()
    local names = { where = function() local i = debug.getinfo(2, "Sl") return { i.source, i.currentline } end }
    assert.same({ { "=t.lua", 2 } }, evaluator.evaluate("return {\n  where() }", "t.lua", names))
  end)

  it("keeps constructor lines right after a caught constructor error", function()
    local lines = {}
    local names = { mk = function(x) if not x then error("no") end return { x } end }
    local v = evaluator.evaluate("pcall(mk)\nlocal t = {}\nfor i = 1, 2 do\n  t[i] = mk(i)\nend\nreturn t", "t.lua", names, lines)
    assert.equal(4, lines[v[1]])
    assert.equal(4, lines[v[2]])
  end)
end)

describe("the allocator bound in lunshare.core #unit", function()
  local core = require "lunshare.core"
  it("refuses growth past the limit, reports it, and can be removed", function()
    assert.is_true(core.memory_limit(1 << 20))
    local ok = pcall(function() return ("x"):rep(4 << 20) end)
    assert.is_false(ok)
    assert.is_true(core.memory_exceeded())
    assert.is_true(core.memory_limit(nil))
    assert.is_false(core.memory_exceeded())
    assert.equal(4 << 20, #("x"):rep(4 << 20))
    assert.has_error(function() core.memory_limit(nil) end, "memory_limit: no limit is installed")
  end)

  it("nests: an allocation must fit every limit, and each is removed in turn", function()
    assert.is_true(core.memory_limit(8 << 20))
    assert.is_true(core.memory_limit(32 << 20))
    -- Within the inner limit but not the outer one.
    local ok = pcall(function() return ("x"):rep(16 << 20) end)
    assert.is_false(ok)
    assert.is_true(core.memory_exceeded())
    assert.is_false(core.memory_limit(nil))
    assert.is_true(core.memory_exceeded())
    assert.is_true(core.memory_limit(nil))
    assert.is_false(core.memory_exceeded())
    collectgarbage()
    assert.equal(16 << 20, #("x"):rep(16 << 20))
  end)
end)

describe("time bounds #unit", function()
  it("charges a library call for the work it does, so a few calls on big strings end", function()
    local t0 = os.clock()
    local _, err = eval("local s = ('x'):rep(1 << 24)\nfor i = 1, 1e6 do\n  local u = s:upper()\nend\nreturn {}")
    assert.equal("profile runs too long (more than 10000000 instructions): string.upper would go past it", err.msg)
    assert.equal(3, err.line)
    assert.truthy(os.clock() - t0 < 2, "took " .. (os.clock() - t0))
  end)

  it("stops instructions that each do a lot of C work by CPU time", function()
    -- A concatenation is one instruction, whatever it copies.
    local t0 = os.clock()
    local _, err = eval("local s = ('x'):rep(1 << 24)\nfor i = 1, 1e6 do\n  local u = s .. i\nend\nreturn {}")
    assert.equal("profile runs too long (more than " .. evaluator.CPU_LIMIT .. " s of CPU time)", err.msg)
    assert.truthy(err.line == 2 or err.line == 3, tostring(err.line))
    assert.truthy(os.clock() - t0 < evaluator.CPU_LIMIT + 1, "took " .. (os.clock() - t0))
  end)

  it("refuses C loops over nothing that no hook could interrupt", function()
    -- In a region: should a guard fail, the backstop ends the run instead of hanging it.
    local function bounded_eval(src) return select(2, evaluator.bounded("spec", eval, src)) end
    local t0 = os.clock()
    assert.equal("", bounded_eval("return ('').rep('', 1 << 50)"))
    assert.equal("", bounded_eval("return string.rep('', 1 << 50, '')"))
    local _, err = select(2, evaluator.bounded("spec", eval, "local t = {}\nlocal r = table.move(t, 1, 1 << 50, 1)\nreturn r"))
    assert.equal(2, err.line)
    assert.truthy(err.msg:find("runs too long .*table.move would go past it"), err.msg)
    assert.truthy(os.clock() - t0 < 2)
    assert.same({ 1, 2 }, eval("return table.move({ 1, 2 }, 1, 2, 1, {})"))
  end)
end)

describe("guards a profile cannot reach #unit", function()
  it("serve string methods from a table of their own, not the profile's string table", function()
    assert.same({ "A", 1 }, eval("string.upper = function() return 'changed' end\n" ..
      "string.find = function() return 99 end\nreturn { ('a'):upper(), (('a'):find('a')) }"))
  end)

  it("keep working when a profile replaces the string functions they would use", function()
    local t0 = os.clock()
    local _, err = eval("string.sub = function() return '' end\nstring.byte = function() end\n" ..
      "string.find = function() end\nlocal s = ('a'):rep(300)\nreturn { s:match('.-.-.-b') }")
    assert.equal(5, err.line)
    assert.truthy(err.msg:find("too much work for a profile"), err.msg)
    assert.truthy(os.clock() - t0 < 1, "took " .. (os.clock() - t0))
  end)

  it("keep lunshare's own checks run during the profile on the real functions", function()
    -- The params declarer checks names with string methods while the profile runs.
    local profile = require "lunshare.profile"
    local path = os.tmpname() .. ".lua"
    local f = assert(io.open(path, "w"))
    f:write("string.match = function() return 'x' end\nlocal p = params { ['no good!'] = { default = 1 } }\nreturn {}\n")
    f:close()
    local p, errs = profile.load(path)
    os.remove(path)
    assert.is_nil(p)
    assert.equal("a parameter name is a word of letters, digits and _", errs[1].msg)
  end)

  it("take any count string.rep takes: a float or a numeric string of nothing is nothing", function()
    -- In a region: should the guard fail, the backstop ends the run instead of hanging it.
    local function bounded_eval(src) return select(2, evaluator.bounded("spec", eval, src)) end
    local t0 = os.clock()
    assert.equal("", bounded_eval("return string.rep('', 2^62)"))
    assert.equal("", bounded_eval("return (''):rep(2^62, '')"))
    assert.equal("", bounded_eval("return string.rep('', '4611686018427387904')"))
    assert.truthy(os.clock() - t0 < 1)
    local _, err = eval("return string.rep('x', 2^62)")
    assert.equal("profile uses too much memory (more than 64 MiB)", err.msg)
    assert.equal("ababab", eval("return ('ab'):rep(3.0)"))
    _, err = eval("return ('ab'):rep(2.5)")
    assert.truthy(err.msg:find("number has no integer representation"), err.msg)
  end)

  it("refuse a source over 1 MiB before reading it", function()
    local _, err = eval("return {}" .. (" "):rep(evaluator.SOURCE_LIMIT))
    assert.equal("a profile is at most 1048576 bytes (1 MiB); this one is " .. (evaluator.SOURCE_LIMIT + 9), err.msg)
  end)
end)

describe("the shape of a profile's data #unit", function()
  local function why(v)
    local ok, keys, msg = evaluator.check_data(v)
    if ok then return nil end
    return evaluator.path_text(keys) .. ": " .. msg
  end

  it("is plain data: no functions, no metatables, no tables as keys", function()
    assert.is_nil(why({ a = { 1, "x", true, 2.5 }, [3] = false }))
    assert.equal("a.f: expected plain data, got a function", why({ a = { f = print } }))
    assert.equal("m: expected plain data, got a table with a metatable", why({ m = setmetatable({}, {}) }))
    assert.equal("k: expected plain data, got a key that is a table", why({ k = { [{}] = 1 } }))
  end)

  it("nests at most DATA_DEPTH deep, and a table that holds itself does not end", function()
    local t = {}
    t.self = t
    assert.truthy(why({ t = t }):find("nest deeper than 16 levels"))
    local chain = {}
    for _ = 1, evaluator.DATA_DEPTH - 1 do chain = { chain } end
    assert.is_nil(why(chain))
    assert.truthy(why({ chain }):find("nest deeper"))
  end)

  it("holds at most DATA_ENTRIES entries, counting a shared table each time it is reached", function()
    local dag = { "leaf" }
    for _ = 1, 14 do dag = { dag, dag } end
    local big = {}
    for i = 1, 1e6 do big[i] = i end
    local t0 = os.clock()
    assert.truthy(why({ dag = dag }):find("at most 10000 entries"))
    assert.equal("big: a profile holds at most 10000 entries in all its tables", why({ big = big }))
    assert.truthy(os.clock() - t0 < 0.5, "took " .. (os.clock() - t0))
  end)

  it("names the same entry on every run", function()
    assert.equal("a: expected plain data, got a function", why({ b = print, a = print, c = print }))
  end)

  -- One spelling of a field path: the shape check's errors name an entry as the schema's
  -- (util.sub_path) do, whatever its key, so that two messages about one entry agree.
  it("names an entry as the schema does, whatever its key", function()
    local util = require "lunshare.util"
    local keys = { "mounts", 3, "a b", "x\ny", true, 2.5, "_ok", "9lives" }
    for i = 1, #keys do
      local path = ""
      for j = 1, i do path = util.sub_path(path, keys[j]) end
      assert.equal(path, evaluator.path_text({ table.unpack(keys, 1, i) }))
    end
    assert.equal('mounts[3]["a b"]', evaluator.path_text({ "mounts", 3, "a b" }))
    assert.equal('env.set["a b"]: expected plain data, got a function',
      why({ env = { set = { ["a b"] = print } } }))
    assert.equal("[2]", evaluator.path_text({ 2 }))
  end)
end)

describe("bounded regions #unit", function()
  it("stop trusted work on profile data that runs too long, even if it catches the error", function()
    local t0 = os.clock()
    -- Finite, so that without a region this returns (after seconds) and fails.
    local ok, msg = evaluator.bounded("x", function()
      pcall(function() for _ = 1, 2e9 do end end)
      for _ = 1, 2e9 do end
    end)
    assert.is_nil(ok)
    assert.equal("profile work takes too long (more than " .. evaluator.CPU_LIMIT .. " s of CPU time)", msg)
    assert.truthy(os.clock() - t0 < evaluator.CPU_LIMIT + 1)
    -- Nothing is left watching the code that runs after.
    assert.is_nil(debug.gethook())
    local n = 0
    for i = 1, 1e7 do n = n + i end
    assert.equal(5e13 + 5e6, n)
  end)

  it("give lunshare's own state back when their limit comes while a profile runs", function()
    -- A loop of concatenations: only CPU time stops it, the region's and the profile's at
    -- about the same moment.
    -- Each refused allocation is answered by a full collection of this whole process:
    -- the earlier specs' garbage is collected first, or those collections alone (inside
    -- one concatenation, which no hook interrupts) can outlast the hard limit.
    collectgarbage()
    for _ = 1, 3 do
      evaluator.bounded("x", eval, "local s = ('x'):rep(1 << 24)\nfor i = 1, 1e9 do local _ = s .. i end")
      assert.equal(string, getmetatable("").__index)
      assert.is_true(collectgarbage("isrunning"))
      assert.has_error(function() require("lunshare.core").memory_limit(nil) end, "memory_limit: no limit is installed")
      assert.equal("ab", (("a"):gsub("a", "ab")))
    end
  end)

  it("stop trusted work that uses too much memory, and free it again", function()
    -- Where page faults are dear (a VM), 128 MiB can cost a second of CPU: the time
    -- limits are raised here so that the memory bound is the one this case meets.
    local cpu, hard = evaluator.CPU_LIMIT, evaluator.HARD_CPU_LIMIT
    evaluator.CPU_LIMIT, evaluator.HARD_CPU_LIMIT = 20, 40
    local ok, msg = evaluator.bounded("x", function()
      local t = {}
      for i = 1, 300 do t[i] = ("x"):rep(1 << 20) .. i end
    end)
    evaluator.CPU_LIMIT, evaluator.HARD_CPU_LIMIT = cpu, hard
    assert.is_nil(ok)
    assert.equal("profile work uses too much memory (more than 128 MiB)", msg)
    collectgarbage()
    assert.equal(1 << 24, #("x"):rep(1 << 24))
  end)

  it("pass results and errors through, and nest into the region already running", function()
    assert.same({ true, 1, 2 }, { evaluator.bounded("x", function() return 1, 2 end) })
    assert.same(table.pack(true, nil, 3), table.pack(evaluator.bounded("x", function() return nil, 3 end)))
    assert.has_error(function() evaluator.bounded("x", function() error({ code = 7 }) end) end)
    assert.same({ true, true, 3 }, { evaluator.bounded("x", function() return evaluator.bounded("y", function() return 3 end) end) })
  end)

  it("share one instruction budget among the profiles evaluated inside", function()
    local busy = "local n = 0 for i = 1, 2e6 do n = n + i end return { n }"
    assert.is_table(eval(busy))
    assert.is_table(eval(busy))
    local ok, r1, r2 = evaluator.bounded("x", function()
      local a = { eval(busy) }
      local b = { eval(busy) }
      return a, b
    end)
    assert.is_true(ok)
    assert.is_table(r1[1])
    assert.is_nil(r2[1])
    assert.truthy(r2[2].msg:find("runs too long"), r2[2].msg)
  end)

  it("hold the plan of require 'lunshare' as they hold explain", function()
    local lunshare = require "lunshare"
    local real = lunshare.planner
    -- A planner that works for seconds (finite, so that without a region this fails).
    lunshare.planner = { context = real.context, build = function() for _ = 1, 2e9 do end return {} end }
    local ok, plan, err = pcall(lunshare.plan, { _file = "p.lua" })
    lunshare.planner = real
    assert.is_true(ok)
    assert.is_nil(plan)
    assert.equal("p.lua: profile work takes too long (more than " .. evaluator.CPU_LIMIT .. " s of CPU time)", err)
  end)

  it("end the process with one line past the hard CPU limit, in a C call no hook reaches", function()
    local cmd = H.lua_env() .. " lua5.4 -e " ..
      "\"local core = require 'lunshare.core'; core.cpu_bounded(0.3, 'lunshare: stopped', 0, '', string.rep, '', 1 << 62)\" " ..
      "2>&1; echo \"status $?\""
    local t0 = os.time()
    local out = H.sh(cmd, { timeout = 10 }).out
    assert.equal("lunshare: stopped\nstatus 2\n", out)
    assert.truthy(os.time() - t0 < 5)
  end)
end)

-- What install showed is what run grants only if evaluating a profile gives the same
-- result in every process: no heap address, no hash order (#13's review, F1).
describe("evaluator: the same result in every process #unit", function()
  it("prints no address for a table, a function or a coroutine", function()
    local v = eval("return { a = tostring({}), b = tostring(tostring), c = tostring(1.5), d = tostring(nil), " ..
      "e = tostring('x'), f = string.format('%s|%9s', {}, ipairs) }")
    assert.same({ a = "table", b = "function", c = "1.5", d = "nil", e = "x", f = "table| function" }, v)
  end)

  it("refuses string.format's %p, through the library and as a method", function()
    for _, src in ipairs({ "return { d = string.format('%p', {}) }", "return { d = ('%p'):format({}) }",
      "return { d = string.format('%%d%p', {}) }" }) do
      local v, err = eval(src)
      assert.is_nil(v, src)
      assert.truthy(err.msg:find("'%p' is not available in a profile", 1, true), err.msg)
      assert.equal(1, err.line)
    end
    assert.same({ d = "%p 3" }, eval("return { d = string.format('%%p %d', 3) }"))
  end)

  it("walks pairs and next in a fixed order: booleans, numbers, then strings byte-wise", function()
    local v = eval([[
      local t = { zeta = 1, alpha = 2, Beta = 3, [10] = 4, [2] = 5, [-1.5] = 6, [true] = 7, [false] = 8, mid = 9 }
      local ks = {}
      for k in pairs(t) do ks[#ks + 1] = tostring(k) end
      local ns, k = {}, nil
      repeat k = next(t, k); if k ~= nil then ns[#ns + 1] = tostring(k) end until k == nil
      return { p = table.concat(ks, ","), n = table.concat(ns, ",") }]])
    assert.equal("false,true,-1.5,2,10,Beta,alpha,mid,zeta", v.p)
    assert.equal(v.p, v.n)
  end)

  it("lets a pairs loop clear the fields it walks, and refuses a key that is not there", function()
    local v = eval([[
      local t = { a = 1, b = 2, c = 3 }
      local seen = {}
      for k in pairs(t) do seen[#seen + 1] = k; t[k] = nil end
      return { s = table.concat(seen, ","), left = next(t) == nil }]])
    assert.same({ s = "a,b,c", left = true }, v)
    local bad, err = eval("local x = next({ a = 1 }, 'zz')\nreturn {}")
    assert.is_nil(bad)
    assert.truthy(err.msg:find("invalid key to 'next'", 1, true), err.msg)
  end)

  it("gives the same text in two interpreters with different string hash seeds", function()
    -- Each `lua5.4` process seeds its string hashes anew (and its heap moves under ASLR).
    local src = "local t = {} for i = 1, 40 do t['k' .. i] = i end local o = {} " ..
      "for k in pairs(t) do o[#o + 1] = k end return { d = table.concat(o, ',') .. tostring({}) }"
    local script = H.file("local e = require 'lunshare.evaluator'; io.write(e.evaluate(" ..
      string.format("%q", src) .. ", 't.lua', {}).d)", ".lua")
    local outs = {}
    for i = 1, 4 do
      local r = H.sh("LUA_PATH=" .. H.quote(package.path) .. " LUA_CPATH=" .. H.quote(package.cpath) ..
        " lua5.4 " .. H.quote(script), { cwd = H.root })
      assert.equal(0, r.code, r.err)
      outs[i] = r.out
    end
    os.remove(script)
    assert.truthy(outs[1]:find("table$"), outs[1])
    for i = 2, 4 do assert.equal(outs[1], outs[i]) end
  end)
end)
