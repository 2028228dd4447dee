-- The public header documents every plan op and its fields, as the op tables have them:
-- a C program that builds a plan by hand reads them there. #unit
local H = require "helpers"

describe("lunshare.h", function()
  it("lists every op of the executor with its phase and each field with its type", function()
    local core = require "lunshare.core"
    local header = H.read(H.root .. "/core/include/lunshare.h")
    -- The entries, continuation lines joined.
    local doc = {}
    for name, rest in header:gsub("\n %*       ", " "):gmatch("\n %*   ([%w_]+) (%[[^\n]*)") do doc[name] = rest end
    local n = 0
    for name, op in pairs(core.ops()) do
      n = n + 1
      local entry = doc[name]
      assert.truthy(entry, "lunshare.h does not document the op " .. name)
      assert.equal("[" .. op.phase .. "]", entry:match("^(%[[^%]]*%])"), name)
      for field, ty in pairs(op.fields) do
        local want = field .. " (" .. ty .. (op.required[field] and ", required)" or ")")
        assert.truthy(entry:find("%f[%w_]" .. want:gsub("[%(%)]", "%%%0"), 1),
          name .. ": " .. want .. " (lua5.4 tests/lib/header_ops.lua prints the list)")
      end
      doc[name] = nil
    end
    assert.truthy(n > 30, n)
    assert.same({}, doc)
  end)
end)
