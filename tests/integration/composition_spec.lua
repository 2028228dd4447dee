-- Composition that does what it says, seen from inside real sandboxes: default's
-- /etc/hostname and /etc/hosts follow a child's hostname, the host's network brings the
-- host's resolv.conf, `user = false` with "-user" leaves the user namespace, a kept
-- variable is the caller's, and `without` removes inherited entries only. #integration
local H = require "helpers"

describe("composition", function()
  for _, mode in ipairs(H.modes) do
    it("makes default's /etc/hostname and /etc/hosts follow the hostname (" .. mode .. ")", function()
      local p = H.profile('return { extends = "default", hostname = "builder" }')
      local r = H.lunshare({ "run", p, "--", "sh", "-c", "hostname; cat /etc/hostname /etc/hosts" }, { mode = mode })
      assert.equal(0, r.code, r.err)
      assert.equal("builder\nbuilder\n127.0.0.1 localhost builder\n::1 localhost\n", r.out)
      local d = H.lunshare({ "run", "default", "--", "cat", "/etc/hostname" }, { mode = mode })
      assert.equal("lunshare\n", d.out)
    end)

    it("gives a sandbox on the host's network the host's resolv.conf, and none without (" .. mode .. ")", function()
      local host = H.read("/etc/resolv.conf")
      if host == "" then return pending("this machine has no /etc/resolv.conf") end
      local shared = H.lunshare({ "run", "--share-net", "--", "cat", "/etc/resolv.conf" }, { mode = mode })
      assert.equal(0, shared.code, shared.err)
      assert.equal(host, shared.out)
      local own = H.lunshare({ "run", "default", "--", "sh", "-c", "test -e /etc/resolv.conf || echo none" }, { mode = mode })
      assert.equal("none\n", own.out)
    end)

    it("keeps what a child keeps, over the parent's env.set, and without drops inherited entries only (" .. mode .. ")", function()
      local p = H.profile([[return { extends = "default", env = { keep = { "HOME" } },
        mounts = { file("/etc/passwd", "me:x:0:0::/:/bin/sh\n"), without "/etc/passwd" } }]])
      local r = H.lunshare({ "run", p, "--", "sh", "-c", "echo $HOME; cat /etc/passwd" },
        { mode = mode, env = "HOME=/home/caller" })
      assert.equal(0, r.code, r.err)
      assert.equal("/home/caller\nme:x:0:0::/:/bin/sh\n", r.out)
    end)
  end

  it("leaves default's user namespace with user = false and \"-user\" (root)", function()
    local p = H.profile('return { extends = "default", namespaces = { "-user" }, user = false }')
    local host = H.ns_inode("user")
    local r = H.lunshare({ "run", p, "--", "readlink", "/proc/self/ns/user" }, { mode = "root" })
    assert.equal(0, r.code, r.err)
    assert.equal("user:[" .. host .. "]\n", r.out)
  end)
end)
