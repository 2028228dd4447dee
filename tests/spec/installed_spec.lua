-- What install shows of a recipe's parameters and run compares against (lunshare.installed):
-- each value of a boolean or `values` parameter evaluated alone, the others at their
-- defaults, at most MAX_CHOICES in all; an integer shown at its default. #unit
local installed = require "lunshare.installed"
local profile = require "lunshare.profile"

local tmpdir = require "tmpdir"

local function decls(spec)
  local out = {}
  for k, d in pairs(spec) do out[k] = { decl = d } end
  return out
end

describe("installed.choices", function()
  it("takes each value but the default of a boolean and a values list, and names an integer apart", function()
    local cs, left, unshown = installed.choices(decls({
      b = { type = "boolean", default = false },
      m = { values = { "quiet", "loud", "louder" }, default = "quiet" },
      n = { type = "integer", default = 0 },
      x = { default = 1.5 },
      s = { default = "/srv" },
    }))
    assert.same({ { k = "b", v = true }, { k = "m", v = "loud" }, { k = "m", v = "louder" } }, cs)
    assert.equal(0, left)
    assert.same({ "n", "x" }, unshown)
  end)

  it("stops at MAX_CHOICES values, however many parameters and values there are", function()
    local spec = {}
    for i = 1, 20 do
      local vs = {}
      for j = 1, 10 do vs[j] = j end
      spec["p" .. i] = { values = vs, default = 1 }
    end
    local cs, left = installed.choices(decls(spec))
    assert.equal(installed.MAX_CHOICES, #cs)
    assert.equal(20 * 9 - installed.MAX_CHOICES, left)
  end)
end)

describe("installed.shown", function()
  it("is the defaults' grants, with each value's additions named and in the union", function()
    local dir = tmpdir({ ["p.lua"] = [[
local p = params { loud = { type = "boolean", default = false }, n = { type = "integer", default = 0 } }
local m = {}
if p.loud then m[1] = ro_bind("/usr/share", "/loud") end
if p.n > 0 then m[#m + 1] = ro_bind("/usr/lib", "/n") end
return { extends = "builtin:base-tool", mounts = m }
]] })
    local function load(set) return (profile.load(dir .. "/p.lua", { set = set, placeholders = true })) end
    local s = installed.shown(load({}), load)
    local function has(t, item)
      for _, items in pairs(t) do
        for _, x in ipairs(items) do if x:find(item, 1, true) then return true end end
      end
      return false
    end
    assert.falsy(has(s.base, "/loud"))
    assert.truthy(has(s.union, "/loud from the host's /usr/share"))
    assert.falsy(has(s.union, "/n from"))
    assert.equal(1, #s.extras)
    assert.equal("loud", s.extras[1].k)
    assert.equal(true, s.extras[1].v)
    assert.same({ "n" }, s.unshown)
  end)
end)
