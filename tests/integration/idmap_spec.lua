-- Id maps: one id for an unprivileged caller, several ranges through newuidmap/newgidmap
-- when /etc/subuid and /etc/subgid grant them, any map for root. #integration
local H = require "helpers"

-- Runs lunshare with test ranges for nobody in /etc/subuid and /etc/subgid: files of the
-- test's own bound over the machine's in a mount namespace of its own, so the machine's
-- files never change and another run of the suite sees its own. newuidmap/newgidmap (setuid)
-- and lunshare read them there.
local SUBIDS = H.file("nobody:300000:65536\n")
local function lunshare(args, opts)
  local drop = opts.mode == "rootless" and H.DROP or ""
  return H.sh("unshare --mount --propagation private sh -c " .. H.quote(
    "mount --bind \"$0\" /etc/subuid && mount --bind \"$0\" /etc/subgid && exec " .. drop ..
    H.quote(H.bin) .. " " .. H.join(args)) .. " " .. H.quote(SUBIDS))
end

describe("id maps", function()
  local subid = H.profile([[return { namespaces = { "user", "pid" }, user = { map = "subid" } }]])

  it("maps the caller and its subordinate range with map = subid (rootless)", function()
    local r = lunshare({ "run", subid, "--", "sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map" },
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
    local r = lunshare({ "run", p, "--", "sh", "-c",
      "d=$(mktemp -d -p " .. H.quote(H.tmp) .. ") && touch $d/f && chown 1000:1000 $d/f && stat -c '%u %g' $d/f; rm -rf $d" },
      { mode = "rootless" })
    assert.equal(0, r.code, r.err)
    assert.equal("1000 1000\n", r.out)
  end)

  -- The machine's, not the profile's: exit 1, naming the profile's line and the fix.
  it("says which file lacks a range when there is none", function()
    local r = lunshare({ "run", subid, "--", "true" }, { mode = "root" })
    assert.equal(1, r.code)
    assert.equal("lunshare: " .. subid .. ":1: user.map = \"subid\" needs ranges for root in /etc/subuid and " ..
      "/etc/subgid, and this machine has none: add a line for it to both (usermod --add-subuids and --add-subgids), " ..
      "or use map = \"self\"\n", r.err)
  end)

  it("writes an explicit map directly as root", function()
    local p = H.profile([[return { namespaces = { "user" }, user = { map = { { 0, 400000, 1000 } } } }]])
    local r = lunshare({ "run", p, "--", "cat", "/proc/self/uid_map" }, { mode = "root" })
    assert.equal(0, r.code, r.err)
    assert.same({ "0", "400000", "1000" }, { r.out:match("(%d+)%s+(%d+)%s+(%d+)") })
  end)

  it("refuses ranges an unprivileged caller was not granted, naming the helper", function()
    local p = H.profile([[return { namespaces = { "user" }, user = { map = { { 0, 500000, 1000 } } } }]])
    local r = lunshare({ "run", p, "--", "true" }, { mode = "rootless" })
    assert.equal(1, r.code)
    assert.equal(1, #H.lines(r.err), r.err)
    assert.truthy(r.err:find(": uid_map: newuidmap: uid range %[0%-1000%) %-> %[500000%-501000%) not allowed"), r.err)
    assert.truthy(r.err:find("lunshare doctor"), r.err)
  end)
end)
