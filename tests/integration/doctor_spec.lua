-- `lunshare doctor` and the hints that point to it. #integration
local H = require "helpers"

for _, mode in ipairs(H.modes) do
  describe("doctor (" .. mode .. ")", function()
    it("checks user namespaces, every namespace kind and the system calls", function()
      local r = H.lunshare({ "doctor" }, { mode = mode })
      assert.equal(0, r.code, r.out .. r.err)
      -- Whole lines that say ok: a FAIL line for the same check must not match.
      local function ok_line(what)
        assert.truthy(H.has_line(r.out, "ok    " .. what), "no line 'ok    " .. what .. "' in:\n" .. r.out)
      end
      ok_line("create a user namespace" .. (mode == "root" and " (as root)" or ""))
      for _, k in ipairs({ "mount", "pid", "net", "uts", "cgroup", "time" }) do
        ok_line("create a " .. k .. " namespace")
      end
      ok_line("create an ipc namespace")
      for _, call in ipairs({ "clone3", "pidfd_open", "close_range" }) do ok_line(call) end
      ok_line("the new mount API (open_tree, move_mount, fsopen)")
      ok_line("mount_setattr (recursive read-only, idmapped mounts)")
      ok_line("openat2 (mount targets resolved inside the new root)")
      ok_line("seccomp filters")
      -- The helpers of user-mode networking and the egress allowlist.
      ok_line("pasta at /usr/bin/pasta (for network = \"user\")")
      ok_line("tinyproxy at /usr/bin/tinyproxy (for network.egress)")
      if mode == "root" then ok_line("/dev/net/tun is usable (for network = \"user\")") end
      local cg = r.out:match("\nok    (cgroup v[12][^\n]*)\n")
      assert.truthy(cg, "no 'ok    cgroup v…' line in:\n" .. r.out)
      assert.falsy(("\n" .. r.out):find("\nFAIL "), r.out)
      assert.truthy(r.out:find("\neverything run needs is available", 1, true), r.out)
    end)
  end)
end

describe("doctor on a machine that forbids user namespaces", function()
  local dir
  before_each(function()
    dir = H.tmpdir()
    H.sh("cd " .. H.quote(dir) .. " && mkdir user kernel && echo 0 > user/max_user_namespaces && " ..
      "echo 1 > kernel/apparmor_restrict_unprivileged_userns && echo 0 > kernel/unprivileged_userns_clone")
  end)
  after_each(function() H.rm(dir) end)

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
