-- Loading profiles: safe evaluation and schema errors. #unit
local profile = require "lunshare.profile"
local schema = require "lunshare.schema"

local errors_of = require "profile_errors"

describe("profile loading #unit", function()
  it("evaluates a plain table", function()
    local v = profile.evaluate("return { hostname = 'x' }", "t.lua")
    assert.same({ hostname = "x" }, v)
  end)

  for _, name in ipairs({ "io", "os", "require", "load", "dofile", "debug", "collectgarbage",
    "setmetatable", "getmetatable", "loadfile", "_G", "rawset", "print" }) do
    it("has no " .. name, function()
      local v = profile.evaluate("return " .. name, "t.lua")
      assert.is_nil(v)
    end)
  end

  it("cannot change the libraries lunshare itself uses", function()
    profile.evaluate("string.format = nil; table.concat = nil; return {}", "t.lua")
    assert.is_function(string.format)
    assert.is_function(table.concat)
  end)

  it("stops an endless loop", function()
    local v, err = profile.evaluate("while true do end", "t.lua")
    assert.is_nil(v)
    assert.truthy(err:find("runs too long"))
  end)

  it("stops a memory bomb made with string.rep", function()
    local v, err = profile.evaluate("return ('x'):rep(1 << 30)", "t.lua")
    assert.is_nil(v)
    assert.truthy(err:find("too much memory"))
    assert.equal("aa", ("a"):rep(2))
  end)

  it("stops a memory bomb made step by step", function()
    local v, err = profile.evaluate("local t = {} for i = 1, 1e8 do t[i] = {i} end return t", "t.lua")
    assert.is_nil(v)
    assert.truthy(err:find("too much memory") or err:find("runs too long"))
  end)
end)

describe("profile schema #unit", function()
  it("accepts the shipped default", function()
    local f = assert(io.open((os.getenv("LUNSHARE_ROOT") or ".") .. "/profiles/default.lua"))
    local src = f:read("a")
    f:close()
    assert.same({}, errors_of(src))
  end)

  it("names file, line, field and the nearest valid name for an unknown namespace", function()
    local errs = errors_of("return {\n  namespaces = { 'user', 'nett' },\n}")
    assert.same({ "t.lua:2: namespaces[2]: unknown namespace 'nett' (did you mean 'net'?); " ..
      "expected one of user, mount, pid, net, ipc, uts, cgroup, time" }, errs)
  end)

  it("suggests a field for a misspelt one", function()
    local errs = errors_of("return {\n  hostnme = 'x' }")
    assert.equal(1, #errs)
    assert.truthy(errs[1]:find("^t.lua:2: hostnme: unknown field %(did you mean 'hostname'%?%)"))
  end)

  it("reports every error at once", function()
    local errs = errors_of("return { hostname = 5, cwd = 'rel', command = {} }")
    assert.equal(3, #errs)
  end)

  it("needs the uts namespace for a hostname", function()
    local errs = errors_of("return { hostname = 'h' }")
    assert.truthy(errs[1]:find("needs the uts namespace"))
  end)

  it("rejects a profile that is not a table", function()
    assert.same({ "t.lua: a profile must return a table, got string" }, errors_of("return 'x'"))
  end)
end)

describe("values run would refuse #unit", function()
  local errors_of2 = require "profile_errors"
  it("are caught by check: id ranges past 32 bits, NUL bytes, a bad host name", function()
    local errs = errors_of2([[return { namespaces = { "user", "uts" }, hostname = "bad name!",
      user = { map = { { 0, 1000, 4294967295 } } }, cwd = "/tmp\0junk",
      command = { "sh", "a\0b" }, env = { set = { X = "1\0" } } }]])
    local all = table.concat(errs, "\n")
    assert.truthy(all:find("user.map%[1%]: the range {0, 1000, 4294967295} goes past id 4294967294"), all)
    assert.truthy(all:find("cwd: a path cannot hold a NUL byte"), all)
    assert.truthy(all:find("command%[2%]: a NUL byte cannot pass exec"), all)
    assert.truthy(all:find("env.set.X: a NUL byte cannot pass exec"), all)
    assert.truthy(all:find("hostname: expected a host name .*, got 'bad name!'"), all)
  end)
end)
