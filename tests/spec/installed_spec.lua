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

describe("installed: duplicates in a values list", function()
  it("are one value: not shown twice, and not counted against MAX_CHOICES", function()
    local vs = { "v1" }
    for _ = 1, 39 do vs[#vs + 1] = "v0" end
    vs[#vs + 1] = "evil"
    local cs, left = installed.choices(decls({ m = { values = vs, default = "v1" } }))
    assert.same({ { k = "m", v = "v0" }, { k = "m", v = "evil" } }, cs)
    assert.equal(0, left)
  end)
end)

-- The consent record install keeps in the manifest, which every run compares with.
describe("installed: the consent record in the manifest", function()
  local hex = string.rep("a", 64)
  it("parses back what it writes, items with any byte", function()
    local rec = { d = { ["host paths visible"] = { "/etc from the host's /etc", "/a b%c\t\"d\"" } },
      p = { ["host paths writable"] = { "/<dir> from the host's /<dir>" } } }
    local m, err, records = installed.parse_manifest(hex .. "  r.lua\n" .. hex .. "  other.lua\n" ..
      "consent r.lua\n" ..
      "grant r.lua d visible " .. installed.encode("/etc from the host's /etc") .. "\n" ..
      "grant r.lua d visible " .. installed.encode("/a b%c\t\"d\"") .. "\n" ..
      "grant r.lua p writable " .. installed.encode("/<dir> from the host's /<dir>") .. "\n")
    assert.is_nil(err)
    assert.same({ ["r.lua"] = hex, ["other.lua"] = hex }, m)
    assert.same(rec, records["r.lua"])
    assert.is_nil(records["other.lua"])
  end)

  it("refuses a malformed or dangling record, naming the line", function()
    for _, bad in ipairs({
      "grant r.lua d visible /x\n",                            -- before its consent line
      "consent r.lua\ngrant r.lua d nosuch /x\n",              -- no such category
      "consent r.lua\ngrant r.lua x visible /x\n",             -- no such kind
      "consent r.lua\ngrant r.lua d visible /x%zz\n",          -- bad escape
      "consent r.lua\nconsent r.lua\n",                        -- twice
      "consent gone.lua\n",                                    -- a file the manifest does not name
      "consent r.lua\ngrant r.lua c made /x\n",               -- a confinement in a record without them
      "consent r.lua kept\n",                                  -- no such mark
    }) do
      local m, err = installed.parse_manifest(hex .. "  r.lua\n" .. bad)
      assert.is_nil(m, bad)
      assert.truthy(err:find("^%.lunshare%-manifest:%d+: expected"), err)
    end
  end)

  it("parses back the confinements of a record marked with them, and writes them", function()
    local m, err, records = installed.parse_manifest(hex .. "  r.lua\n" ..
      "consent r.lua confines\n" ..
      "grant r.lua d visible /h\n" ..
      "grant r.lua c made " .. installed.encode("/h/.ssh (tmpfs)") .. "\n" ..
      "grant r.lua c limits cpu\n")
    assert.is_nil(err)
    assert.truthy(m)
    assert.same({ d = { ["host paths visible"] = { "/h" } }, p = {},
      c = { ["paths made inside"] = { "/h/.ssh (tmpfs)" }, ["limits"] = { "cpu" } } }, records["r.lua"])
    -- An empty set of confinements is a record with them (the mark), not an old record.
    local _, _, r2 = installed.parse_manifest(hex .. "  r.lua\nconsent r.lua confines\n")
    assert.same({}, r2["r.lua"].c)
  end)

  it("confines_of: the confining categories only", function()
    assert.same({ ["paths made inside"] = { "/tmp (tmpfs)" },
      ["limits"] = { "cpu soft 7200 hard 7200", "nofile soft 64 hard 64" },
      ["system calls"] = { "denied with EPERM: uname" } },
      installed.confines_of({ ["paths made inside"] = { "/tmp (tmpfs)" },
        ["limits"] = { "cpu soft 7200 hard 7200", "nofile soft 64 hard 64" },
        ["system calls"] = { "denied with EPERM: uname" },
        ["host paths visible"] = { "/usr from the host's /usr" } }))
  end)

  it("beyond: the first widening grant not in the record; placeholders take the run's value", function()
    local rec = { d = { ["host paths visible"] = { "/etc from the host's /etc" } },
      p = { ["host paths visible"] = { "/<dir> from the host's /<dir>" } } }
    local lines = { ["host paths visible"] = { "/etc from the host's /etc", "/srv/x from the host's /srv/x" } }
    package.loaded["lunshare.grants"].lines, package.loaded["lunshare.grants"].summary =
      (function(saved_lines, saved_summary)
        finally(function()
          package.loaded["lunshare.grants"].lines, package.loaded["lunshare.grants"].summary = saved_lines, saved_summary
        end)
        return function(s) return s end, function(p) return p end
      end)(package.loaded["lunshare.grants"].lines, package.loaded["lunshare.grants"].summary)
    assert.is_nil(installed.beyond(rec, lines, { dir = "/srv/x" }))
    local x = installed.beyond(rec, lines, { dir = "/srv/y" })
    assert.same({ category = "host paths visible", item = "/srv/x from the host's /srv/x" }, x)
    assert.same({ category = "host paths visible", item = "/etc from the host's /etc" },
      installed.beyond({ d = {}, p = {} }, lines, {}))
    -- A confinement of the record the run lacks: refused; one naming a placeholder is
    -- looked for at the run's value; a limit of its kind no higher.
    local hid = { ["host paths visible"] = { "/h from the host's /srv" }, ["paths made inside"] = { "/h/.ssh (tmpfs)" },
      ["limits"] = { "cpu soft 60 hard 60" } }
    local rec2 = { d = { ["host paths visible"] = { "/h from the host's /srv" } }, p = {},
      c = { ["paths made inside"] = { "/h/.ssh (tmpfs)", "/<d>/x (tmpfs)" }, ["limits"] = { "cpu soft 7200 hard 7200" } } }
    hid["paths made inside"][2] = "/srv/y/x (tmpfs)"
    assert.is_nil(installed.beyond(rec2, hid, { d = "/srv/y" }))
    assert.same({ category = "paths made inside", item = "/srv/z/x (tmpfs)", dropped = true },
      installed.beyond(rec2, hid, { d = "/srv/z" }))
    local open = { ["host paths visible"] = { "/h from the host's /srv" }, ["paths made inside"] = { "/srv/y/x (tmpfs)" },
      ["limits"] = { "cpu soft 7200 hard 7200" } }
    assert.same({ category = "paths made inside", item = "/h/.ssh (tmpfs)", dropped = true },
      installed.beyond(rec2, open, { d = "/srv/y" }))
    open["paths made inside"][2] = "/h/.ssh (tmpfs)"
    assert.is_nil(installed.beyond(rec2, open, { d = "/srv/y" }))
    for _, l in ipairs({ "cpu soft 7201 hard 7200", "cpu soft unlimited hard unlimited", "nofile soft 1 hard 1" }) do
      open.limits = { l }
      assert.same({ category = "limits", item = "cpu soft 7200 hard 7200", dropped = true },
        installed.beyond(rec2, open, { d = "/srv/y" }), l)
    end
    open.limits = nil
    assert.same({ category = "limits", item = "cpu soft 7200 hard 7200", dropped = true },
      installed.beyond(rec2, open, { d = "/srv/y" }))
  end)
end)
