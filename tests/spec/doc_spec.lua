-- The man pages are the API's documentation and the REPL's help: every function of
-- lunshare and lunshare.core, every method of a handle or a live network object, every
-- profile field and constructor has an entry, and every entry a thing it documents. #unit
local H = require "helpers"
local doc = require "lunshare.doc"
local lunshare = require "lunshare"
local core = require "lunshare.core"

local function page(name)
  local f = assert(io.open(H.root .. "/docs/" .. name))
  local text = f:read("a")
  f:close()
  return doc.parse(text)
end

local LUA = page("lunshare-lua.3")
local PROFILE = page("lunshare-profile.5")

local function documented(name)
  return LUA.by_name[name] ~= nil
end

-- What is missing, as one message per list.
local function none_missing(what, list)
  table.sort(list)
  assert(#list == 0, what .. ": " .. table.concat(list, ", "))
end

-- The names an entry of the Lua page documents under a prefix ("core." or "link:").
local function entries_under(prefix)
  local out = {}
  for name in pairs(LUA.by_name) do
    if name:sub(1, #prefix) == prefix then out[#out + 1] = name:sub(#prefix + 1) end
  end
  return out
end

describe("lunshare-lua(3) #unit", function()
  it("documents every function and value of lunshare.core, and nothing else under core.", function()
    local missing, stale = {}, {}
    for k in pairs(core) do
      if not documented("core." .. k) then missing[#missing + 1] = "core." .. k end
    end
    for _, k in ipairs(entries_under("core.")) do
      if core[k] == nil then stale[#stale + 1] = "core." .. k end
    end
    none_missing("no entry in docs/lunshare-lua.3", missing)
    none_missing("entries for what lunshare.core does not have", stale)
  end)

  it("documents every function and part of lunshare", function()
    local missing, stale = {}, {}
    for _, k in ipairs(entries_under("lunshare.")) do
      if lunshare[k] == nil then stale[#stale + 1] = "lunshare." .. k end
    end
    for k in pairs(lunshare) do
      if not documented("lunshare." .. k) then missing[#missing + 1] = "lunshare." .. k end
    end
    none_missing("no entry in docs/lunshare-lua.3", missing)
    none_missing("entries for what lunshare does not have", stale)
  end)

  it("documents every method of every kind of handle", function()
    -- The cgroup handle's metatable is made with its first handle: a bad name makes it
    -- and nothing else.
    assert.is_nil((core.cgroup_create("/", {})))
    local reg, missing, stale, kinds = debug.getregistry(), {}, {}, 0
    for name, mt in pairs(reg) do
      if type(name) == "string" and name:match("^lunshare%.%u") and type(mt) == "table" and
          type(mt.__index) == "table" then
        kinds = kinds + 1
        local prefix = doc.HANDLES[name]
        if not prefix then
          missing[#missing + 1] = name .. " (a handle doc.HANDLES does not name)"
        else
          for k in pairs(mt.__index) do
            if not documented(prefix .. ":" .. k) then missing[#missing + 1] = prefix .. ":" .. k end
          end
          for _, k in ipairs(entries_under(prefix .. ":")) do
            if mt.__index[k] == nil then stale[#stale + 1] = prefix .. ":" .. k end
          end
        end
      end
    end
    assert.is_true(kinds >= 3, "the fd, netlink and cgroup handles")
    none_missing("no entry in docs/lunshare-lua.3", missing)
    none_missing("entries for methods handles do not have", stale)
  end)

  it("documents every function and method of the live network objects", function()
    local ip = lunshare.ip
    local missing, stale = {}, {}
    for k, v in pairs(ip) do
      if type(v) == "function" and not documented("ip." .. k) then missing[#missing + 1] = "ip." .. k end
      if type(v) == "table" and k ~= "classes" then
        if getmetatable(v) and getmetatable(v).__call and not documented("ip." .. k) then
          missing[#missing + 1] = "ip." .. k .. "(…)"
        end
        for f in pairs(v) do
          if not documented("ip." .. k .. "." .. f) then missing[#missing + 1] = "ip." .. k .. "." .. f end
        end
      end
    end
    local classes = assert(ip.classes, "lunshare.ip names its classes for help")
    for prefix, class in pairs(classes) do
      for k, v in pairs(class) do
        if type(v) == "function" and not k:match("^__") and not documented(prefix .. ":" .. k) then
          missing[#missing + 1] = prefix .. ":" .. k
        end
      end
      for _, k in ipairs(entries_under(prefix .. ":")) do
        if type(class[k]) ~= "function" then stale[#stale + 1] = prefix .. ":" .. k end
      end
    end
    for _, k in ipairs(entries_under("ip.")) do
      local v = ip
      for part in k:gmatch("[^.]+") do v = type(v) == "table" and v[part] or nil end
      if v == nil then stale[#stale + 1] = "ip." .. k end
    end
    none_missing("no entry in docs/lunshare-lua.3", missing)
    none_missing("entries for what lunshare.ip does not have", stale)
  end)

  it("documents the REPL's own globals and the core functions it changes", function()
    local repl = require "lunshare.repl"
    local env = repl.env()
    local constructors = require("lunshare.profile").constructors()
    local missing = {}
    for k in pairs(env) do
      if k ~= "lunshare" and k ~= "core" and not constructors[k] and not documented(k) then
        missing[#missing + 1] = k
      end
    end
    for k, v in pairs(env.core) do
      if v ~= core[k] then
        local repl_entry = false
        for _, e in ipairs(LUA.by_name["core." .. k] or {}) do
          repl_entry = repl_entry or e.section == "THE REPL"
        end
        if not repl_entry then missing[#missing + 1] = "core." .. k .. " (as the REPL has it)" end
      end
    end
    none_missing("no entry in THE REPL of docs/lunshare-lua.3", missing)
  end)

  it("documents every method of the REPL's sandbox (sb), and no other", function()
    local class = require("lunshare.repl_sandbox").class
    local missing, stale = {}, {}
    for k, v in pairs(class) do
      if type(v) == "function" and not k:match("^__") and not documented("sb:" .. k) then
        missing[#missing + 1] = "sb:" .. k
      end
    end
    for _, k in ipairs(entries_under("sb:")) do
      if type(class[k]) ~= "function" then stale[#stale + 1] = "sb:" .. k end
    end
    none_missing("no entry in docs/lunshare-lua.3", missing)
    none_missing("entries for what sb does not have", stale)
    assert.equal(doc.render(LUA.by_name["sb:exec"][1]), doc.help(class.exec, require("lunshare.repl").env()))
  end)
end)

describe("lunshare-profile(5) #unit", function()
  local function section(name)
    local out = {}
    for _, e in ipairs(PROFILE.entries) do
      if e.section == name then
        for _, n in ipairs(e.names) do out[n] = e end
      end
    end
    return out
  end

  it("documents every field of the schema under FIELDS, and no other", function()
    local fields, missing, stale = section("FIELDS"), {}, {}
    local schema = require "lunshare.schema"
    for _, f in ipairs(schema.FIELDS) do
      if not fields[f] then missing[#missing + 1] = f end
    end
    for f in pairs(fields) do
      if not require("lunshare.util").contains(schema.FIELDS, f) then stale[#stale + 1] = f end
    end
    none_missing("no entry under FIELDS in docs/lunshare-profile.5", missing)
    none_missing("entries under FIELDS for what the schema does not have", stale)
  end)

  it("documents every constructor under HELPERS, and no other", function()
    local helpers, missing, stale = section("HELPERS"), {}, {}
    local constructors = require("lunshare.profile").constructors()
    constructors.params = true
    for k in pairs(constructors) do
      if not helpers[k] then missing[#missing + 1] = k end
    end
    for k in pairs(helpers) do
      if not constructors[k] then stale[#stale + 1] = k end
    end
    none_missing("no entry under HELPERS in docs/lunshare-profile.5", missing)
    none_missing("entries under HELPERS for what profiles do not have", stale)
  end)
end)

describe("help() reads the man pages #unit", function()
  local env = require("lunshare.repl").env()

  local function entry(page_, name) return assert(page_.by_name[name], name)[1] end

  it("prints a function's entry, found by the value or by a name", function()
    local want = doc.render(entry(LUA, "core.ns_open"))
    assert.equal(want, doc.help(core.ns_open, env))
    assert.equal(want, doc.help(env.core.ns_open, env))
    assert.equal(want, doc.help("ns_open", env))
    assert.equal(want, doc.help("core.ns_open", env))
    assert.truthy(want:find("^core%.ns_open%(pid, kind%) "), want)
  end)

  it("prints a field's and a constructor's entry of lunshare-profile(5)", function()
    local fields = {}
    for _, e in ipairs(PROFILE.entries) do
      if e.section == "FIELDS" and e.names[1] == "mounts" then fields.mounts = e end
      if e.section == "HELPERS" and e.names[1] == "ro_bind" then fields.ro_bind = e end
    end
    assert.equal(doc.render(fields.mounts), doc.help("mounts", env))
    assert.equal(doc.render(fields.ro_bind), doc.help(env.ro_bind, env))
  end)

  it("lists a handle's methods, and the API by area", function()
    local h <close> = assert(core.ns_open(0, "net"))
    local text = doc.help(h, env)
    assert.truthy(text:find("handle:close", 1, true), text)
    assert.truthy(text:find("handle:fileno", 1, true), text)
    local all = doc.help(nil, env)
    for _, line in ipairs({ "lunshare.core: namespaces", "handles: netlink handles",
      "live network objects: links", "profile fields (lunshare-profile(5))" }) do
      assert.truthy(H.has_line(all, line), line .. "\n" .. all)
    end
  end)

  it("gives the live network objects' entries under ip, the name of the API, in help and completion", function()
    local want = doc.render(LUA.by_name["ip.link.add"][1])
    assert.equal(want, doc.help("ip.link.add", env))
    assert.equal(want, doc.help(lunshare.ip.link.add, env))
    assert.truthy(doc.help("ip", env):find("^LIVE NETWORK OBJECTS\n"), doc.help("ip", env))
    local names = {}
    for _, n in ipairs(doc.names()) do names[n] = true end
    assert.is_true(names["ip.link.add"] and names["ip.netns.add"] and names["ip.route.list"])
    for n in pairs(names) do assert.is_nil(n:match("^net%."), n) end
  end)

  it("suggests the nearest name for one it does not know", function()
    assert.truthy(doc.help("ns_opne", env):find("did you mean 'ns_open'?", 1, true))
  end)
end)
