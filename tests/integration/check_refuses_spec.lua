-- check refuses what run would refuse, with file:line, before anything runs: a second
-- entry on one target (file() over default's /etc/passwd), a target under a symlink the
-- profile made, a clock offset out of the kernel's range, user.map = "host_root" for a
-- caller who is not root, a cwd the new root lacks or names a file the profile makes, a
-- file or symlink under a read-only mount of the profile's, a veth or namespaces without a
-- user namespace for a caller who is not root; errors in line order. What this machine
-- decides (an /etc/subuid line, a host path a bind or overlay reads, a dir under a
-- read-only mount) is a warning of check's, and run fails with exit 1. #integration
local H = require "helpers"

local function check(src, mode)
  local p = H.profile(src)
  return H.lunshare({ "check", p }, { mode = mode }), p
end

local function run(p, mode) return H.lunshare({ "run", p, "--", "true" }, { mode = mode }) end

local CASES = {
  { "file() over an existing target", [[return {
  extends = "default",
  mounts = { file("/etc/passwd", "me:x:0:0::/:/bin/sh\n") },
}]], 3, "mounts%[1%]: '/etc/passwd' is already the target of the entry at profiles/default%.lua:%d+" },
  { "a target under a symlink the profile made", [[return {
  extends = "default",
  mounts = {
    symlink("/tmp", "/data"),
    tmpfs "/data/x",
  },
}]], 5, "mounts%[2%]: '/data/x' is under '/data', a symlink" },
  { "a clock offset out of the kernel's range", [[return {
  extends = "default",
  time = { boottime = 99999999999 },
}]], 3, "time%.boottime: the kernel takes offsets within" },
  { "a cwd the new root lacks", [[return {
  extends = "default",
  cwd = "/srv/nowhere",
}]], 3, "cwd: '/srv/nowhere' is not in the new root" },
  { "a cwd naming a file the profile makes", [[return {
  extends = "default",
  cwd = "/etc/passwd",
}]], 3, "cwd: '/etc/passwd' is a file, which the entry at profiles/default%.lua:%d+ makes: expected a directory" },
  { "a file under a read-only bind", [[return {
  extends = "default",
  mounts = { file("/usr/lsh-x", "x\n") },
}]], 3, "mounts%[1%]: '/usr/lsh%-x' is under '/usr', which the entry at profiles/default%.lua:%d+ binds " ..
    "read%-only: a file cannot be made there, whatever the host holds" },
  { "a symlink under a read-only overlay", [[return {
  extends = "default",
  mounts = {
    overlay { "/o", lower = { "/usr" } },
    symlink("/tmp", "/o/lsh-y"),
  },
}]], 5, "mounts%[2%]: '/o/lsh%-y' is under '/o', which the entry at [^:]+:4 mounts as an overlay without an " ..
    "upper dir %(read%-only%): a symlink cannot be made there" },
}

-- What run refuses to a caller who is not root whatever the machine, and root may run:
-- check refuses it rootless with run's own line, and takes it as root. (Never run as root
-- here: a veth would be made in the host's network.)
local ROOTLESS = {
  { "a veth, whose host end needs CAP_NET_ADMIN in the host's network", [[return {
  extends = "default",
  network = { links = {
    veth { host = "lsv0" },
  } },
}]], 4, "network%.links%[1%]: veth lsv0: a host%-side link needs CAP_NET_ADMIN in the host's network namespace: " ..
    "run as root, or keep both ends in namespaces you own" },
  { "namespaces without a user namespace", [[return {
  extends = "default",
  namespaces = { "-user" },
  user = false,
}]], 3, "namespaces: without a user namespace, a caller who is not root cannot make the others %(mount, pid, " ..
    "net, ipc, uts, cgroup, time%): keep \"user\" in namespaces, or run as root" },
}

describe("check refuses what run would", function()
  for _, mode in ipairs(H.modes) do
    for _, case in ipairs(CASES) do
      it(case[1] .. " (" .. mode .. ")", function()
        local r, p = check(case[2], mode)
        assert.equal(2, r.code, r.out .. r.err)
        assert.matches(p:gsub("%p", "%%%0") .. ":" .. case[3] .. ": " .. case[4], r.err)
        assert.equal("", r.out)
      end)
    end
  end

  for _, case in ipairs(ROOTLESS) do
    it("refuses " .. case[1] .. " for a caller who is not root, as run does; not for root", function()
      local r, p = check(case[2], "rootless")
      assert.equal(2, r.code, r.out .. r.err)
      assert.matches("^" .. p:gsub("%p", "%%%0") .. ":" .. case[3] .. ": " .. case[4], r.err)
      assert.equal("", r.out)
      local line = r.err
      r = run(p, "rootless")
      assert.equal(2, r.code, r.err)
      assert.equal("lunshare: " .. line, r.err)
      r = H.lunshare({ "check", p }, { mode = "root" })
      assert.equal(0, r.code, r.out .. r.err)
    end)
  end

  for _, mode in ipairs(H.modes) do
    it("warns of user.map = \"subid\" without an /etc/subuid line, and run exits 1 with the same words (" ..
        mode .. ")", function()
      local user = mode == "root" and "root" or "nobody"
      local have = H.sh("grep -qs '^" .. user .. ":' /etc/subuid /etc/subgid")
      if have.code == 0 then
        pending("this machine has an /etc/subuid line for " .. user)
        return
      end
      local r, p = check('return {\n  extends = "default",\n  user = { map = "subid" },\n}', mode)
      local q = p:gsub("%p", "%%%0")
      local words = "user%.map = \"subid\" needs ranges for " .. user .. " in /etc/subuid and /etc/subgid, " ..
        "and this machine has none"
      assert.equal(0, r.code, r.out .. r.err)
      assert.equal(p .. ": ok\n", r.out)
      assert.matches("^" .. q .. ":3: user%.map: warning: " .. words, r.err)
      local rr = run(p, mode)
      assert.equal(1, rr.code, rr.err)
      assert.matches("^lunshare: " .. q .. ":3: " .. words, rr.err)
      assert.equal(rr.err:match(":3: (.*)"), r.err:match(": warning: (.*)"))
      -- explain refuses it as run does, with run's status.
      local e = H.lunshare({ "explain", p }, { mode = mode })
      assert.equal(1, e.code, e.err)
      assert.equal(rr.err, e.err)
      -- --strict (recipe CI) makes it an error, as every warning.
      assert.equal(2, H.lunshare({ "check", "--strict", p }, { mode = mode }).code)
    end)

  end

  for _, mode in ipairs(H.modes) do
    it("warns of a host path a bind or an overlay reads that this machine lacks, and run exits 1 (" ..
        mode .. ")", function()
      local gone = H.tmpdir("755") .. "/gone"
      local r, p = check('return {\n  extends = "default",\n  mounts = {\n    overlay { "/o", lower = { "/usr", ' ..
        string.format("%q", gone) .. ' } },\n    bind(' .. string.format("%q", gone) .. ', "/b"),\n    bind_try(' ..
        string.format("%q", gone .. "2") .. ', "/c"),\n  },\n}', mode)
      local q = p:gsub("%p", "%%%0")
      local g = gone:gsub("%p", "%%%0")
      assert.equal(0, r.code, r.out .. r.err)
      assert.matches(q .. ":4: mounts%[1%]%.lower%[2%]: warning: " .. g .. " does not exist on this machine, so " ..
        "run fails here\n", r.err)
      assert.matches(q .. ":5: mounts%[2%]%.src: warning: " .. g .. " does not exist on this machine, so run " ..
        "fails here %(bind_try skips a missing source%)\n", r.err)
      -- An optional bind's missing source is skipped, and said nothing of.
      assert.is_nil(r.err:find(gone .. "2", 1, true), r.err)
      local rr = run(p, mode)
      assert.equal(1, rr.code, rr.err)
      assert.matches("^lunshare: " .. q .. ":[45]: ", rr.err)
      assert.truthy(rr.err:find(gone .. ": No such file or directory", 1, true), rr.err)
    end)

  end

  for _, mode in ipairs(H.modes) do
    it("warns of a dir under a read-only mount, which works only where it already is; a tmpfs nearer makes " ..
        "it fine (" .. mode .. ")", function()
      local r, p = check('return {\n  extends = "default",\n  mounts = { dir "/usr/lsh-nonexistent" },\n}', mode)
      assert.equal(0, r.code, r.out .. r.err)
      assert.matches("^" .. p:gsub("%p", "%%%0") .. ":3: mounts%[1%]: warning: '/usr/lsh%-nonexistent' is under " ..
        "'/usr', which the entry at profiles/default%.lua:%d+ binds read%-only: run can make nothing there, so this " ..
        "dir works only where '/usr/lsh%-nonexistent' already is a directory", r.err)
      local rr = run(p, mode)
      assert.equal(1, rr.code, rr.err)
      assert.truthy(rr.err:find("Read-only file system", 1, true), rr.err)
      -- Made in a tmpfs over /usr/local (the nearest mount above them): no word, and run makes them.
      r, p = check('return {\n  extends = "default",\n  mounts = {\n    tmpfs "/usr/local",\n' ..
        '    dir "/usr/local/d",\n    file("/usr/local/f", "made\\n"),\n    symlink("f", "/usr/local/l"),\n  },\n}', mode)
      assert.equal(0, r.code, r.out .. r.err)
      assert.equal("", r.err)
      rr = H.lunshare({ "run", p, "--", "sh", "-c", "test -d /usr/local/d && cat /usr/local/l" }, { mode = mode })
      assert.equal(0, rr.code, rr.err)
      assert.equal("made\n", rr.out)
    end)
  end

  it("refuses user.map = host_root for a caller who is not root, not for root", function()
    local src = 'return {\n  extends = "default",\n  user = { map = "host_root" },\n}'
    local r, p = check(src, "rootless")
    assert.equal(2, r.code)
    assert.matches(p:gsub("%p", "%%%0") .. ":3: user%.map = \"host_root\" maps root inside to the host's root", r.err)
    assert.equal(2, run(p, "rootless").code)
    assert.equal(0, check(src, "root").code)
  end)

  it("what check refuses, run refuses too", function()
    for _, case in ipairs(CASES) do
      local p = H.profile(case[2])
      assert.equal(2, run(p, "root").code, case[1])
    end
  end)

  it("takes durations for clock offsets", function()
    local p = H.profile('return { extends = "default", time = { boottime = "1d", monotonic = "-1s" } }')
    local r = H.lunshare({ "run", p, "--", "cat", "/proc/self/timens_offsets" })
    assert.equal(0, r.code, r.err)
    assert.matches("monotonic%s+%-1%s+0", r.out)
    assert.matches("boottime%s+86400%s+0", r.out)
  end)

  it("does not let a misspelt constructor hide the file's other errors", function()
    local r, p = check([[return {
  extends = "default",
  mounts = { ro_bnd "/x" },
  hostname = 5,
  cwd = "rel",
}]])
    assert.equal(2, r.code)
    local q = p:gsub("%p", "%%%0")
    assert.matches(q .. ":3: unknown name 'ro_bnd' %(did you mean 'ro_bind'%?%)\n" .. q .. ":4: hostname: expected a string" ..
      ".*\n" .. q .. ":5: cwd: expected an absolute path", r.err)
  end)

  it("does not let a misspelt constructor hide the later entries of its own table", function()
    local r, p = check([[return {
  extends = "default",
  mounts = { ro_bnd "/x",
    tmpfs "rel" },
}]])
    assert.equal(2, r.code)
    local q = p:gsub("%p", "%%%0")
    assert.matches("^" .. q .. ":3: unknown name 'ro_bnd' %(did you mean 'ro_bind'%?%)\n" .. q ..
      ":4: mounts%[2%]%.dst: expected an absolute path inside the sandbox, got 'rel'\n$", r.err)
  end)

  for _, mode in ipairs(H.modes) do
    it("refuses a network.join run would refuse, and takes one run takes (" .. mode .. ")", function()
      local name = "lsnone" .. H.RUN
      local function check_join(src)
        return H.lunshare({ "check", H.profile("return {\n  " .. src .. ",\n  network = { join = \"" ..
          (mode == "root" and name or ("lstopo/" .. name)) .. "\" },\n}\n") }, { mode = mode })
      end
      -- The caller's own kind of netns (whether it is there is run's to say), with a user
      -- namespace of the sandbox's own or (root) without.
      local r = check_join('extends = "default"')
      assert.equal(0, r.code, r.out .. r.err)
      r = check_join('namespaces = { "mount" }')
      if mode == "root" then
        assert.equal(0, r.code, r.out .. r.err)
      else
        assert.equal(2, r.code, r.out .. r.err)
        assert.truthy(r.err:find(":3: network.join: a host of a rootless topology is joined from a user " ..
          "namespace of the sandbox's own", 1, true), r.err)
      end
      -- The other kind: root's netns for a user, a user's topology host for root.
      local other = mode == "root" and ("lstopo/" .. name) or name
      r = H.lunshare({ "check", H.profile("return {\n  extends = \"default\",\n  network = { join = \"" ..
        other .. "\" },\n}\n") }, { mode = mode })
      assert.equal(2, r.code, r.out .. r.err)
      assert.truthy(r.err:find(mode == "root" and
        (":3: network.join: as root, the hosts of a topology are named netns in /run/netns: write join = \"" .. name .. "\"") or
        (":3: network.join: the netns " .. name .. " in /run/netns is root's, which only root can join; as a user, " ..
          "join a host of your own rootless topology: join = \"TOPOLOGY/HOST\""), 1, true), r.err)
    end)
  end

  it("prints errors in line order", function()
    local r = check([[return {
  cwd = "rel",
  hostname = 5,
  namespaces = { "user", "mount", "nett" },
}]])
    assert.equal(2, r.code)
    local lines = {}
    for l in r.err:gmatch("[^\n]+") do lines[#lines + 1] = tonumber(l:match("%.lua:(%d+):")) end
    assert.is_true(#lines >= 3, r.err)
    for i = 2, #lines do assert.is_true(lines[i - 1] <= lines[i], r.err) end
  end)
end)
