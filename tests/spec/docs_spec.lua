-- The man pages document every subcommand and every profile field. #unit
local H = require "helpers"

describe("the man pages", function()
  -- One version, CMakeLists.txt's project(): the pages' headers say it (rockspec_spec
  -- holds the rockspec to it), and the built module reports it.
  it("say the project's version, CMakeLists.txt's, in their headers", function()
    local version = H.read(H.root .. "/CMakeLists.txt"):match("project%(lunshare VERSION ([%d%.]+)")
    assert.truthy(version)
    for _, page in ipairs({ "lunshare.1", "lunshare-profile.5", "lunshare-lua.3" }) do
      local th = H.read(H.root .. "/docs/" .. page):match("^%.TH [^\n]-\"lunshare ([^\"]+)\"")
      assert.equal(version, th, page)
    end
    assert.equal(version, require("lunshare.core").version)
    -- No other copy of it to drift: lunshare.version's entry names none.
    local lua = H.read(H.root .. "/docs/lunshare-lua.3")
    local entry = lua:match("\n\\fBlunshare%.version\\fR\n(.-)\n%.TP")
    assert.truthy(entry)
    assert.is_nil(entry:find("%d+%.%d+%.%d+"), entry)
  end)

  it("lunshare(1) has an entry for every subcommand", function()
    local page = H.read(H.root .. "/docs/lunshare.1")
    local commands = page:match("\n%.SH COMMANDS(\n.-\n)%.SH ")
    assert.truthy(commands)
    for _, c in ipairs(require("lunshare.cli").COMMANDS) do
      local entry = commands:find("\n%.TP\n%.B[IR]* \"?" .. c .. "[ \"\n]") or
        commands:find("\n%.TP\n%.BR? [%w ,\"]*" .. c .. "[ \"\n,]")
      assert.truthy(entry, "lunshare(1) has no entry for '" .. c .. "'")
    end
  end)

  it("lunshare-profile(5) has an entry for every field", function()
    local page = H.read(H.root .. "/docs/lunshare-profile.5")
    local fields = page:match("\n%.SH FIELDS(\n.-)\n%.SH ")
    assert.truthy(fields)
    -- An entry's heading: the line after .TP, naming one field or a few ("a", "b").
    local headed = {}
    for line in fields:gmatch("\n%.TP\n(%.B[^\n]*)") do
      for w in line:gmatch("[%w_]+") do headed[w] = true end
    end
    for _, f in ipairs(require("lunshare.schema").FIELDS) do
      assert.truthy(headed[f], "lunshare-profile(5) has no entry for '" .. f .. "'")
    end
  end)
end)
