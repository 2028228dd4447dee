-- Nothing the sandbox makes through a writable host path is setuid or setgid on the host
-- (issue 10, writable binds): a root caller's bind is idmapped so that the directory's
-- owner is root inside, and the host's mount honours the bits nosuid strips only from the
-- sandbox's; a rootless caller's would be setuid to the caller. The @setid-files seccomp
-- rules refuse every call that sets the bits, whatever filter the profile has, unless it
-- says allow_setid_files = true (which check warns of). Looked at from outside with stat.
-- As root and rootless. #integration #seccomp
local H = require "helpers"

-- Each attempt prints "NAME ERRNO" (or "NAME ok"). cp then chmod; install; python's
-- os.open with O_CREAT and os.mknod of a regular file; the C library's chmod u+s.
local TRY = [[
cd /w || exit 9
try() { n=$1; shift; if "$@" 2>/dev/null; then echo "$n ok"; else echo "$n failed"; fi; }
cp /bin/true a; try chmod4755 chmod 4755 a
cp /bin/true b; try chmod2755 chmod 2755 b
cp /bin/true g; try chmodgs chmod g+s g
try install install -m 4755 /bin/true c
/usr/bin/python3 - <<'EOF'
import errno, os
def t(name, f):
    try:
        f(); print(name, "ok")
    except OSError as e:
        print(name, errno.errorcode[e.errno])
t("pychmod", lambda: os.chmod("a", 0o4755))
t("pyopen", lambda: os.close(os.open("d", os.O_CREAT | os.O_WRONLY, 0o4755)))
t("pyopen_sgid", lambda: os.close(os.open("d2", os.O_CREAT | os.O_WRONLY, 0o2755)))
t("pymknod", lambda: os.mknod("e", 0o104755))
t("pyplain", lambda: os.close(os.open("f", os.O_CREAT | os.O_WRONLY, 0o755)))
EOF
]]

local REFUSED = {
  "chmod4755 failed", "chmod2755 failed", "chmodgs failed", "install failed",
  "pychmod EPERM", "pyopen EPERM", "pyopen_sgid EPERM", "pymknod EPERM", "pyplain ok",
}

-- Every file in d with its mode, as `stat -c %a` prints it: "a 755".
local function modes(d)
  local r = H.sh("cd " .. H.quote(d) .. " && for f in *; do echo \"$f $(stat -c %a \"$f\")\"; done")
  local t = {}
  for _, l in ipairs(H.lines(r.out)) do
    local f, m = l:match("^(%S+) (%d+)$")
    if f then t[f] = m end
  end
  return t
end

local function no_setid(d)
  for f, m in pairs(modes(d)) do
    assert.is_true(tonumber(m, 8) & tonumber("6000", 8) == 0, f .. " has mode " .. m .. " on the host")
  end
end

