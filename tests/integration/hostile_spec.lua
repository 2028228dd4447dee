-- Hostile profiles through the real binary: check, explain, diff and show of every profile in
-- tests/profiles/hostile (and of a few this spec generates: too big, or too many files, to
-- keep) end within the bounds, with exit 2 and exactly one line on stderr, never a
-- traceback. #integration
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
