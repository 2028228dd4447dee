-- What a profile writes never reaches the terminal raw: check, explain, explain --json and
-- diff print every string a profile controls (descriptions, paths, field names, values,
-- parameters) with its control characters escaped, so that a profile cannot move the
-- cursor, erase or reorder what the person reviewing it reads. #integration
local H = require "helpers"

-- Terminal controls: ESC sequences (cursor up, erase, set the title), CR, tab, BEL, DEL,
-- the C1 CSI (U+009B) and a right-to-left override (U+202E).
local NASTY = "\27[3A\27[J\r\t\7\127\194\155\226\128\174"
-- The same, as it is written inside a Lua string in a profile.
local NASTY_SRC = [[\27[3A\27[J\r\t\7\127\194\155\226\128\174]]

local function profile_source(x)
  return ([[
local p = params { mode = { default = "d@X" }, other = { default = "o" } }
return {
  description = "a description@X",
  namespaces = { "user", "mount", "pid", "net", "uts" },
  hostname = "box",
  mounts = {
    ro_bind "/usr",
    bind_try("/nonexistent@X", "/mnt/in@X"),
    tmpfs "/tmp@X",
    symlink("target@X", "/link@X"),
    file("/etc/motd@X", "content@X"),
    dir "/dir@X",
    proc "/proc",
  },
  env = { set = { VALUE = "v@X" .. p.mode } },
  cwd = "/tmp@X",
  command = { "/bin/echo", "arg@X" },
}
]]):gsub("@X", x)
end

-- Bytes a terminal acts on, other than the newline: C0 controls, DEL, C1 controls as
-- UTF-8, and the bidirectional overrides and isolates.
local function raw_controls(s)
  return s:find("[%z\1-\9\11-\31\127]") or s:find("\194[\128-\159]") or s:find("\226\128[\170-\174]") or
    s:find("\226\129[\166-\169]")
end

local function count_lines(s) return select(2, s:gsub("\n", "")) end

local hostile, clean
setup(function()
  hostile = H.profile(profile_source(NASTY_SRC))
  clean = H.profile(profile_source("_"))
end)
teardown(function()
  os.remove(hostile)
  os.remove(clean)
end)

describe("profile text on the terminal", function()
  it("explain escapes it and keeps the plan's lines what the tool laid out", function()
    local set = { "--set", "mode=s" .. NASTY }
    local r = H.lunshare({ "explain", hostile, table.unpack(set) })
    assert.equal(0, r.code, r.err)
    assert.falsy(raw_controls(r.out), r.out)
    assert.falsy(raw_controls(r.err), r.err)
    assert.truthy(r.out:find("a description\\x1b[3A\\x1b[J\\r\\t\\x07\\x7f\\u{9b}\\u{202e}", 1, true), r.out)
    assert.truthy(r.out:find("parameters: mode=s\\x1b[3A", 1, true), r.out)
    -- Shell commands quote such a word as $'…', which reads back to the same bytes.
    assert.truthy(r.out:find("$'/newroot/tmp\\x1b[3A\\x1b[J\\r\\t\\x07\\x7f\\xc2\\x9b\\xe2\\x80\\xae'", 1, true), r.out)
    local c = H.lunshare({ "explain", clean, "--set", "mode=s_" })
    assert.equal(0, c.code, c.err)
    assert.equal(count_lines(c.out), count_lines(r.out))
  end)

  it("explain --json escapes every control character as JSON does", function()
    local r = H.lunshare({ "explain", "--json", hostile, "--set", "mode=s" .. NASTY })
    assert.equal(0, r.code, r.err)
    assert.falsy(raw_controls(r.out), r.out)
    assert.truthy(r.out:find("/tmp\\u001b[3A\\u001b[J\\r\\t\\u0007\\u007f\\u009b\\u202e", 1, true), r.out)
  end)

  it("diff escapes it", function()
    local r = H.lunshare({ "diff", "default", hostile })
    assert.equal(1, r.code, r.err)
    assert.falsy(raw_controls(r.out), r.out)
    assert.truthy(r.out:find("/mnt/in\\x1b[3A", 1, true), r.out)
    local c = H.lunshare({ "diff", "default", clean })
    assert.equal(count_lines(c.out), count_lines(r.out))
  end)

  it("check escapes it in errors: field names, values, paths, parameters, one line each", function()
    local bad = H.profile(([[
local p = params { mode = { values = { "a", "b" }, default = "a" } }
return {
  ["field@X"] = 1,
  namespaces = { "user", "mount", "ns@X" },
  hostname = "host@X",
  mounts = { tmpfs "relative@X", { kind = "kind@X" } },
  env = { set = { ["bad name@X"] = "v" } },
  cwd = "cwd@X",
}
]]):gsub("@X", NASTY_SRC))
    local r = H.lunshare({ "check", bad, "--set", "mode=c" .. NASTY })
    os.remove(bad)
    assert.equal(2, r.code)
    assert.falsy(raw_controls(r.err), r.err)
    for _, want in ipairs({ "field\\x1b[3A", "ns\\x1b[3A", "host\\x1b[3A", "relative\\x1b[3A", "kind\\x1b[3A",
      "bad name\\x1b[3A", "cwd\\x1b[3A", "--set mode=c\\x1b[3A" }) do
      assert.truthy(r.err:find(want, 1, true), want .. " in " .. r.err)
    end
    -- Eight errors, eight lines: none of them is split by a line break of its own.
    assert.equal(8, count_lines(r.err), r.err)
  end)

  it("the errors explain and diff print through main are escaped too", function()
    local bad = H.profile("return { cwd = 'x" .. NASTY_SRC .. "\\nlunshare: ok' }\n")
    for _, args in ipairs({ { "explain", bad }, { "diff", "default", bad }, { "run", bad } }) do
      local r = H.lunshare(args)
      assert.equal(2, r.code)
      assert.falsy(raw_controls(r.err), r.err)
      assert.equal(1, count_lines(r.err), r.err)
    end
    os.remove(bad)
  end)

  -- A backslash of the profile's own is escaped too (\\), once, so that text holding a
  -- backslash and an n cannot pass for a newline escaped as \n: the two read apart in
  -- check, explain and diff, and nothing is escaped twice (\\\\n).
  it("a real newline and a backslash-n read apart, each escaped once", function()
    local function src(x)
      return "return {\n  description = 'one" .. x .. "two',\n  namespaces = { 'user', 'mount', 'uts' },\n" ..
        "  hostname = 'bad" .. x .. "host',\n  mounts = { ro_bind '/usr', tmpfs '/tmp/a" .. x .. "b' },\n" ..
        "  command = { '/bin/echo', 'x" .. x .. "y' },\n}\n"
    end
    -- In the profile's source: "\n" is a newline, "\\n" a backslash and an n.
    local real, literal = H.profile(src("\\n")), H.profile(src("\\\\n"))
    finally(function() os.remove(real) os.remove(literal) end)
    local function fixed(p)
      -- The same profile with a valid hostname, for explain and diff.
      local f = H.profile((H.read(p):gsub("hostname = '[^\n]*',", "hostname = 'box',")))
      return f
    end
    local out = {}
    for name, p in pairs({ real = real, literal = literal }) do
      local c = H.lunshare({ "check", p })
      assert.equal(2, c.code, c.err)
      local f = fixed(p)
      local e = H.lunshare({ "explain", f })
      local d = H.lunshare({ "diff", "default", f })
      os.remove(f)
      assert.equal(0, e.code, e.err)
      assert.equal(1, d.code, d.err)
      out[name] = { check = c.err, explain = e.out, diff = d.out }
    end
    assert.truthy(out.real.check:find("got 'bad\\nhost'", 1, true), out.real.check)
    assert.truthy(out.literal.check:find("got 'bad\\\\nhost'", 1, true), out.literal.check)
    assert.truthy(out.real.explain:find("\n  one\\ntwo\n", 1, true), out.real.explain)
    assert.truthy(out.literal.explain:find("\n  one\\\\ntwo\n", 1, true), out.literal.explain)
    assert.truthy(out.real.diff:find("/tmp/a\\nb", 1, true), out.real.diff)
    assert.truthy(out.literal.diff:find("/tmp/a\\\\nb", 1, true), out.literal.diff)
    -- The command's words as diff lists them: quoted, and escaped once (not $'…' escaped again).
    assert.truthy(out.real.diff:find('/bin/echo "x\\ny"', 1, true), out.real.diff)
    assert.truthy(out.literal.diff:find('/bin/echo "x\\\\ny"', 1, true), out.literal.diff)
    for _, part in ipairs({ "check", "explain", "diff" }) do
      assert.are_not.equal(out.real[part], out.literal[part])
      assert.falsy(out.literal[part]:find("\\\\\\", 1, true), "escaped twice: " .. out.literal[part])
    end
  end)
end)
