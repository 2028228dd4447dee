-- The areas' contract (lunshare.areas): each area in the list has what the contract says
-- it has, every profile field has exactly one owner (an area, or the schema's core), and
-- the area context holds what the areas are told to take from it. #unit
local H = require "helpers"
local areas = require "lunshare.areas"
local profile = require "lunshare.profile"
local schema = require "lunshare.schema"

-- The areas areas.lua's header names, in its order, with the fields it says each owns:
-- "--   mounts     the filesystem view (mounts, root)".
local function documented()
  local out, text = {}, {}
  -- An entry may go on over lines indented under its text.
  for line in H.read(H.root .. "/scripts/lunshare/areas.lua"):gmatch("[^\n]+") do
    if not line:match("^%-%-") then break end
    if line:match("^%-%-   %l+ +%S") then
      text[#text + 1] = line
    elseif line:match("^%-%-            +%S") and #text > 0 and not text[#text]:match("%)$") then
      text[#text] = text[#text] .. " " .. line:gsub("^%-%-%s+", "")
    end
  end
  for _, line in ipairs(text) do
    local name, fields = line:match("^%-%-   (%l+) +%S.-%(([%l_, ]+)%)$")
    if name then
      local list = {}
      for f in fields:gmatch("[%l_]+") do list[#list + 1] = f end
      out[#out + 1] = { name = name, fields = list }
    end
  end
  return out
end

local function sorted(list)
  local t = { table.unpack(list) }
  table.sort(t)
  return t
end

describe("areas #unit", function()
  it("lists the areas its header documents, each with the fields it owns", function()
    local doc = documented()
    assert.equal(#areas.LIST, #doc)
    for i, d in ipairs(doc) do
      assert.equal(require("lunshare." .. d.name), areas.LIST[i], d.name)
      assert.same(sorted(d.fields), sorted(areas.LIST[i].FIELDS), d.name)
    end
  end)

  it("gives each area FIELDS, check, plan and grants, and the optional parts their types", function()
    for i, area in ipairs(areas.LIST) do
      local name = documented()[i].name
      assert.is_table(area.FIELDS, name)
      assert.is_true(#area.FIELDS > 0, name)
      for _, f in ipairs(area.FIELDS) do assert.is_string(f, name) end
      for _, fn in ipairs({ "check", "plan", "grants" }) do assert.is_function(area[fn], name .. "." .. fn) end
      assert.truthy(area.finish == nil or type(area.finish) == "function", name .. ".finish")
      for k, v in pairs(area.constructors or {}) do
        assert.is_string(k, name)
        assert.is_function(v, name .. " constructor " .. tostring(k))
      end
      -- Merge rules only for the area's own fields.
      local own = {}
      for _, f in ipairs(area.FIELDS) do own[f] = true end
      for _, rules in ipairs({ area.MERGE or {}, area.MERGE_KEY or {} }) do
        for k in pairs(rules) do assert.is_true(own[k] == true, name .. ": a merge rule for " .. k .. ", not its own") end
      end
      for _, v in pairs(area.MERGE_KEY or {}) do assert.is_function(v, name) end
    end
  end)

  it("gives every profile field one owner: no two areas, and no area and the core", function()
    local owner = {}
    for _, f in ipairs(schema.CORE_FIELDS) do
      assert.is_nil(owner[f], f)
      owner[f] = "the schema's core"
    end
    for i, area in ipairs(areas.LIST) do
      local name = documented()[i].name
      for _, f in ipairs(area.FIELDS) do
        assert.is_nil(owner[f], f .. " is " .. tostring(owner[f]) .. "'s and " .. name .. "'s")
        owner[f] = name
      end
    end
    -- The schema knows exactly these, and areas.FIELDS is the areas' in their order.
    local all = {}
    for f in pairs(owner) do all[#all + 1] = f end
    assert.same(sorted(all), sorted(schema.FIELDS))
    local concat = {}
    for _, area in ipairs(areas.LIST) do
      for _, f in ipairs(area.FIELDS) do concat[#concat + 1] = f end
    end
    assert.same(concat, areas.FIELDS)
  end)

  it("lets no two areas offer a constructor of one name (merged, one would hide the other)", function()
    local seen = {}
    for i, area in ipairs(areas.LIST) do
      for k in pairs(area.constructors or {}) do
        assert.is_nil(seen[k], k .. " is " .. tostring(seen[k]) .. "'s and " .. documented()[i].name .. "'s")
        seen[k] = documented()[i].name
      end
    end
    local merged = areas.constructors()
    for _, area in ipairs(areas.LIST) do
      for k, v in pairs(area.constructors or {}) do assert.equal(v, merged[k], k) end
    end
  end)

  it("computes the context once: the namespace set, kept capabilities by any spelling, the caller, origins", function()
    local src = "return {\n  namespaces = { 'user', 'mount', 'net', 7 },\n  capabilities = { 'CAP_NET_ADMIN' },\n" ..
      "  mounts = { ro_bind '/usr', bind('/srv', '/srv') },\n}\n"
    local p = assert(profile.evaluate(src, "t.lua"))
    p._file, p._source = "t.lua", src
    local caller = { ids = { uid = 1000 } }
    local a = areas.context(p, caller)
    assert.same({ user = true, mount = true, net = true }, a.ns)
    assert.is_true(a.keeps("net_admin"))
    assert.is_true(a.keeps("CAP_NET_ADMIN"))
    assert.is_false(a.keeps("sys_admin"))
    assert.equal(caller, a.caller)
    assert.same({}, a.params)
    assert.is_function(a.origin)
    assert.is_function(a.own)
    assert.equal("mounts[2]", a.writable_host)
    -- A profile that failed its checks still gives a context: wrong types count as absent.
    local b = areas.context({ namespaces = "user", capabilities = 3 })
    assert.same({}, b.ns)
    assert.is_false(b.keeps("net_admin"))
    assert.is_nil(b.caller)
  end)
end)
