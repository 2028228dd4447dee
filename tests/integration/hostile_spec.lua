-- Hostile profiles through the real binary: check, explain, diff and show of every profile in
-- tests/profiles/hostile (and of a few this spec generates: too big, or too many files, to
-- keep) end within the bounds, with exit 2 and exactly one line on stderr, never a
-- traceback. Hostile topologies (tests/topologies/hostile) go through every `net`
-- command that loads a file, in a world of their own that must not change. #integration
local H = require "helpers"

local DIR = H.root .. "/tests/profiles/hostile"
local MEMORY = 256 * 1024 * 1024
-- What the bounds promise, in CPU time. A busy machine stretches the wall clock, so the
-- wall limit only catches a hang.
local CPU_SECONDS, WALL_SECONDS = 5, 30

-- An ASan build reserves terabytes of address space for its shadow memory, so the
-- address-space cap is left out for it; its maximum RSS is still read, but ASan's shadow
-- and quarantine count in it, so it is not held to 256 MiB.
local asan = H.sh("grep -qa __asan_init " .. H.quote(H.bin) .. " && echo yes").out == "yes\n"

local function files()
  local list = {}
  for f in H.sh("ls " .. H.quote(DIR)).out:gmatch("[^\n]+") do
    if f:match("%.lua$") then list[#list + 1] = f end
  end
  table.sort(list)
  return list
end

local function write(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
  H.sh("chmod 644 " .. H.quote(path))
end

-- Cases too big for the tree: name -> { file = source, … } (main.lua is the one checked).
local GENERATED = {
  ["a 5 MB source"] = { ["main.lua"] = "return {}\n" .. ("-- padding\n"):rep(500000) },
  ["a source of 1 MiB and one byte"] = { ["main.lua"] = "return {}\n" .. (" "):rep((1 << 20) - 9) },
  ["half a million tokens in 1 MiB"] = { ["main.lua"] = "return { description = " ..
    ("1,"):rep(500000):gsub(",$", "") .. " }\n" },
  ["tables nested a million deep, for the tokenizer"] = { ["main.lua"] = "return " .. ("{"):rep(1 << 19) },
  ["lone carriage returns, a megabyte of them"] = { ["main.lua"] = "return {\r" .. ("\r"):rep(1 << 19) .. "cwd = 'x' }" },
  ["an unfinished long comment"] = { ["main.lua"] = "return {} --[==[" .. ("]] ]=] "):rep(100000) },
}
do
  -- A chain of 17 profiles (past the 16 extends allows), each working for about a
  -- second, within what one evaluation may do: the bounds are the command's, not each
  -- file's.
  local chain = {}
  for i = 1, 17 do
    chain["p" .. i .. ".lua"] = (i < 17 and ("return { extends = './p" .. (i + 1) .. ".lua', description = (function() " ..
      "local s = ('x'):rep(8000) local n = 0 for k = 1, 1200000 do n = n + #(s .. k) end return tostring(n) end)() }\n") or
      "return {}\n")
  end
  chain["main.lua"] = chain["p1.lua"]
  GENERATED["a deep extends chain, each file working for a second"] = chain
end

-- Runs one lunshare command line in dir under the limits; returns { code, out, err,
-- cpu, rss (KB) }.
local function bounded_run(dir, args, mode)
  local stats = os.tmpname()
  H.sh("chmod 666 " .. H.quote(stats))
  local cap = asan and "" or ("prlimit --as=" .. MEMORY .. " -- ")
  local cmd = string.format("/usr/bin/time -f '%%U %%S %%M' -o %s timeout -k 1 %d %s%s %s", H.quote(stats),
    WALL_SECONDS, cap, H.quote(H.bin), H.join(args))
  local r = H.sh(cmd, { cwd = dir, mode = mode })
  local f = io.open(stats)
  local text = f and f:read("a") or ""
  if f then f:close() end
  os.remove(stats)
  -- time(1) says "Command exited with non-zero status N" on a line of its own first.
  local user, sys, rss = text:match("([%d%.]+) ([%d%.]+) (%d+)%s*$")
  r.cpu = (tonumber(user) or 0) + (tonumber(sys) or 0)
  r.rss = tonumber(rss) or 0
  return r
end

local function assert_bounded(r, what)
  local where = what .. ": exit " .. tostring(r.code) .. ", stderr: " .. r.err:sub(1, 300)
  assert.equal(2, r.code, where)
  assert.equal(1, select(2, r.err:gsub("\n", "")), where)
  assert.truthy(r.err:match("\n$"), where)
  assert.falsy(r.err:lower():find("traceback"), where)
  assert.falsy(r.err:find("stack traceback", 1, true), where)
  assert.falsy(r.err:find("internal error", 1, true), where)
  assert.falsy(r.err:find("\27", 1, true), where)
  assert.truthy(r.cpu < CPU_SECONDS, what .. ": " .. r.cpu .. " s of CPU time")
  if not asan then assert.truthy(r.rss < MEMORY // 1024, what .. ": " .. r.rss .. " KB") end
end

local function commands(file)
  return {
    check = { "check", file },
    explain = { "explain", file },
    ["explain --json"] = { "explain", "--json", file },
    diff = { "diff", "default", file },
    show = { "show", file },
  }
end

describe("hostile profiles", function()
  it("are all here, each saying what it attacks", function()
    local list = files()
    assert.truthy(#list >= 30, #list .. " files")
    for _, f in ipairs(list) do
      local first = io.open(DIR .. "/" .. f):read("l")
      assert.truthy(first and first:match("^%-%- %S"), f .. " starts with a comment saying what it attacks")
    end
  end)

  for _, f in ipairs(files()) do
    for _, name in ipairs({ "check", "explain", "diff", "show" }) do
      it(name .. " " .. f .. " ends within the bounds with one line and exit 2", function()
        local r = bounded_run(DIR, commands(f)[name])
        assert_bounded(r, name .. " " .. f)
        assert.equal("", r.out)
      end)
    end
  end

  for case, tree in pairs(GENERATED) do
    it("check, explain and diff of " .. case .. " end within the bounds with one line and exit 2", function()
      local dir = os.tmpname()
      os.remove(dir)
      assert(H.sh("mkdir -m 755 " .. H.quote(dir)).code == 0)
      for name, src in pairs(tree) do write(dir .. "/" .. name, src) end
      for name, args in pairs(commands("main.lua")) do
        local r = bounded_run(dir, args)
        assert_bounded(r, name .. " " .. case)
      end
      H.sh("rm -rf " .. H.quote(dir))
    end)
  end

  it("are bounded for an unprivileged caller too", function()
    -- A copy nobody can read: the checkout may be private to root.
    local dir = os.tmpname()
    os.remove(dir)
    assert(H.sh("mkdir -m 755 " .. H.quote(dir)).code == 0)
    for _, f in ipairs({ "while_true.lua", "concat_loop.lua", "extends_dev_zero.lua", "million_entries.lua" }) do
      write(dir .. "/" .. f, io.open(DIR .. "/" .. f):read("a"))
      local r = bounded_run(dir, { "check", f }, "rootless")
      assert_bounded(r, "check " .. f .. " as nobody")
    end
    H.sh("rm -rf " .. H.quote(dir))
  end)
end)

-- ---- hostile topologies ------------------------------------------------------------------
-- A stranger's topology is as untrusted as a profile: `net check` and `net explain` must
-- never act, read other files or run unbounded, and `net up`, `status` and `exec` must
-- refuse such a file before they build or enter anything. Every run is in a throwaway
-- network and mount namespace with its own /run (so a command that did act could not
-- reach the machine), and what is in it is counted before and after.

local TOPO_DIR = H.root .. "/tests/topologies/hostile"
local WORLD_COUNT = "echo $(ip -o link | wc -l) links $(ip netns list | wc -l) netns $(find /run | wc -l) files"
-- The world's mounts as "ID MOUNTPOINT" lines. Only new ones count: the world's copies of
-- the machine's mounts may go while it runs (a mount point unlinked outside, as another
-- suite's `ip netns del` does, takes its copies in every namespace with it).
local MOUNTS = "awk '{print $1, $5}' /proc/self/mountinfo"

local function topo_files()
  local list = {}
  for f in H.sh("ls " .. H.quote(TOPO_DIR)).out:gmatch("[^\n]+") do
    if f:match("%.lua$") then list[#list + 1] = f end
  end
  table.sort(list)
  return list
end

-- The corpora, where nobody can read them (the checkout may be root's own).
local function readable_copy(from, names)
  local dir = H.tmpdir()
  for _, f in ipairs(names) do write(dir .. "/" .. f, assert(io.open(from .. "/" .. f)):read("a")) end
  return dir
end

-- Runs each `lunshare ARGS` of cmds ({ label, args } pairs) in dir, one after the other
-- inside one world of its own, as mode says, each under the limits; a result per command:
-- { code, out, err, cpu, rss, before, after } with the world's counts around it.
local function world_run(dir, cmds, mode)
  local tmp = H.tmpdir()
  local cap = asan and "" or ("prlimit --as=" .. MEMORY .. " -- ")
  local drop = mode == "rootless" and (H.DROP .. "env XDG_RUNTIME_DIR=/run/xdg ") or ""
  local script = {
    "mount -t tmpfs tmpfs /run || exit 99",
    "mkdir -m 700 /run/xdg && chown " .. H.NOBODY_UID .. ":" .. H.NOBODY_GID .. " /run/xdg",
    "cd " .. H.quote(dir),
  }
  for i, c in ipairs(cmds) do
    local o = H.quote(tmp .. "/" .. i)
    script[#script + 1] = table.concat({
      "before=\"$(" .. WORLD_COUNT .. ") 0 new mounts\"", "m=$(" .. MOUNTS .. ")",
      string.format("/usr/bin/time -f '%%U %%S %%M' -o %s.time timeout -k 1 %d %s%s%s %s >%s.out 2>%s.err",
        o, WALL_SECONDS, cap, drop, H.quote(H.bin), H.join(c[2]), o, o),
      "echo $? >" .. o .. ".code",
      "printf '%s\\n%s %s new mounts\\n' \"$before\" \"$(" .. WORLD_COUNT .. ")\" \"$(" .. MOUNTS ..
        " | grep -vxF \"$m\" | wc -l)\" >" .. o .. ".count",
    }, "; ")
  end
  local r = H.sh("unshare --net --mount sh -c " .. H.quote(table.concat(script, "; ")),
    { timeout = 60 + #cmds * (WALL_SECONDS + 2) })
  assert(r.code == 0, "the world: " .. r.err)
  local function slurp(path)
    local f = io.open(path)
    local text = f and f:read("a") or ""
    if f then f:close() end
    return text
  end
  local results = {}
  for i = 1, #cmds do
    local o = tmp .. "/" .. i
    local res = { code = tonumber(slurp(o .. ".code")), out = slurp(o .. ".out"), err = slurp(o .. ".err") }
    local user, sys, rss = slurp(o .. ".time"):match("([%d%.]+) ([%d%.]+) (%d+)%s*$")
    res.cpu = (tonumber(user) or 0) + (tonumber(sys) or 0)
    res.rss = tonumber(rss) or 0
    res.before, res.after = slurp(o .. ".count"):match("^([^\n]*)\n([^\n]*)\n$")
    results[i] = res
  end
  H.rm(tmp)
  return results
end

-- Refused within the bounds, having changed nothing: exit 2, one line per error, each
-- naming the file, nothing a terminal would obey, never a traceback.
local function assert_refused(r, file, what)
  local where = what .. ": exit " .. tostring(r.code) .. ", stderr: " .. r.err:sub(1, 300)
  assert.equal(2, r.code, where)
  assert.equal("", r.out, where)
  assert.truthy(r.err:match("\n$"), where)
  for line in r.err:gmatch("[^\n]+") do
    assert.truthy(line:sub(1, #file + 1) == file .. ":" or line:sub(1, #file + 11) == "lunshare: " .. file .. ":",
      what .. ": a line that does not name the file: " .. line:sub(1, 200))
  end
  assert.falsy(r.err:lower():find("traceback"), where)
  assert.falsy(r.err:find("internal error", 1, true), where)
  for _, raw in ipairs({ "\27", "\r", "\0", "\7", "\226\128\174", "\255" }) do
    assert.falsy(r.err:find(raw, 1, true), what .. ": a raw " .. string.format("%q", raw) .. " on stderr")
  end
  assert.truthy(r.cpu < CPU_SECONDS, what .. ": " .. r.cpu .. " s of CPU time")
  if not asan then assert.truthy(r.rss < MEMORY // 1024, what .. ": " .. r.rss .. " KB") end
  assert.truthy(r.before, what .. ": the world's counts are missing: " .. r.out)
  assert.equal(r.before, r.after, what .. ": the world changed")
end

local function net_commands(f)
  return {
    { "net check", { "net", "check", f } },
    { "net explain", { "net", "explain", f } },
    { "net explain --json", { "net", "explain", "--json", f } },
    { "net up", { "net", "up", f } },
    { "net status", { "net", "status", f } },
    { "net exec", { "net", "exec", f, "lsh1", "--", "sh", "-c", "ip netns add lshevil; touch /run/lshevil" } },
  }
end

describe("hostile topologies", function()
  local names = topo_files()
  local dir

  setup(function() dir = readable_copy(TOPO_DIR, names) end)
  teardown(function() if dir then H.rm(dir) end end)

  it("are all here, each saying what it attacks", function()
    assert.truthy(#names >= 12, #names .. " files")
    for _, f in ipairs(names) do
      local first = io.open(TOPO_DIR .. "/" .. f):read("l")
      assert.truthy(first and first:match("^%-%- %S"), f .. " starts with a comment saying what it attacks")
    end
  end)

  for _, f in ipairs(names) do
    for _, mode in ipairs(H.modes) do
      it("net check, explain, up, status and exec of " .. f .. " refuse it within the bounds and change nothing (" ..
        mode .. ")", function()
        local cmds = {}
        for _, c in ipairs(net_commands(f)) do
          -- Rootless, every command goes through the same load as root's: check suffices.
          if mode == "root" or c[1] == "net check" then cmds[#cmds + 1] = c end
        end
        for i, r in ipairs(world_run(dir, cmds, mode)) do
          assert_refused(r, f, cmds[i][1] .. " " .. f .. " (" .. mode .. ")")
        end
      end)
    end
  end

  it("a topology goes through the profiles' evaluator: net check of every hostile profile is bounded too", function()
    local list = files()
    local pdir = readable_copy(DIR, list)
    local cmds = {}
    for i, f in ipairs(list) do cmds[i] = { "net check " .. f, { "net", "check", f } } end
    for i, r in ipairs(world_run(pdir, cmds, "root")) do assert_refused(r, list[i], cmds[i][1]) end
    H.rm(pdir)
  end)

  it("a topology file that is a FIFO, a device, or over 1 MiB is refused without reading it", function()
    local gdir = H.tmpdir()
    write(gdir .. "/big.lua", "return {}\n" .. (" "):rep(1 << 20))
    assert.equal(0, H.sh("mkfifo -m 644 " .. H.quote(gdir .. "/fifo.lua") .. " && ln -s /dev/zero " ..
      H.quote(gdir .. "/zero.lua")).code)
    for _, mode in ipairs(H.modes) do
      local cmds, files = {}, {}
      for _, f in ipairs({ "big.lua", "fifo.lua", "zero.lua" }) do
        for _, c in ipairs(net_commands(f)) do
          cmds[#cmds + 1], files[#cmds + 1] = { c[1] .. " " .. f .. " (" .. mode .. ")", c[2] }, f
        end
      end
      for i, r in ipairs(world_run(gdir, cmds, mode)) do assert_refused(r, files[i], cmds[i][1]) end
    end
    H.rm(gdir)
  end)
end)

-- What a message says about a value of the wrong type (issue #9 review, minor items): never
-- a heap address ("table: 0x55…"), and what was expected; and an internal error is one
-- line asking for a report, its traceback only with LUNSHARE_DEBUG.
describe("messages about values", function()
  it("name a table's type, never its address, wherever a value is quoted", function()
    for _, field in ipairs({ "seccomp = { deny = { chown = {} } }", "seccomp = { deny = { chown = print } }",
      "network = { veth = { routes = { { to = {} } } } }", "user = { map = {{0, {}, 1}} }" }) do
      local r = H.lunshare({ "check", H.profile("return { extends = 'default', " .. field .. " }") })
      assert.equal(2, r.code, field .. ": " .. r.err)
      assert.falsy(r.err:find("0x%x%x%x%x"), field .. ": " .. r.err)
    end
    local r = H.lunshare({ "check", H.profile("return { extends = 'default', seccomp = { deny = { chown = {} } } }") })
    assert.truthy(r.err:find("seccomp.deny.chown: expected an errno name like \"EPERM\" or a number, got a table", 1, true), r.err)
  end)

  it("say an integer was expected in a map range, and count >= 1 only for the count", function()
    local r = H.lunshare({ "check", H.profile("return { extends = 'default', user = { map = {{0, 0.0, 1}} } }") })
    assert.truthy(r.err:find("user.map[1]: expected {inside, outside, count}: three integers, got 0, 0.0, 1", 1, true), r.err)
    r = H.lunshare({ "check", H.profile("return { extends = 'default', user = { map = {{0, 0, 0}} } }") })
    assert.truthy(r.err:find("user.map[1]: expected {inside, outside, count} with count >= 1, got count 0", 1, true), r.err)
  end)

  it("an internal error is one line and asks for a report", function()
    local dir = os.tmpname() .. ".d"
    finally(function() H.sh("rm -rf " .. H.quote(dir)) end)
    assert(H.sh("mkdir -p " .. dir .. "/lunshare && printf '%s' " ..
      H.quote("return { main = function() local t = nil; return t.x end }") .. " > " .. dir .. "/lunshare/cli.lua").code == 0)
    local r = H.sh("LUNSHARE_SCRIPTS=" .. H.quote(dir) .. " " .. H.quote(H.bin) .. " check x")
    assert.equal(1, r.code, r.err)
    assert.equal(1, #H.lines(r.err), r.err)
    assert.truthy(r.err:find("^lunshare: internal error %(please report%): "), r.err)
    assert.falsy(r.err:find("traceback", 1, true), r.err)
    r = H.sh("LUNSHARE_DEBUG=1 LUNSHARE_SCRIPTS=" .. H.quote(dir) .. " " .. H.quote(H.bin) .. " check x")
    assert.truthy(r.err:find("stack traceback", 1, true), r.err)
  end)
end)
