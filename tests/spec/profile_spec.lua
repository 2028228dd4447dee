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

-- A file named by path through extends, outside the directory of the profile being
-- checked, may be anybody's (the caller's ~/.bashrc, a secret.lua in a 0700 directory):
-- what an error says of it is its name, its line and lunshare's own words, never a token
-- or a value of it. The profile named on the command line, and the files beside it (they
-- came with it), keep Lua's whole message.
describe("errors about a file named through extends #unit", function()
  local tmpdir = require "tmpdir"
  local function lines(name)
    local p, errs = profile.load(name)
    assert.is_nil(p)
    local out = {}
    for i, e in ipairs(errs) do out[i] = schema.format_error(e) end
    return out
  end
  -- The profiles in a directory of their own, naming files of another by absolute path.
  local function naming(files, targets)
    local other = tmpdir(files)
    local mine = {}
    for name, target in pairs(targets) do mine[name] = 'return { extends = "' .. other .. "/" .. target .. '" }\n' end
    return tmpdir(mine), other
  end

  it("a syntax error says not a lunshare profile, with the line and no word of Lua's message", function()
    local dir, other = naming({
      ["bad.lua"] = "return {\n  hostname = x lshtokenword\n}\n",
      ["shadow"] = "root:$y$j9T$lshsecret:19000:0:99999:7:::\n",
      ["rt.lua"] = "return { x = lshglobalname.y }\n",
    }, { ["p.lua"] = "bad.lua", ["q.lua"] = "shadow", ["r.lua"] = "rt.lua" })
    assert.same({ other .. "/bad.lua: not a lunshare profile (syntax error at line 2)" }, lines(dir .. "/p.lua"))
    assert.same({ other .. "/shadow: not a lunshare profile (syntax error at line 1)" }, lines(dir .. "/q.lua"))
    assert.same({ other .. "/rt.lua: not a lunshare profile (evaluating it failed at line 1)" }, lines(dir .. "/r.lua"))
    -- The file itself, on the command line, says everything.
    local own = lines(other .. "/bad.lua")
    assert.equal(1, #own)
    assert.truthy(own[1]:find("near 'lshtokenword'", 1, true), own[1])
  end)

  it("a misspelt constructor of a named file says so without its name", function()
    local dir, other = naming({ ["base.lua"] = "return {\n  mounts = { ro_bnd '/lshvalue' },\n}\n" },
      { ["p.lua"] = "base.lua" })
    assert.same({ other .. "/base.lua: not a lunshare profile (evaluating it failed at line 2)" }, lines(dir .. "/p.lua"))
  end)

  it("field errors keep a top-level field's name and the line, never a value or a key of the file's own", function()
    local dir, other = naming({
      ["c2.lua"] = 'return {\n  ghp_lshtokenkey = "lshhunter2",\n  hostname = "lsh \\"quoted\\" secret",\n' ..
        '  env = { set = { A = 12345 } },\n  limits = { lshkeytwo = 1 },\n}\n',
    }, { ["p.lua"] = "c2.lua" })
    local out = lines(dir .. "/p.lua")
    local all = table.concat(out, "\n")
    assert.falsy(all:find("lshhunter2", 1, true) or all:find("secret", 1, true) or all:find("quoted", 1, true) or
      all:find("12345", 1, true) or all:find("lshtokenkey", 1, true) or all:find("lshkeytwo", 1, true), all)
    assert.truthy(all:find(other .. "/c2.lua:2: …: ", 1, true), all)
    assert.truthy(all:find(other .. "/c2.lua:5: limits.…: ", 1, true), all)
    assert.truthy(all:find(other .. "/c2.lua:3: hostname: " .. profile.NAMED_HIDDEN, 1, true), all)
    -- The same file on the command line names the value and the key (it is the caller's to fix).
    local own = table.concat(lines(other .. "/c2.lua"), "\n")
    assert.truthy(own:find('lsh "quoted" secret', 1, true), own)
    assert.truthy(own:find("ghp_lshtokenkey: unknown field", 1, true), own)
  end)

  it("a file beside the profile, in its own tree, keeps every message", function()
    local dir = tmpdir({
      ["p.lua"] = 'return { extends = "./sub/base.lua" }\n',
    })
    assert.equal(0, require("helpers").sh("mkdir " .. dir .. "/sub").code)
    local f = assert(io.open(dir .. "/sub/base.lua", "w"))
    f:write("return {\n  hostname = 'a b',\n  x = y lshtokenword\n}\n")
    f:close()
    local out = lines(dir .. "/p.lua")
    assert.equal(1, #out)
    assert.truthy(out[1]:find(dir .. "/sub/base.lua:3: syntax error: '}' expected (to close '{' at line 1) near 'lshtokenword'", 1, true), out[1])
  end)

  it("an error about the next file of the chain still says what went wrong", function()
    local dir, other = naming({ ["base.lua"] = 'return { extends = "./gone.lua" }\n' }, { ["p.lua"] = "base.lua" })
    assert.same({ other .. "/base.lua:1: extends: cannot read profile " .. other .. "/gone.lua: No such file or directory" },
      lines(dir .. "/p.lua"))
  end)
end)
