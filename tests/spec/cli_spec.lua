-- The CLI's pure parts: dispatch, usage errors, exit codes. #unit
local cli = require "lunshare.cli"

local function capture(fn)
  local out, err = {}, {}
  local real_out, real_err = io.stdout, io.stderr
  local fake = function(buf)
    return { write = function(self, ...) for _, s in ipairs({ ... }) do buf[#buf + 1] = s end return self end,
      flush = function() return true end }
  end
  io.stdout, io.stderr = fake(out), fake(err)
  local ok, code = pcall(fn)
  io.stdout, io.stderr = real_out, real_err
  assert(ok, code)
  return code, table.concat(out), table.concat(err)
end

describe("cli #unit", function()
  it("exits 2 with one line for an unknown command, with a suggestion", function()
    local code, _, err = capture(function() return cli.main({ "chek" }) end)
    assert.equal(2, code)
    assert.equal("lunshare: unknown command 'chek' (did you mean 'check'?) (see 'lunshare help')\n", err)
  end)

  it("exits 2 without a command", function()
    local code, _, err = capture(function() return cli.main({}) end)
    assert.equal(2, code)
    assert.truthy(err:find("expected a command"))
  end)

  it("prints help", function()
    local code, out = capture(function() return cli.main({ "help" }) end)
    assert.equal(0, code)
    assert.truthy(out:find("run PROFILE"))
  end)

  it("run without a profile is a usage error", function()
    local code, _, err = capture(function() return cli.main({ "run" }) end)
    assert.equal(2, code)
    assert.truthy(err:find("run: expected a profile"))
  end)

  it("explain rejects unknown options", function()
    local code, _, err = capture(function() return cli.main({ "explain", "default", "--bogus" }) end)
    assert.equal(2, code)
    assert.truthy(err:find("unknown option '%-%-bogus'"))
  end)
  it("diff needs two profiles and check rejects unknown options", function()
    local code, _, err = capture(function() return cli.main({ "diff", "default" }) end)
    assert.equal(2, code)
    assert.truthy(err:find("diff: expected two profiles, OLD and NEW", 1, true))
    code, _, err = capture(function() return cli.main({ "check", "--bogus", "default" }) end)
    assert.equal(2, code)
    assert.truthy(err:find("check: unknown option '--bogus'", 1, true))
  end)

  it("--set needs KEY=VALUE", function()
    local code, _, err = capture(function() return cli.main({ "explain", "default", "--set" }) end)
    assert.equal(2, code)
    assert.truthy(err:find("explain: --set needs KEY=VALUE", 1, true))
  end)
  it("--setenv without = is a usage error naming --setenv and KEY=VALUE", function()
    local code, _, err = capture(function() return cli.main({ "check", "--setenv", "PATH", "default" }) end)
    assert.equal(2, code)
    assert.equal("lunshare: check: --setenv needs KEY=VALUE, got 'PATH' (see 'lunshare check --help')\n", err)
  end)

  it("--pty and --no-pty together are a usage error", function()
    local code, _, err = capture(function() return cli.main({ "run", "--pty", "--no-pty", "default", "--", "true" }) end)
    assert.equal(2, code)
    assert.truthy(err:find("run: --pty and --no-pty together", 1, true), err)
  end)

  it("a --bind or --ro-bind with more than one ':' is refused as ambiguous", function()
    for _, opt in ipairs({ "--bind", "--ro-bind" }) do
      local code, _, err = capture(function() return cli.main({ "check", opt, "/a:/b:/c", "default" }) end)
      assert.equal(2, code)
      assert.truthy(err:find(opt .. " '/a:/b:/c' has more than one ':'", 1, true), err)
    end
  end)

  it("help --help prints help's usage", function()
    for _, h in ipairs({ "--help", "-h" }) do
      local code, out = capture(function() return cli.main({ "help", h }) end)
      assert.equal(0, code)
      assert.truthy(out:find("usage: lunshare help", 1, true), out)
    end
  end)
end)

-- A field this version checks but cannot apply (schema.NOT_BUILT, empty today): check
-- refuses the profile as run does, with the same line naming its file:line.
describe("a field that is not built yet #unit", function()
  local schema = require "lunshare.schema"
  local H = require "helpers"

  it("is refused by check and by run, with one and the same message", function()
    local path = H.profile("return {\n  namespaces = { 'uts' },\n  hostname = 'box',\n}\n")
    schema.NOT_BUILT.hostname = true
    local ok, err = pcall(function()
      local ccode, cout, cerr = capture(function() return cli.main({ "check", path }) end)
      local rcode, rout, rerr = capture(function() return cli.main({ "run", path, "--", "/bin/true" }) end)
      local want = path .. ":3: hostname: this version of lunshare cannot apply 'hostname' yet; remove it to run"
      assert.equal(2, ccode)
      assert.equal("", cout)
      assert.equal(want .. "\n", cerr)
      assert.equal(2, rcode)
      assert.equal("", rout)
      assert.equal("lunshare: " .. want .. "\n", rerr)
    end)
    schema.NOT_BUILT.hostname = nil
    os.remove(path)
    assert(ok, err)
  end)
end)
