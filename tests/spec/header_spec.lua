-- The public header documents every plan op and its fields, as the op tables have them:
-- a C program that builds a plan by hand reads them there. #unit
local H = require "helpers"

describe("lunshare.h", function()
  it("lists every op of the executor with where it runs and each field with its type", function()
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
      local where = {}
      for w in pairs(op.where) do where[#where + 1] = w end
      table.sort(where)
      assert.equal("[" .. table.concat(where, ", ") .. "]", entry:match("^(%[[^%]]*%])"), name)
      for field, ty in pairs(op.fields) do
        assert.truthy(entry:find("%f[%w_]" .. field .. " %(" .. ty), name .. "." .. field .. " (" .. ty .. ")")
      end
      doc[name] = nil
    end
    assert.truthy(n > 30, n)
    assert.same({}, doc)
  end)
end)
