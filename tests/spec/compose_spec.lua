-- Provenance, composition and parameters: where each entry came from, how a profile
-- merges over the one it extends, and --set. #unit
local source_map = require "lunshare.source_map"
local compose = require "lunshare.compose"
local profile = require "lunshare.profile"
local diff = require "lunshare.diff"
local H = require "helpers"

local tmpdir = require "tmpdir"

describe("source map #unit", function()
  local src = [=[
-- a comment with { braces } and "quotes"
local extra = {
  { target = "/home" },
}
return {
  namespaces = { "user",
    "net" },
  list = {
    mk "/usr",
    mk { source = "/a",
      target = "/b" },
    [[long
string]],
  },
  extra = extra,
  f = function() return { 1, 2 } end,
  after = 1,
}
]=]
  it("maps nested field paths to their lines", function()
    local v = { namespaces = { "user", "net" }, list = { {}, { source = "/a", target = "/b" }, "x" },
      extra = { { target = "/home" } }, f = print, after = 1 }
    local origins = {}
    source_map.annotate(v, src, "p.lua", origins, {})
    assert.equal("p.lua:7", source_map.lookup(origins, v, "namespaces[2]"))
    assert.equal("p.lua:9", source_map.lookup(origins, v, "list[1]"))
    assert.equal("p.lua:11", source_map.lookup(origins, v, "list[2].target"))
    assert.equal("p.lua:12", source_map.lookup(origins, v, "list[3]"))
    assert.equal("p.lua:3", source_map.lookup(origins, v, "extra[1].target"))
    assert.equal("p.lua:17", source_map.lookup(origins, v, "after"))
    -- A path deeper than anything recorded gets its deepest known part.
    assert.equal("p.lua:10", source_map.lookup(origins, v, "list[2].nothing"))
  end)

  it("splits paths", function()
    assert.same({ "mounts", 3, "source" }, source_map.split_path("mounts[3].source"))
    assert.same({ "env", "set", "A" }, source_map.split_path("env.set.A"))
  end)
end)

