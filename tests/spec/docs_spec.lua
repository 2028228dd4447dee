-- The man pages document every subcommand and every profile field. #unit
local H = require "helpers"

describe("the man pages", function()
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
