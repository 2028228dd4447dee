-- The command line people expect: unknown options are usage errors, every command has
-- its --help, one-off additions (--bind, --setenv, …) are a last layer over the profile,
-- checked like its fields and shown with the origin "command line", and `run -- CMD`
-- uses default. #integration
local H = require "helpers"

local function run(args, mode) return H.lunshare(args, { mode = mode }) end

describe("the command line", function()
  it("refuses an unknown option with exit 2 instead of running it", function()
    for _, args in ipairs({ { "run", "default", "--bogus", "--", "true" }, { "run", "--bogus", "default" },
        { "check", "--bogs", "default" }, { "explain", "default", "--jsn" }, { "net", "up", "--bogus" } }) do
      local r = run(args)
      assert.equal(2, r.code, table.concat(args, " "))
      assert.equal("", r.out)
      assert.equal(1, #H.lines(r.err), r.err)
      assert.truthy(r.err:find("unknown option", 1, true), r.err)
    end
    assert.matches("did you mean '%-%-json'", run({ "explain", "default", "--jsn" }).err)
    -- Each points at its command's own usage, as net's subcommands do; an unknown
    -- command at the general one.
    assert.equal("lunshare: run: unknown option '--bogus' (see 'lunshare run --help')\n",
      run({ "run", "--bogus", "default" }).err)
    assert.equal("lunshare: run: expected a profile (see 'lunshare run --help')\n", run({ "run" }).err)
    assert.equal("lunshare: net up: unknown option '--bogus' (see 'lunshare net up --help')\n",
      run({ "net", "up", "--bogus" }).err)
    assert.equal("lunshare: unknown command 'rnu' (did you mean 'run'?) (see 'lunshare help')\n", run({ "rnu" }).err)
  end)

  it("prints each command's usage with COMMAND --help and help COMMAND", function()
    for _, cmd in ipairs({ "run", "check", "explain", "diff", "net", "doctor", "repl", "version", "complete" }) do
      local a, b = run({ cmd, "--help" }), run({ "help", cmd })
      assert.equal(0, a.code, a.err)
      assert.equal(a.out, b.out)
      assert.matches("^usage: lunshare " .. cmd, a.out)
    end
    local r = run({ "net", "up", "--help" })
    assert.equal(0, r.code)
    assert.matches("^usage: lunshare net", r.out)
    assert.matches("%-%-bind SRC%[:DST%]", run({ "run", "--help" }).out)
    assert.equal(2, run({ "help", "rnu" }).code)
    -- complete's words after -- are a command line's, --help among them.
    assert.equal(0, run({ "complete", "--", "--help" }).code)
    assert.equal("", run({ "complete", "--", "--help" }).out)
  end)

  for _, mode in ipairs(H.modes) do
    it("adds one-off binds, tmpfs, environment, cwd and host name over the profile (" .. mode .. ")", function()
      local d = H.tmpdir("777")
      finally(function() H.rm(d) end)
      H.sh("echo host > " .. H.quote(d .. "/f") .. " && chmod 644 " .. H.quote(d .. "/f"))
      local r = run({ "run", "--bind", d .. ":/w", "--ro-bind", d .. ":/ro", "--tmpfs", "/scratch",
        "--setenv", "FOO=bar", "--unsetenv", "HOME", "--chdir", "/w", "--hostname", "box", "--",
        "sh", "-c", "pwd; echo ${FOO}-${HOME:-unset}; hostname; cat /ro/f; echo made > new; " ..
        "{ echo x > /ro/g; } 2>&1; grep -c ' /scratch ' /proc/self/mountinfo" }, mode)
      assert.equal(0, r.code, r.err)
      local l = H.lines(r.out)
      assert.same({ "/w", "bar-unset", "box", "host" }, { l[1], l[2], l[3], l[4] })
      assert.matches("Read%-only file system", l[5])
      assert.equal("1", l[6])
      assert.equal("made\n", H.read(d .. "/new"))
    end)

    it("shares the host's network with --share-net (" .. mode .. ")", function()
      local host = H.ns_inode("net")
      local r = run({ "run", "--share-net", "default", "--", "sh", "-c", "readlink /proc/self/ns/net" }, mode)
      assert.equal(0, r.code, r.err)
      assert.equal("net:[" .. host .. "]\n", r.out)
      local own = run({ "run", "default", "--", "sh", "-c", "readlink /proc/self/ns/net" }, mode)
      assert.not_equal("net:[" .. host .. "]\n", own.out)
    end)
  end

  it("checks the additions like profile fields, naming the command line", function()
    local r = run({ "check", "--tmpfs", "relative", "--setenv", "1x=y", "default" })
    assert.equal(2, r.code)
    assert.matches("command line: mounts%[%d+%]%.dst: expected an absolute path", r.err)
    assert.matches("command line: env%.set: bad variable name '1x'", r.err)
    local ok = run({ "check", "--bind", "/srv:/srv", "default" })
    assert.equal(0, ok.code, ok.err)
    -- The hostname needs the uts namespace, as the field does.
    local p = H.profile('return { namespaces = { "user", "pid" } }')
    assert.equal(2, run({ "check", "--hostname", "x", p }).code)
  end)

  it("shows the additions in explain with the origin command line", function()
    local r = run({ "explain", "--ro-bind", "/srv:/srv", "--hostname", "box", "default" })
    assert.equal(0, r.code, r.err)
    assert.matches("bind +mount %-%-rbind %-o ro=recursive,nosuid,nodev /srv /newroot/srv\n +# command line\n", r.out)
    assert.matches("hostname +hostname box\n +# command line\n", r.out)
    assert.matches("^plan for profiles/default%.lua", r.out)
  end)

  it("runs default for `run -- CMD`", function()
    local r = run({ "run", "--", "hostname" })
    assert.equal(0, r.code, r.err)
    assert.equal("lunshare\n", r.out)
    assert.equal(2, run({ "run" }).code)
  end)
  for _, mode in ipairs(H.modes) do
    it("check refuses a missing --bind source as run would, naming the command line (" .. mode .. ")", function()
      local missing = H.tmpdir("755") .. "/gone"
      local want = "command line: mounts[1].src: " .. missing .. " does not exist on the host"
      local c = run({ "check", "--bind", missing .. ":/x", "default" }, mode)
      assert.equal(2, c.code, c.out .. c.err)
      assert.equal(want .. "\n", c.err)
      local r = run({ "run", "--bind", missing .. ":/x", "--", "true" }, mode)
      assert.equal(2, r.code, r.err)
      assert.equal("lunshare: " .. want .. "\n", r.err)
      -- An optional bind of a missing source is still skipped.
      local p = H.profile("return { extends = 'default', mounts = { bind_try(" .. string.format("%q", missing) .. ") } }\n")
      assert.equal(0, run({ "check", p }, mode).code)
    end)
  end

  it("a warning about a command-line entry counts the command line's entries", function()
    local r = run({ "check", "--ro-bind", "/tmp:/t", "--bind", "/sys/fs/cgroup:/x", "default" })
    assert.equal(0, r.code, r.err)
    assert.truthy(r.err:find("command line: mounts[2]: warning: the host's /sys/fs/cgroup", 1, true), r.err)
  end)
end)