-- A directory for the mode's caller: root's own (the reviewer's case) or nobody's.
local function dir_for(mode)
  local d = H.tmpdir("755")
  if mode == "rootless" then H.sh("chown " .. H.NOBODY_UID .. ":" .. H.NOBODY_GID .. " " .. H.quote(d)) end
  return d
end

local function profile(d, extra)
  return H.profile(string.format("return { extends = \"default\", %s\n  mounts = { bind(%q, \"/w\") } }\n",
    extra or "", d))
end

for _, mode in ipairs(H.modes) do
  describe("setuid and setgid files through a writable bind (" .. mode .. ")", function()
    local variants = {
      { "the default filter", "" },
      { "a profile's own rules only", "seccomp = { default = false, deny = { \"ptrace\" } }," },
      { "no seccomp filter", "seccomp = false," },
      { "the group lifted", "seccomp = { allow = { \"@setid-files\", \"chmod\", \"open\" } }," },
      -- A rule of a call without conditions wins over its conditional denials in
      -- libseccomp: a rules file that logs or allows the calls must not take the guard away.
      { "a rules file that logs and allows the calls", rules = "log fchmodat\nlog openat\nallow fchmod\n" ..
        "log chmod\nlog open\nallow creat\nlog mknodat\nlog mknod\nlog fchmodat2\nallow io_uring_setup\n" },
    }
    for _, v in ipairs(variants) do
      it("are refused with EPERM under " .. v[1] .. ", and none is on the host", function()
        local d = dir_for(mode)
        finally(function() H.rm(d) end)
        local extra = v[2]
        if v.rules then extra = string.format("seccomp = { file = %q },", H.profile(v.rules)) end
        local prof = profile(d, extra)
        local r = H.lunshare({ "run", prof, "--", "sh", "-c", TRY }, { mode = mode })
        assert.equal(0, r.code, r.err)
        if v.rules then
          local c = H.lunshare({ "check", prof }, { mode = mode })
          assert.truthy(c.err:find("seccomp.file: warning: log fchmodat is dropped: with ", 1, true), c.err)
        end
        assert.same(REFUSED, H.lines(r.out))
        no_setid(d)
        local m = modes(d)
        assert.equal("755", m.a)
        assert.is_nil(m.d)
        assert.is_nil(m.e)
      end)
    end

    it("are refused through a --bind of the command line", function()
      local d = dir_for(mode)
      finally(function() H.rm(d) end)
      local r = H.lunshare({ "run", "--bind", d .. ":/work", "--", "sh", "-c",
        "cd /work && cp /bin/true x && chmod 6755 x; echo $?" }, { mode = mode })
      assert.equal(0, r.code, r.err)
      assert.equal("1\n", r.out)
      assert.matches("Operation not permitted", r.err)
      no_setid(d)
    end)

    it("are refused to a build recipe's Makefile", function()
      local d = dir_for(mode)
      finally(function() H.rm(d) end)
      H.sh(string.format("printf 'all:\\n\\tcp /bin/true ./pwn && chmod 4755 ./pwn\\n' > %s/Makefile && chmod 644 %s/Makefile",
        H.quote(d), H.quote(d)))
      -- An ASan build's shadow memory does not fit in the recipe's address-space limit.
      local asan = H.sh("grep -qa __asan_init " .. H.quote(H.bin) .. " && echo yes").out == "yes\n"
      local args = { "run", "build", "--set", "work=" .. d }
      if asan then args[#args + 1] = "--set"; args[#args + 1] = "memory=unlimited" end
      local r = H.lunshare(args, { mode = mode })
      assert.not_equal(0, r.code)
      assert.matches("Operation not permitted", r.err)
      no_setid(d)
    end)

    it("keep no fsetid or setfcap, and check says so", function()
      local d = dir_for(mode)
      finally(function() H.rm(d) end)
      local p = profile(d, "capabilities = { \"fsetid\", \"setfcap\", \"chown\" },")
      local plan = H.lunshare({ "explain", "--json", p }, { mode = mode })
      assert.equal(0, plan.code, plan.err)
      assert.is_nil(plan.out:find("cap_setfcap", 1, true))
      assert.is_nil(plan.out:find("cap_fsetid", 1, true))
      assert.truthy(plan.out:find("cap_chown", 1, true))
      local c = H.lunshare({ "check", p }, { mode = mode })
      assert.matches("fsetid is not kept", c.out .. c.err)
      assert.matches("setfcap is not kept", c.out .. c.err)
    end)

    it("are made with allow_setid_files = true, which check warns of", function()
      local d = dir_for(mode)
      finally(function() H.rm(d) end)
      local p = profile(d, "allow_setid_files = true,")
      local c = H.lunshare({ "check", p }, { mode = mode })
      assert.matches("allow_setid_files = true: the sandbox can make setuid", c.out .. c.err)
      local r = H.lunshare({ "run", p, "--", "sh", "-c", "cd /w && cp /bin/true a && chmod 4755 a && echo made" },
        { mode = mode })
      assert.equal(0, r.code, r.err)
      assert.equal("made\n", r.out)
      assert.equal("4755", modes(d).a)
    end)
  end)
end

describe("setuid files without a writable host path", function()
  it("the default profile's filter refuses them too (explain names the group)", function()
    local r = H.lunshare({ "explain", "default" })
    assert.equal(0, r.code, r.err)
    assert.matches("chmod a1&0x800==0x800  # @setid-files: no setuid or setgid file", r.out, 1, true)
    assert.matches("deny ENOSYS   openat2", r.out, 1, true)
  end)
end)
