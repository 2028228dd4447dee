-- Pure helpers. #unit
local util = require "lunshare.util"
local json = require "lunshare.json"

describe("util #unit", function()
  it("measures edit distance", function()
    assert.equal(0, util.distance("tmpfs", "tmpfs"))
    assert.equal(1, util.distance("tmpf", "tmpfs"))
    assert.equal(3, util.distance("", "abc"))
  end)

  it("suggests the nearest name only when it is near", function()
    assert.equal("tmpfs", util.nearest("tmpf", { "bind", "tmpfs", "proc" }))
    assert.is_nil(util.nearest("zzzzzzzz", { "bind", "tmpfs" }))
  end)

  it("quotes for the shell only when needed", function()
    assert.equal("/usr/bin", util.shell_quote("/usr/bin"))
    assert.equal("'a b'", util.shell_quote("a b"))
    assert.equal("'it'\\''s'", util.shell_quote("it's"))
  end)

  -- The REPL's sandbox hands words to the sandbox's /bin/sh (often dash, which has no
  -- $'…'): the one POSIX quote, which shell_quote also ends in.
  it("quotes any word for a POSIX sh, always, and dash reads it back", function()
    local H = require "helpers"
    assert.equal("'/usr/bin'", util.posix_quote("/usr/bin"))
    assert.equal("'it'\\''s'", util.posix_quote("it's"))
    for _, w in ipairs({ "it's", "a\nb", "$(id) `id` \\ \"", "", "tab\there" }) do
      local r = H.sh("dash -c " .. H.quote("printf %s " .. util.posix_quote(w)))
      assert.equal(w, r.out)
    end
  end)

  -- text() is what a message's untrusted parts go through, once: every input prints as
  -- its own text (a backslash doubled), where escape() leaves a backslash and so is
  -- idempotent but cannot tell "a<newline>b" from a backslash and an n.
  it("prints untrusted text unambiguously: a backslash doubled, controls escaped", function()
    assert.equal("a\\nb", util.text("a\nb"))
    assert.equal("a\\\\nb", util.text("a\\nb"))
    assert.equal("\\x1b[3A \\\\x1b", util.text("\27[3A \\x1b"))
    assert.equal("ab\\\\...[2 more bytes]", util.text("ab\\cd", 3))
    assert.equal(util.escape("a\nb"), util.escape("a\\nb"))
    assert.equal(util.escape("a\nb"), util.escape(util.escape("a\nb")))
    assert.equal('"a b"', util.value_text("a b"))
  end)
end)

describe("json #unit", function()
  it("encodes plain data with sorted keys", function()
    assert.equal('{"a":[1,2,"x"],"b":true}', json.encode({ b = true, a = { 1, 2, "x" } }))
  end)

  it("escapes control characters and quotes", function()
    assert.equal('"a\\n\\"b\\u0001"', json.encode("a\n\"b\1"))
  end)
end)

describe("json.decode #unit", function()
  it("decodes what encode makes, escapes and all", function()
    local v = { a = { 1, 2.5, "x\n\"\1é😀" }, b = true, c = false, d = {} }
    local back = assert(json.decode(json.encode(v)))
    assert.same(v, back)
    assert.equal("😀", json.decode('"\\ud83d\\ude00"'))
    assert.equal(json.null, json.decode(" null "))
    assert.same({ 1, json.null, 3 }, json.decode("[1,null,3]"))
  end)

  it("says what it expected and where, never what it found", function()
    for text, want in pairs({
      ['while true do end'] = "expected a value at byte 1",
      ['{"secret" 1}'] = "expected ':' at byte 11",
      ['[1,2'] = "expected ',' or ']' at byte 5",
      ['"abc'] = "expected a closing quote at byte 2",
      ['{"a":1} x'] = "expected the end of the text at byte 9",
      ['"a\\qb"'] = "expected an escape (\\\", \\\\, \\/, \\b, \\f, \\n, \\r, \\t or \\uXXXX) at byte 4",
    }) do
      local v, err = json.decode(text)
      assert.is_nil(v)
      assert.equal(want, err)
      assert.falsy(err:find("secret", 1, true) or err:find("while", 1, true))
    end
  end)

  it("is bounded in size, depth and number of values", function()
    assert.same({ nil, "larger than 1048576 bytes" }, { json.decode(string.rep(" ", (1 << 20) + 1) .. "1") })
    assert.same({ nil, "larger than 10 bytes" }, { json.decode("[1,2,3,4,5]", { max_size = 10 }) })
    assert.equal("expected at most 32 levels of nesting at byte 33",
      select(2, json.decode(string.rep("[", 33) .. string.rep("]", 33))))
    assert.truthy(json.decode(string.rep("[", 32) .. string.rep("]", 32)))
    assert.equal("more than 100000 values", select(2, json.decode("[" .. string.rep("0,", 100000) .. "0]")))
    assert.equal("more than 3 values", select(2, json.decode("[1,2,3]", { max_items = 3 })))
  end)
end)
