-- Error lines stay right after whatever spans lines or hides them: long comments and
-- strings of every level, escaped line breaks and \z in short strings, and each of the
-- line endings Lua reads (\n, \r\n, \r, \n\r). Each case puts an error after one of these
-- and asserts the line `check` reports, which comes from the source map's tokenizer.
-- #unit
local errors_of = require "profile_errors"

local BAD_CWD = "cwd: expected an absolute path, got 'relative'"

-- The profile errors of src, which must be exactly one: the bad cwd, on line `line`.
local function assert_cwd_line(line, src)
  assert.same({ "t.lua:" .. line .. ": " .. BAD_CWD }, errors_of(src))
end

describe("error lines after text that spans lines #unit", function()
  it("follow a long comment", function()
    assert_cwd_line(5, "return {\n  --[[ a comment\n  over three\n  lines ]]\n  cwd = 'relative',\n}\n")
  end)

  it("follow a long comment of a higher level holding ]] and [[", function()
    assert_cwd_line(6, "return {\n  --[==[ level 2\n  ]] is not its end\n  nor is [[ a start\n  ]==]\n  cwd = 'relative',\n}\n")
  end)

  it("follow a long comment that begins the file", function()
    assert_cwd_line(4, "--[[\nabout this profile\n]] return {\n  cwd = 'relative',\n}\n")
  end)

  it("follow a short comment holding brackets and quotes", function()
    assert_cwd_line(3, "return {\n  -- not long: [[ ' \" \n  cwd = 'relative',\n}\n")
  end)

  it("follow a long string", function()
    assert_cwd_line(6, "return {\n  description = [[\nfirst\nsecond\n]],\n  cwd = 'relative',\n}\n")
  end)

  it("follow a long string of a higher level holding ]]", function()
    assert_cwd_line(5, "return {\n  description = [=[a ]] b\n]]\n]=],\n  cwd = 'relative',\n}\n")
  end)

  it("follow a long string in a constructor call", function()
    local src = "return {\n  namespaces = { 'mount' },\n  mounts = {\n    file('/etc/motd', [[\nhello\nthere\n]]),\n" ..
      "    tmpfs 'relative',\n  },\n}\n"
    assert.same({ "t.lua:8: mounts[2].dst: expected an absolute path inside the sandbox, got 'relative'" },
      errors_of(src))
  end)

  it("follow a short string with escaped line breaks", function()
    assert_cwd_line(5, "return {\n  description = 'one\\\ntwo\\\nthree',\n  cwd = 'relative',\n}\n")
  end)

  it("follow a short string with \\z skipping line breaks", function()
    assert_cwd_line(6, "return {\n  description = 'one \\z\n\n     two \\z\n  three',\n  cwd = 'relative',\n}\n")
  end)

  it("follow strings that look like comments, and escaped quotes", function()
    assert_cwd_line(4, "return {\n  description = \"--[[ not a comment \\\" still the string\",\n" ..
      "  command = { '--[==[' },\n  cwd = 'relative',\n}\n")
  end)
end)

describe("error lines with every line ending Lua reads #unit", function()
  local src = { "return {", "  --[[ a", "  comment ]]", "  description = [[a", "b]],", "  cwd = 'relative',", "}", "" }

  for name, eol in pairs({ ["\\n"] = "\n", ["\\r\\n"] = "\r\n", ["\\r"] = "\r", ["\\n\\r"] = "\n\r" }) do
    it("counts " .. name .. " as one line break", function()
      assert_cwd_line(6, table.concat(src, eol))
    end)
  end

  it("ends a short comment at a lone \\r, as Lua does", function()
    assert_cwd_line(4, "return {\n  -- comment\r  description = 'x', -- more\r  cwd = 'relative',\n}\n")
  end)
end)

describe("keys written with escapes #unit", function()
  it("are read as Lua reads them, so their own line is found", function()
    local src = "return {\n  env = {\n    set = {\n      A = 'x',\n      ['B\\x43\\068\\u{45}'] = 5,\n    },\n  },\n}\n"
    assert.same({ "t.lua:5: env.set.BCDE: expected a string, got number" }, errors_of(src))
  end)
end)
