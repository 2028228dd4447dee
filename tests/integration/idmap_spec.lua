-- Id maps: one id for an unprivileged caller, several ranges through newuidmap/newgidmap
-- when /etc/subuid and /etc/subgid grant them, any map for root. #integration
local H = require "helpers"

local function read(p) local f = io.open(p) local s = f:read("a") f:close() return s end
local function write(p, s) local f = io.open(p, "w") f:write(s) f:close() end

describe("id maps", function()
  local saved = {}
  setup(function()
    -- A test range for nobody, removed again in teardown (the files are restored as they were).
    for _, f in ipairs({ "/etc/subuid", "/etc/subgid" }) do
      saved[f] = io.open(f) and read(f) or nil
      write(f, (saved[f] or "") .. "nobody:300000:65536\n")
    end
  end)
  teardown(function()
    for _, f in ipairs({ "/etc/subuid", "/etc/subgid" }) do
      if saved[f] then write(f, saved[f]) else os.remove(f) end
    end
  end)

  local subid = H.profile([[return { namespaces = { "user", "pid" }, user = { map = "subid" } }]])

  it("maps the caller and its subordinate range with map = subid (rootless)", function()
    local r = H.lunshare({ "run", subid, "--", "sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map" },
      { mode = "rootless" })
    assert.equal(0, r.code, r.err)
    local l = H.lines(r.out)
    assert.same({ "0", "65534", "1" }, { l[1]:match("(%d+)%s+(%d+)%s+(%d+)") })
    assert.same({ "1", "300000", "65536" }, { l[2]:match("(%d+)%s+(%d+)%s+(%d+)") })
    assert.same({ "1", "300000", "65536" }, { l[4]:match("(%d+)%s+(%d+)%s+(%d+)") })
  end)

  it("lets ids of the subordinate range own files inside (rootless)", function()
    -- Root inside has no capabilities by default: this one keeps chown to give a file away.
    local p = H.profile([[return { namespaces = { "user", "pid" }, user = { map = "subid" }, capabilities = { "chown" } }]])
    local r = H.lunshare({ "run", p, "--", "sh", "-c",
      "d=$(mktemp -d) && touch $d/f && chown 1000:1000 $d/f && stat -c '%u %g' $d/f; rm -rf $d" },
      { mode = "rootless" })
    assert.equal(0, r.code, r.err)
    assert.equal("1000 1000\n", r.out)
  end)

  it("says which file lacks a range when there is none", function()
    local r = H.lunshare({ "run", subid, "--", "true" }, { mode = "root" })
    assert.equal(2, r.code)
    assert.equal("lunshare: " .. subid .. ": user.map = \"subid\" needs ranges for root in /etc/subuid and /etc/subgid\n", r.err)
  end)

  it("writes an explicit map directly as root", function()
    local p = H.profile([[return { namespaces = { "user" }, user = { map = { { 0, 400000, 1000 } } } }]])
    local r = H.lunshare({ "run", p, "--", "cat", "/proc/self/uid_map" }, { mode = "root" })
    assert.equal(0, r.code, r.err)
    assert.same({ "0", "400000", "1000" }, { r.out:match("(%d+)%s+(%d+)%s+(%d+)") })
  end)

  it("refuses ranges an unprivileged caller was not granted, naming the helper", function()
    local p = H.profile([[return { namespaces = { "user" }, user = { map = { { 0, 500000, 1000 } } } }]])
    local r = H.lunshare({ "run", p, "--", "true" }, { mode = "rootless" })
    assert.equal(1, r.code)
    assert.equal(1, #H.lines(r.err), r.err)
    assert.truthy(r.err:find(": uid_map: newuidmap: uid range %[0%-1000%) %-> %[500000%-501000%) not allowed"), r.err)
    assert.truthy(r.err:find("lunshare doctor"), r.err)
  end)
end)