describe("merge rules #unit", function()
  local function merge(parent, child)
    local errs = {}
    local ctx = { origins = {}, fail = function(path, _, msg) errs[#errs + 1] = path .. ": " .. msg end }
    return compose.profile(parent, child, ctx), errs
  end

  it("lets scalars override and keeps what the child does not set", function()
    local m = merge({ hostname = "a", cwd = "/" }, { hostname = "b", extends = "x" })
    assert.same({ hostname = "b", cwd = "/" }, m)
  end)

  it("edits sets with +name and -name and replaces them with a plain list", function()
    assert.same({ "user", "pid" }, merge({ namespaces = { "user", "net" } }, { namespaces = { "-net", "+pid" } }).namespaces)
    assert.same({ "ipc" }, merge({ namespaces = { "user", "net" } }, { namespaces = { "ipc" } }).namespaces)
    local _, errs = merge({ namespaces = { "user" } }, { namespaces = { "-net" } })
    assert.same({ "namespaces[1]: '-net' removes nothing: 'net' is not inherited" }, errs)
  end)

  it("appends lists and removes inherited entries by key with without", function()
    local m = merge({ env = { keep = { "TERM", "LANG" } } }, { env = { keep = { compose.without("LANG"), "HOME" } } })
    assert.same({ "TERM", "HOME" }, m.env.keep)
  end)

  it("merges tables key by key", function()
    local m = merge({ env = { set = { A = "1", B = "2" }, clear = false } }, { env = { set = { B = "3" } } })
    assert.same({ set = { A = "1", B = "3" }, clear = false }, m.env)
  end)

  it("lets an area declare its fields' rules and keys", function()
    local mounts = require "lunshare.mounts"
    local saved_rule, saved_key = mounts.MERGE, mounts.MERGE_KEY
    mounts.MERGE = { mounts = "list" }
    mounts.MERGE_KEY = { mounts = function(e) return e.dst end }
    local m = merge({ mounts = { { dst = "/a" }, { dst = "/home" } } },
      { mounts = { compose.without("/home"), { dst = "/b" } } })
    mounts.MERGE, mounts.MERGE_KEY = saved_rule, saved_key
    assert.same({ { dst = "/a" }, { dst = "/b" } }, m.mounts)
  end)

  it("merges long lists and sets in time that grows with their length, not its square", function()
    -- As many entries as a profile may hold (sandbox.DATA_ENTRIES): a scan of the list
    -- for each entry took seconds here.
    local n = 5000
    local pset, cset, plist, clist = {}, {}, {}, {}
    for i = 1, n do
      pset[i], cset[i] = "p" .. i, (i % 2 == 0 and "-p" or "+c") .. i
      plist[i], clist[i] = { dst = "/p" .. i }, compose.without("/p" .. i)
    end
    local t0 = os.clock()
    local m, errs = merge({ namespaces = pset, mounts = plist }, { namespaces = cset, mounts = clist })
    assert.truthy(os.clock() - t0 < 0.5, "took " .. (os.clock() - t0) .. " s")
    assert.same({}, errs)
    assert.equal(n, #m.namespaces)
    assert.equal("p1", m.namespaces[1])
    assert.equal("c1", m.namespaces[n / 2 + 1])
    assert.same({}, m.mounts)
  end)

  it("passes a malformed list through to the checker untouched", function()
    assert.same({ keep = { x = 1 } }, merge({}, { env = { keep = { x = 1 } } }).env)
  end)
end)

describe("loading with extends and params #unit", function()
  it("keeps each entry's own file and line through extends", function()
    local dir = tmpdir({
      ["base.lua"] = "return {\n  namespaces = { 'user', 'uts' },\n  hostname = 'b',\n  env = { keep = {\n    'TERM',\n  } },\n}\n",
      ["child.lua"] = "return {\n  extends = 'base.lua',\n  env = { keep = {\n    'HOME',\n  } },\n}\n",
    })
    local p, errs = profile.load(dir .. "/child.lua")
    assert.is_table(p, errs and errs[1] and errs[1].msg)
    assert.same({ "TERM", "HOME" }, p.env.keep)
    assert.equal(dir .. "/base.lua:3", profile.origin(p, "hostname"))
    assert.equal(dir .. "/base.lua:5", profile.origin(p, "env.keep[1]"))
    assert.equal(dir .. "/child.lua:4", profile.origin(p, "env.keep[2]"))
    H.rm(dir)
  end)

  it("gives --set values to every profile in the chain, typed", function()
    local dir = tmpdir({
      ["base.lua"] = "local p = params { n = { type = 'integer', default = 1 } }\nreturn { time = { monotonic = p.n }, namespaces = { 'time' } }\n",
      ["child.lua"] = "local p = params { on = { type = 'boolean', default = false } }\n" ..
        "return { extends = 'base.lua', description = p.on and 'on' or 'off' }\n",
    })
    local p = assert(profile.load(dir .. "/child.lua", { set = { n = "42", on = "true" } }))
    assert.equal(42, p.time.monotonic)
    assert.equal("on", p.description)
    local q = assert(profile.load(dir .. "/child.lua"))
    assert.equal(1, q.time.monotonic)
    assert.equal("off", q.description)
    H.rm(dir)
  end)
end)

describe("grants #unit", function()
  it("summarises namespaces, ids, environment and area fields", function()
    local ctx = { ids = { uid = 1000, gid = 1000, euid = 1000 }, subid = function() end }
    local g = diff.grants({ namespaces = { "user", "net", "mount" }, user = { uid = 0 },
      mounts = { { kind = "tmpfs", dst = "/tmp" } }, limits = { nofile = 64 } }, ctx)
    assert.same({ "pid", "ipc", "uts", "cgroup", "time" }, g["namespaces shared with the host"])
    assert.same({ "uid 0 inside is host uid 1000", "gid 0 inside is host gid 1000",
      "the command runs as uid 0 gid 0 inside" }, g.ids)
    -- Every area summarises itself, normalized: no raw field is printed back.
    assert.same({ "/tmp (tmpfs)" }, g["paths made inside"])
    assert.same({ "nofile soft 64 hard 64" }, g.limits)
  end)
end)

describe("testing a recipe with busted, as the man page shows #unit", function()
  it("loads with --set values and plans through require 'lunshare'", function()
    local lunshare = require "lunshare"
    local path = os.tmpname() .. ".lua"
    local f = assert(io.open(path, "w"))
    f:write("local param = params { net = { type = 'boolean', default = true } }\n" ..
      "return { namespaces = { 'user', 'mount', 'pid', param.net and 'net' or nil } }\n")
    f:close()
    local p = assert(lunshare.load(path, { set = { net = "false" } }))
    local plan = assert(lunshare.plan(p))
    assert.equal("clone", plan.steps[1].op)
    assert.same({ "user", "mount", "pid" }, plan.steps[1].namespaces)
    local _, errs = lunshare.load(path, { set = { net = "maybe" } })
    assert.same({ path .. ":1: params.net: --set net=maybe: expected a boolean, got 'maybe'" }, errs)
    os.remove(path)
  end)
end)

describe("warnings #unit", function()
  it("come from an area's check through c:warn, with file and line, and do not fail", function()
    local schema = require "lunshare.schema"
    local security = require "lunshare.security"
    local real = security.check
    security.check = function(c, p, ...)
      real(c, p, ...)
      if p.description == "warn me" then c:warn("description", "a test warning") end
    end
    local errs, warnings = schema.check({ description = "warn me" }, "w.lua", "return {\n  description = 'warn me',\n}\n")
    security.check = real
    assert.same({}, errs)
    assert.same({ "w.lua:2: description: warning: a test warning" }, { schema.format_error(warnings[1]) })
  end)
end)

describe("origins after without #unit", function()
  it("stay with their entries when an inherited one is removed", function()
    local dir = tmpdir({
      ["base.lua"] = "return {\n  mounts = {\n    tmpfs '/a',\n    tmpfs '/home',\n    dir '/c',\n  },\n" ..
        "  namespaces = { 'user', 'mount' },\n}\n",
      ["child.lua"] = "return {\n  extends = 'base.lua',\n  mounts = {\n    without '/home',\n    symlink('/a', '/d'),\n  },\n}\n",
    })
    local p = assert(profile.load(dir .. "/child.lua"))
    assert.same({ { kind = "tmpfs", dst = "/a" }, { kind = "dir", dst = "/c" },
      { kind = "symlink", target = "/a", dst = "/d" } }, p.mounts)
    assert.equal(dir .. "/base.lua:3", profile.origin(p, "mounts[1]"))
    assert.equal(dir .. "/base.lua:5", profile.origin(p, "mounts[2]"))
    assert.equal(dir .. "/child.lua:5", profile.origin(p, "mounts[3]"))
    -- And the plan's steps say so.
    local plan = require("lunshare.plan").build(p, { ids = { uid = 1000, gid = 1000 }, environ = {} })
    local origins = {}
    for _, st in ipairs(plan.steps) do
      origins[#origins + 1] = st.origin
    end
    assert.truthy(table.concat(origins, " "):find(dir .. "/base.lua:5", 1, true), table.concat(origins, " "))
    assert.truthy(table.concat(origins, " "):find(dir .. "/child.lua:5", 1, true), table.concat(origins, " "))
    H.rm(dir)
  end)
end)

describe("parameter values #unit", function()
  local params = require "lunshare.params"
  it("converts --set strings to the declared type", function()
    assert.equal(42, params.convert("42", "integer"))
    assert.equal(0.5, params.convert("0.5", "number"))
    assert.is_true(params.convert("yes", "boolean"))
    assert.is_false(params.convert("0", "boolean"))
    assert.equal("x", params.convert("x", "string"))
    assert.same({ nil, "expected an integer, got '1.5'" }, { params.convert("1.5", "integer") })
  end)

  it("collects every declaration error and goes on with the default", function()
    local ctx = { file = "p.lua", set = { a = "zz" }, errors = {}, declared = {} }
    local v = params.declarer(ctx)({ a = { values = { "x", "y" }, default = "x" }, b = { tipe = "string", default = "s" } })
    assert.equal("x", v.a)
    assert.equal("s", v.b)
    assert.equal(2, #ctx.errors)
    assert.equal("params.a", ctx.errors[1].path)
    assert.equal("params.b.tipe", ctx.errors[2].path)
    assert.truthy(ctx.errors[2].msg:find("did you mean 'type'"))
    assert.has_error(function() return v.c end)
  end)
end)

describe("grants of odd data #unit", function()
  it("never walk a profile's raw data, so a cycle in it cannot loop them", function()
    local t = { "a" }
    t[2] = t
    local ctx = { ids = { uid = 1000, gid = 1000 }, subid = function() end }
    local g = diff.grants({ namespaces = { "user" }, description = t, command = { "true" } }, ctx)
    assert.same({ "true" }, g.command)
  end)
end)

describe("root merges key by key #unit", function()
  it("keeps the parent's root settings the child does not name", function()
    local ctx = { origins = {}, fail = function() end }
    local m = compose.profile({ root = { readonly = true, mode = "0755" } }, { root = { size = "8M" } }, ctx)
    assert.same({ readonly = true, mode = "0755", size = "8M" }, m.root)
  end)
end)

describe("network over a parent #unit", function()
  it("appends veths written as a list and removes one by name with without", function()
    local ctx = { origins = {}, fail = function() end }
    local m = compose.profile({ network = { { type = "veth", name = "eth0" }, { type = "veth", name = "eth1" } } },
      { network = { compose.without("eth0"), { type = "veth", name = "eth2" } } }, ctx)
    assert.same({ { type = "veth", name = "eth1" }, { type = "veth", name = "eth2" } }, m.network)
    local k = compose.profile({ network = { links = { { name = "a" } } } }, { network = { links = { { name = "b" } } } }, ctx)
    assert.same({ links = { { name = "a" }, { name = "b" } } }, k.network)
    assert.equal("host", compose.profile({ network = { links = {} } }, { network = "host" }, ctx).network)
  end)
end)

describe("capabilities over a parent #unit", function()
  it("are the same name with or without CAP_ and in either case", function()
    local errs = {}
    local ctx = { origins = {}, fail = function(path, _, msg) errs[#errs + 1] = path .. ": " .. msg end }
    local m = compose.profile({ capabilities = { "net_raw", "CAP_SYS_ADMIN" } },
      { capabilities = { "-CAP_NET_RAW", "-sys_admin", "+net_bind_service", "+NET_BIND_SERVICE" } }, ctx)
    assert.same({ "net_bind_service" }, m.capabilities)
    assert.same({}, errs)
  end)
end)

describe("composition does what it says #unit", function()
  local lunshare = require "lunshare"
  local function load(src)
    local path = os.tmpname() .. ".lua"
    local f = assert(io.open(path, "w"))
    f:write(src)
    f:close()
    local p, errs = lunshare.load(path)
    os.remove(path)
    return p, errs
  end
  local function targets(p)
    local t = {}
    for _, m in ipairs(p.mounts) do t[#t + 1] = m.dst or m.src end
    return t
  end

  it("removes inherited entries only with without, wherever it stands", function()
    local p = assert(load([[return { extends = "default", mounts = {
      file("/etc/motd", "x"), file("/etc/passwd", "me\n"), without "/etc/passwd" } }]]))
    local t, own = targets(p), 0
    for _, d in ipairs(t) do if d == "/etc/passwd" or d == "/etc/motd" then own = own + 1 end end
    -- default's /etc/passwd went; this file's own two entries stayed.
    assert.equal(2, own)
    for _, m in ipairs(p.mounts) do
      if m.dst == "/etc/passwd" then assert.equal("me\n", m.content) end
    end
    -- without "/etc/motd" found nothing inherited: an error, even though the file made one.
    local _, errs = load([[return { extends = "default", mounts = { file("/etc/motd", "x"), without "/etc/motd" } }]])
    assert.truthy(table.concat(errs or {}, "\n"):find("without '/etc/motd' removes nothing", 1, true))
  end)

  it("drops an inherited table with false", function()
    local p = assert(load([[return { extends = "default", namespaces = { "-user" }, user = false }]]))
    assert.is_nil(p.user)
    local _, errs = load([[return { extends = "default", namespaces = { "-user" } }]])
    assert.truthy(table.concat(errs or {}, "\n"):find("user: id maps need the user namespace", 1, true))
  end)

  it("gives a variable the child keeps the caller's value, over the parent's env.set", function()
    local planner = require "lunshare.plan"
    local ctx = { ids = { uid = 1000, gid = 1000, euid = 1000 }, environ = { "HOME=/home/me", "EDITOR=ed" },
      subid = function() end }
    local p = assert(load([[return { extends = "default", env = { keep = { "HOME", "EDITOR" }, set = { EDITOR = "vi" } } }]]))
    local env = planner.environment(p, ctx.environ)
    assert.truthy(require("lunshare.util").contains(env, "HOME=/home/me"))
    -- The file's own set still wins over its own keep.
    assert.truthy(require("lunshare.util").contains(env, "EDITOR=vi"))
  end)
end)

describe("error paths #unit", function()
  it("count entries in the file that wrote them", function()
    local path = os.tmpname() .. ".lua"
    local f = assert(io.open(path, "w"))
    f:write('return {\n  extends = "default",\n  mounts = {\n    tmpfs "/a",\n    tmpfs "rel",\n  },\n}\n')
    f:close()
    local _, errs = require("lunshare").load(path)
    os.remove(path)
    assert.equal(1, #errs)
    -- The file's second entry, not the merged list's (default has many before it).
    local e = type(errs[1]) == "table" and require("lunshare.schema").format_error(errs[1]) or errs[1]
    assert.truthy(e:find(":5: mounts[2].dst: expected an absolute path", 1, true), e)
  end)
end)
