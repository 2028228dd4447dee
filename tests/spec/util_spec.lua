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
end)

describe("json #unit", function()
  it("encodes plain data with sorted keys", function()
    assert.equal('{"a":[1,2,"x"],"b":true}', json.encode({ b = true, a = { 1, 2, "x" } }))
  end)

  it("escapes control characters and quotes", function()
    assert.equal('"a\\n\\"b\\u0001"', json.encode("a\n\"b\1"))
  end)
end)
