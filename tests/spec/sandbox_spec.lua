-- Safe evaluation of profile source: what a profile can reach and the limits it cannot
-- escape. #unit
local sandbox = require "lunshare.sandbox"

local function eval(src)
  return sandbox.evaluate(src, "t.lua", {})
end

describe("sandbox #unit", function()
  it("evaluates plain data and pure helpers", function()
    local v = eval("return { n = math.max(1, 2), s = ('a'):upper(), t = table.concat({ 'x', 'y' }, ','), " ..
      "u = utf8.char(72), f = string.format('%d', 3) }")
    assert.same({ n = 2, s = "A", t = "x,y", u = "H", f = "3" }, v)
  end)

  for name in pairs(sandbox.FORBIDDEN) do
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

  it("counts repetitions in patterns", function()
    assert.equal(0, sandbox.repetitions("abc"))
    assert.equal(2, sandbox.repetitions("^(.-)=(.*)$"))
    assert.equal(0, sandbox.repetitions("%-%*[+-]"))
    assert.equal(1, sandbox.repetitions("%b()"))
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
    local v = sandbox.evaluate("local t = {}\nfor i = 1, 2 do\n  t[i] = mk(i)\nend\nreturn t", "t.lua", names, lines)
    assert.equal(3, lines[v[1]])
    assert.equal(3, lines[v[2]])
  end)

  it("points a constructor's error at the profile's line, whatever level it raised at", function()
    local names = {
      mk = function(x) if type(x) ~= "string" then error("mk: expected a path", 2) end return {} end,
      mk1 = function() error("mk1: bad") end,
    }
    local _, err = sandbox.evaluate("return {\n  mk(5),\n}", "t.lua", names)
    assert.equal(2, err.line)
    assert.equal("mk: expected a path", err.msg)
    _, err = sandbox.evaluate("return {\n\n  mk1(),\n}", "t.lua", names)
    assert.equal(3, err.line)
    assert.equal("mk1: bad", err.msg)
  end)

  it("calls constructors directly, so they see the profile as their caller", function()
    local names = { where = function() local i = debug.getinfo(2, "Sl") return { i.source, i.currentline } end }
    assert.same({ { "=t.lua", 2 } }, sandbox.evaluate("return {\n  where() }", "t.lua", names))
  end)

  it("keeps constructor lines right after a caught constructor error", function()
    local lines = {}
    local names = { mk = function(x) if not x then error("no") end return { x } end }
    local v = sandbox.evaluate("pcall(mk)\nlocal t = {}\nfor i = 1, 2 do\n  t[i] = mk(i)\nend\nreturn t", "t.lua", names, lines)
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
  it("stops a few instructions that each do a lot of C work, by CPU time", function()
    local t0 = os.clock()
    local _, err = eval("local s = ('x'):rep(1 << 23)\nfor i = 1, 1e6 do\n  local u = s:upper()\nend\nreturn {}")
    assert.equal("profile runs too long (more than 5 s of CPU time)", err.msg)
    assert.truthy(err.line == 2 or err.line == 3, tostring(err.line))
    assert.truthy(os.clock() - t0 < 10, "took " .. (os.clock() - t0))
  end)

  it("refuses C loops over nothing that no hook could interrupt", function()
    local t0 = os.clock()
    assert.equal("", eval("return ('').rep('', 1 << 50)"))
    assert.equal("", eval("return string.rep('', 1 << 50, '')"))
    local _, err = eval("local t = {}\nlocal r = table.move(t, 1, 1 << 50, 1)\nreturn r")
    assert.equal(2, err.line)
    assert.truthy(err.msg:find("table.move: .* too many for a profile"), err.msg)
    assert.truthy(os.clock() - t0 < 2)
    assert.same({ 1, 2 }, eval("return table.move({ 1, 2 }, 1, 2, 1, {})"))
  end)
end)
