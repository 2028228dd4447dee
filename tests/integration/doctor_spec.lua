-- `lunshare doctor` and the hints that point to it. #integration
local H = require "helpers"

for _, mode in ipairs(H.modes) do
  describe("doctor (" .. mode .. ")", function()
    it("checks user namespaces, every namespace kind and the system calls", function()
      local r = H.lunshare({ "doctor" }, { mode = mode })
      assert.equal(0, r.code, r.out .. r.err)
      assert.truthy(r.out:find("ok    create a user namespace"), r.out)
      for _, k in ipairs({ "mount", "pid", "net", "uts", "cgroup", "time" }) do
        assert.truthy(r.out:find("ok    create a " .. k .. " namespace"), k)
      end
      assert.truthy(r.out:find("ok    create an ipc namespace"))
      assert.truthy(r.out:find("ok    clone3"))
      assert.truthy(r.out:find("mount_setattr"))
      assert.truthy(r.out:find("cgroup v"))
    end)
  end)
end

describe("doctor on a machine that forbids user namespaces", function()
  local dir
  before_each(function()
    dir = H.sh("mktemp -d").out:gsub("\n", "")
    os.execute("mkdir -p " .. dir .. "/user " .. dir .. "/kernel")
    os.execute("echo 0 > " .. dir .. "/user/max_user_namespaces")
    os.execute("echo 1 > " .. dir .. "/kernel/apparmor_restrict_unprivileged_userns")
    os.execute("echo 0 > " .. dir .. "/kernel/unprivileged_userns_clone")
  end)
  after_each(function() os.execute("rm -rf " .. dir) end)

  it("prints the exact fix for each blocker and exits 1", function()
    local r = H.lunshare({ "doctor" }, { env = "LUNSHARE_SYSCTL_DIR=" .. dir })
    assert.equal(1, r.code)
    assert.truthy(r.out:find("FAIL  user.max_user_namespaces = 0\n      fix: sudo sysctl %-w user.max_user_namespaces=15000"), r.out)
    assert.truthy(r.out:find("FAIL  kernel.unprivileged_userns_clone = 0\n      fix: sudo sysctl %-w kernel.unprivileged_userns_clone=1"))
    assert.truthy(r.out:find("FAIL  kernel.apparmor_restrict_unprivileged_userns = 1\n      fix: sudo sysctl %-w kernel.apparmor_restrict_unprivileged_userns=0"))
    assert.truthy(r.out:find("3 checks failed"))
  end)
end)

describe("a refused user namespace", function()
  it("says why and points to lunshare doctor instead of a bare errno", function()
    -- In a user namespace of our own, user.max_user_namespaces = 0 forbids nesting.
    local r = H.sh("unshare --user --map-root-user sh -c 'echo 0 > /proc/sys/user/max_user_namespaces && exec " ..
      H.quote(H.bin) .. " run default -- true'")
    assert.equal(1, r.code)
    assert.equal(1, #H.lines(r.err), r.err)
    assert.truthy(r.err:find("^lunshare: profiles/default.lua:%d+: clone: clone3%(0x%x+%): No space left on device " ..
      "%(creating a user namespace was refused; run 'lunshare doctor' to see why and how to allow it%)"), r.err)
  end)
end)
