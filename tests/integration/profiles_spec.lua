-- The profile language through the real binary: the corpus of bad profiles and their
-- exact messages, check/explain/diff, extends on the profile path, parameters, and the
-- proof that loading never touches the system. #integration
local H = require "helpers"

local corpus = dofile(H.root .. "/tests/profiles/bad.lua")

-- Writes files into a fresh directory readable by nobody too; returns the directory.
local function tree(files)
  local dir = H.tmpdir()
  for name, src in pairs(files) do
    local path = dir .. "/" .. name
    local sub = path:match("^(.*)/[^/]*$")
    H.sh("mkdir -p " .. H.quote(sub) .. " && chmod 755 " .. H.quote(sub))
    local f = assert(io.open(path, "w"))
    f:write(src)
    f:close()
    H.sh("chmod 644 " .. H.quote(path))
  end
  return dir
end

local rmtree = H.rm


for _, mode in ipairs(H.modes) do
  describe("profile corpus (" .. mode .. ")", function()
    for _, case in ipairs(corpus) do
      it(case.name, function()
        local dir = tree(case.files)
        local args = { "check" }
        for _, s in ipairs(case.set or {}) do
          args[#args + 1] = "--set"
          args[#args + 1] = s
        end
        args[#args + 1] = "main.lua"
        local r = H.lunshare(args, { mode = mode, cwd = dir })
        rmtree(dir)
        assert.equal(case.expect .. "\n", r.err)
        assert.equal("", r.out)
        assert.equal(2, r.code)
      end)
    end
  end)
end

describe("lunshare check", function()
  it("prints ok for every shipped profile and exits 0", function()
    local names = H.shipped_profiles()
    assert.truthy(#names >= 1)
    local args = { "check" }
    for _, n in ipairs(names) do args[#args + 1] = n end
    local r = H.lunshare(args)
    assert.equal(0, r.code, r.err)
    for _, n in ipairs(names) do assert.truthy(r.out:find(n .. ": ok\n", 1, true), r.out) end
  end)

  it("reports good and bad profiles in one run and exits 2", function()
    local dir = tree({ ["good.lua"] = "return {}\n", ["bad.lua"] = "return {\n  cwd = 'x',\n}\n" })
    local r = H.lunshare({ "check", "good.lua", "bad.lua" }, { cwd = dir })
    rmtree(dir)
    assert.equal(2, r.code)
    assert.equal("good.lua: ok\n", r.out)
    assert.equal("bad.lua:2: cwd: expected an absolute path, got 'x'\n", (r.err:gsub("[^\n]*: warning: [^\n]*\n", "")))
  end)

  it("never writes, executes, connects or forks while loading a hostile profile", function()
    -- (A file the profile managed to make goes with the suite's.)
    local pwned = H.tmp .. "/lsh-pwned"
    local src = [[
local tries = {
  function() return io.open("]] .. pwned .. [[", "w") end,
  function() return os.execute("touch ]] .. pwned .. [[") end,
  function() return require("socket") end,
  function() return load("return 1")() end,
  function() return dofile("/etc/passwd") end,
  function() return loadfile("/etc/passwd") end,
  function() return debug.getregistry() end,
  function() return getmetatable("").__index end,
  function() return collectgarbage("count") end,
  function() return coroutine.create(print) end,
  function() return _G end,
  function() return package.loadlib end,
  function() return ("").dump(print) end,
}
local refused = 0
for _, f in ipairs(tries) do
  local ok = pcall(f)
  if not ok then refused = refused + 1 end
end
return { description = "refused " .. refused }
]]
    local dir = tree({ ["hostile.lua"] = src })
    local trace = dir .. "/trace"
    local r = H.sh("strace -f -qq -o " .. H.quote(trace) ..
      " -e trace=open,openat,creat,mkdir,unlink,unlinkat,rename,renameat,execve,socket,connect,clone,clone3,fork,vfork " ..
      H.quote(H.bin) .. " explain hostile.lua --json", { cwd = dir })
    local f = assert(io.open(trace))
    local calls = f:read("a")
    f:close()
    rmtree(dir)
    assert.equal(0, r.code, r.err)
    assert.truthy(r.out:find('"profile": "hostile.lua"', 1, true))
    local execs = 0
    for line in calls:gmatch("[^\n]+") do
      if line:find("execve%(") then execs = execs + 1 end
      assert.is_nil(line:find("O_WRONLY") or line:find("O_RDWR") or line:find("O_CREAT"), line)
      assert.is_nil(line:find("socket%(") or line:find("connect%(") or line:find("clone") or
        line:find("fork") or line:find("mkdir") or line:find("unlink") or line:find("rename"), line)
      assert.is_nil(line:find("lsh-pwned"), line)
    end
    assert.equal(1, execs, calls)
    -- And the profile saw every attempt refused.
    local r2 = H.lunshare({ "explain", "--json", H.profile(src) })
    assert.equal(0, r2.code, r2.err)
  end)

  it("prints warnings on stderr as file:line: path: warning: and still says ok", function()
    local dir = tree({ ["p.lua"] = "return {\n  description = 'x',\n}\n" })
    local r = H.lunshare({ "check", "p.lua" }, { cwd = dir })
    rmtree(dir)
    assert.equal(0, r.code)
    assert.equal("p.lua: ok\n", r.out)
    for line in r.err:gmatch("[^\n]+") do
      assert.truthy(line:match("^p%.lua:%d+: [%w_%.%[%]]+: warning: "), line)
    end
  end)
end)

describe("extends", function()
  it("finds a parent on $LUNSHARE_PROFILE_PATH and keeps the parent's lines in explain", function()
    local dir = tree({
      ["path/base.lua"] = "return {\n  namespaces = { 'user', 'uts', 'net' },\n\n  hostname = 'basebox',\n}\n",
      ["child.lua"] = "return {\n  extends = 'base',\n  namespaces = { '-net', '+pid' },\n}\n",
    })
    local r = H.lunshare({ "explain", "child.lua" },
      { cwd = dir, env = "LUNSHARE_PROFILE_PATH=" .. H.quote(dir .. "/path") })
    rmtree(dir)
    assert.equal(0, r.code, r.err)
    assert.truthy(r.out:find("hostname basebox\n       # " .. dir .. "/path/base.lua:4", 1, true), r.out)
    assert.truthy(r.out:find("unshare --user --pid --uts --fork\n       # child.lua:3", 1, true), r.out)
  end)

  it("finds a parent in $XDG_CONFIG_HOME/lunshare/profiles", function()
    local dir = tree({ ["xdg/lunshare/profiles/mine.lua"] = "return { description = 'mine' }\n",
      ["c.lua"] = "return { extends = 'mine' }\n" })
    local r = H.lunshare({ "check", "c.lua" }, { cwd = dir, env = "XDG_CONFIG_HOME=" .. H.quote(dir .. "/xdg") })
    local r2 = H.lunshare({ "check", "c.lua" }, { cwd = dir, env = "XDG_CONFIG_HOME=/nonexistent" })
    rmtree(dir)
    assert.equal(0, r.code, r.err)
    assert.equal(2, r2.code)
    assert.truthy(r2.err:find("c.lua:1: extends: no profile named 'mine'", 1, true), r2.err)
  end)

  it("extends a shipped profile by name", function()
    local dir = tree({ ["c.lua"] = "return {\n  extends = 'default',\n  hostname = 'kid',\n}\n" })
    local r = H.lunshare({ "run", "c.lua", "--", "hostname" }, { cwd = dir })
    rmtree(dir)
    assert.equal(0, r.code, r.err)
    assert.equal("kid\n", r.out)
  end)

  it("removes an inherited list entry with without", function()
    local dir = tree({
      ["base.lua"] = "return { env = { clear = true, keep = { 'TERM', 'LANG' } } }\n",
      ["c.lua"] = "return { extends = './base.lua', env = { keep = { without 'LANG', 'HOME' } } }\n",
    })
    local r = H.lunshare({ "explain", "--json", "c.lua" }, { cwd = dir, env = "LANG=C TERM=dumb HOME=/h" })
    rmtree(dir)
    assert.equal(0, r.code, r.err)
    assert.truthy(r.out:find('"TERM=dumb"', 1, true), r.out)
    assert.truthy(r.out:find('"HOME=/h"', 1, true), r.out)
    assert.is_nil(r.out:find('"LANG=C"', 1, true), r.out)
  end)
end)

describe("parameters", function()
  local src = [[
local param = params {
  name = { values = { "alpha", "beta" }, default = "alpha", description = "the host name" },
}
return {
  extends = "default",
  hostname = param.name,
}
]]
  for _, mode in ipairs(H.modes) do
    it("reach the profile through --set in run (" .. mode .. ")", function()
      local p = H.profile(src)
      local r = H.lunshare({ "run", p, "--set", "name=beta", "--", "hostname" }, { mode = mode })
      local r2 = H.lunshare({ "run", p, "--", "hostname" }, { mode = mode })
      assert.equal(0, r.code, r.err)
      assert.equal("beta\n", r.out)
      assert.equal("alpha\n", r2.out)
    end)
  end

  it("reach check and explain too", function()
    local p = H.profile(src)
    assert.equal(0, H.lunshare({ "check", "--set", "name=beta", p }).code)
    local r = H.lunshare({ "explain", p, "--set=name=beta" })
    assert.equal(0, r.code, r.err)
    assert.truthy(r.out:find("hostname beta", 1, true))
    assert.truthy(r.out:find("\n  parameters: name=beta\n", 1, true), r.out)
    local bad = H.lunshare({ "explain", p, "--set", "name=gamma" })
    assert.equal(2, bad.code)
    assert.truthy(bad.err:find("params.name: --set name=gamma: expected one of alpha, beta", 1, true), bad.err)
  end)

  it("reject a malformed --set", function()
    local r = H.lunshare({ "check", "--set", "novalue", "default" })
    assert.equal(2, r.code)
    assert.equal("lunshare: check: --set needs KEY=VALUE, got 'novalue' (see 'lunshare check --help')\n", r.err)
  end)
end)

describe("explain", function()
  it("is readable for every shipped profile: each step says who, what and where from", function()
    for _, name in ipairs(H.shipped_profiles()) do
      local r = H.lunshare({ "explain", name })
      assert.equal(0, r.code, r.err)
      local steps = 0
      for line in r.out:gmatch("[^\n]+") do
        local who = line:match("^%s+%d+%s+(%S+)")
        if who then
          steps = steps + 1
          assert.truthy(who == "supervisor" or who == "child" or who == "pid1", line)
        end
      end
      assert.truthy(steps >= 2, r.out)
      assert.truthy(r.out:find("# profiles/" .. name:gsub("%p", "%%%0") .. "%.lua:%d+"), r.out)
    end
  end)

  for _, mode in ipairs(H.modes) do
    it("--json is exactly the plan run hands to the executor (" .. mode .. ")", function()
      local p = H.profile([[
local param = params { host = { default = "h1" } }
return { extends = "default", hostname = param.host, cwd = "/", command = { "true" } }
]])
      local dump = H.file("", "")
      H.sh("chmod 666 " .. H.quote(dump))
      local env = "LANG=C TERM=dumb"
      local e = H.lunshare({ "explain", "--json", "--set", "host=h2", p }, { mode = mode, env = env })
      local r = H.lunshare({ "run", p, "--set", "host=h2" },
        { mode = mode, env = env .. " LUNSHARE_DUMP_PLAN=" .. dump })
      local f = assert(io.open(dump))
      local spawned = f:read("a")
      f:close()
      os.remove(dump)
      assert.equal(0, e.code, e.err)
      assert.equal(0, r.code, r.err)
      assert.truthy(spawned:find('"name": "h2"', 1, true), spawned)
      assert.equal(e.out, spawned)
    end)
  end
end)

describe("lunshare diff", function()
  it("exits 0 when two profiles grant the same", function()
    local a = H.profile("return { namespaces = { 'user', 'net' } }\n")
    local b = H.profile("-- same, other order\nreturn { namespaces = { 'net', 'user' } }\n")
    local r = H.lunshare({ "diff", a, b })
    assert.equal(0, r.code, r.err)
    assert.truthy(r.out:find("they grant the same", 1, true))
  end)

  it("exits 1 and lists what changed when they differ", function()
    local a = H.profile("return { namespaces = { 'user', 'net' }, env = { keep = { 'TERM' } } }\n")
    local b = H.profile("return { namespaces = { 'user' }, env = { clear = false } }\n")
    local r = H.lunshare({ "diff", a, b })
    assert.equal(1, r.code, r.err)
    assert.truthy(r.out:find("namespaces shared with the host:\n    mount\n    pid\n    ipc\n    uts\n    cgroup\n" ..
      "    time\n  + net\n", 1, true), r.out)
    assert.truthy(r.out:find("  - kept from the caller: TERM\n  + the caller's whole environment", 1, true), r.out)
  end)

  it("exits 2 on a bad profile", function()
    local a = H.profile("return { cwd = 'x' }\n")
    assert.equal(2, H.lunshare({ "diff", a, "default" }).code)
    assert.equal(2, H.lunshare({ "diff", "default" }).code)
  end)
end)

describe("why is /home hidden", function()
  it("explain names the parent's file and line for an inherited mount", function()
    local dir = tree({
      ["base.lua"] = "return {\n  namespaces = { 'user', 'mount' },\n  mounts = {\n    ro_bind '/usr',\n\n" ..
        "    tmpfs '/home',\n  },\n}\n",
      ["child.lua"] = "return {\n  extends = './base.lua',\n  mounts = { tmpfs '/tmp' },\n}\n",
    })
    local r = H.lunshare({ "explain", "child.lua" }, { cwd = dir })
    rmtree(dir)
    assert.equal(0, r.code, r.err)
    assert.truthy(r.out:find("tmpfs /newroot/home\n       # base.lua:6", 1, true), r.out)
    assert.truthy(r.out:find("tmpfs /newroot/tmp\n       # child.lua:3", 1, true), r.out)
  end)
end)
