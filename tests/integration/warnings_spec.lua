-- check's warnings follow what a profile grants, not how it is spelt: the three profiles
-- issue 9 found printing a bare "ok" are run here to show the danger is real (root inside
-- reads a 0600 file of host root; no filter lets a nested user namespace through; an
-- interactive run types into the caller's shell with TIOCSTI, through a real pty), and
-- check, explain and diff must warn about each, naming the line; --strict refuses them.
-- As root and as nobody. #integration
local H = require "helpers"

local RAND = tostring(os.time()) .. tostring(math.random(100000, 999999))

local function tmpdir()
  local d = os.tmpname()
  os.remove(d)
  assert(H.sh("mkdir -m 1777 " .. d).code == 0)
  return d
end

-- The three profiles of the issue, each field on its own line.
local TTY = "return {\n  extends = 'default',\n  terminal = true,\n  seccomp = { allow = { '@tty' } },\n}\n"
local MAP = "return {\n  extends = 'default',\n  user = { map = { {0, 0, 1} } },\n}\n"
local NOFILTER = "return {\n  extends = 'default',\n  seccomp = {\n    default = false,\n  },\n}\n"

local TTY_WARNING = ":4: seccomp.allow[1]: warning: the command shares the caller's terminal (terminal = true, "
local MAP_WARNING = ":3: user.map: warning: host uid 0 is mapped into the sandbox ({0, 0, 1}): root inside is host root"
local NOFILTER_WARNING = ":4: seccomp.default: warning: no seccomp filter in effect: the whole kernel interface is reachable"

for _, mode in ipairs(H.modes) do
  describe("warnings (" .. mode .. ")", function()
    local function lsh(args, opts)
      opts = opts or {}
      opts.mode = mode
      return H.lunshare(args, opts)
    end

    it("the shipped default profile has none, and passes --strict", function()
      local r = lsh({ "check", "default" })
      assert.equal(0, r.code, r.err)
      assert.equal("default: ok\n", r.out)
      assert.equal("", r.err)
      r = lsh({ "check", "--strict", "default" })
      assert.equal(0, r.code, r.err)
      assert.equal("", r.err)
      assert.equal("", lsh({ "explain", "default" }).err)
    end)

    it("terminal with @tty: an interactive run types into the caller's shell, and check warns", function()
      if H.sh("command -v tmux && command -v perl").code ~= 0 then return pending("tmux or perl is not installed") end
      if H.sh("cat /proc/sys/dev/tty/legacy_tiocsti 2>/dev/null").out:match("^0") then
        return pending("dev.tty.legacy_tiocsti=0: the kernel refuses TIOCSTI to everyone")
      end
      local dir = tmpdir()
      -- The command pushes a line into its terminal's input; the caller's shell reads it
      -- when lunshare returns and runs it outside the sandbox, where the marker is written.
      local marker = dir .. "/typed"
      local push = "for my $c (split //, \"echo typed-by-the-sandbox > " .. marker .. "\\n\") " ..
        "{ ioctl(STDIN, 0x5412, $c) or die \"TIOCSTI: $!\\n\" }"
      local function attempt(profile_src)
        local p = H.profile((profile_src:gsub(",?\n}\n$", ",\n  command = { 'perl', '-e', " ..
          string.format("%q", push):gsub("%%", "%%%%") .. " },\n}\n")))
        local s = "lshwarn" .. RAND .. mode
        local as = mode == "rootless" and string.format("setpriv --reuid=%d --regid=%d --clear-groups ", H.NOBODY_UID,
          H.NOBODY_GID) or ""
        H.sh("tmux new-session -d -s " .. s .. " -x 200 -y 20 " ..
          H.quote(as .. "env -i PATH=/usr/bin:/bin HOME=/tmp sh"))
        -- Handshakes, not sleeps: the keys go once the shell shows its prompt, and the
        -- screen is read once the push either ran (the marker) or was refused.
        local pane = "tmux capture-pane -p -t " .. s
        H.sh(H.wait_until(pane .. " | grep -q '[$#] *$'"))
        H.sh("tmux send-keys -t " .. s .. " " .. H.quote(H.bin .. " run " .. p) .. " Enter")
        H.sh(H.wait_until("{ [ -e " .. H.quote(marker) .. " ] || " .. pane .. " | grep -q 'TIOCSTI:'; }"))
        local screen = H.sh("tmux capture-pane -p -t " .. s).out
        H.sh("tmux kill-session -t " .. s .. " 2>/dev/null")
        local f = io.open(marker)
        local typed = f and f:read("a")
        if f then f:close() end
        os.remove(marker)
        return typed, screen, p
      end
      -- The terminal shared under the default filter: refused.
      local typed, screen = attempt("return {\n  extends = 'default',\n  terminal = true,\n}\n")
      assert.is_nil(typed, screen)
      assert.truthy(screen:find("TIOCSTI: Operation not permitted", 1, true), screen)
      -- The issue's profile: the line runs in the caller's shell.
      local p
      typed, screen, p = attempt(TTY)
      H.sh("rm -rf " .. dir)
      assert.equal("typed-by-the-sandbox\n", typed, screen)
      local c = lsh({ "check", p })
      assert.equal(0, c.code, c.err)
      assert.equal(p .. ": ok\n", c.out)
      assert.equal(p .. TTY_WARNING .. p .. ":3) and TIOCSTI and TIOCLINUX are not denied: it can type commands " ..
        "into the caller's shell\n", c.err)
    end)

    it("seccomp.default = false with no rules: no filter in effect, and check warns", function()
      local p = H.profile(NOFILTER)
      local script = { "sh", "-c", "unshare -U true && echo nested user namespace" }
      local r = lsh({ "run", "default", "--", table.unpack(script) })
      assert.equal("", r.out, "the default filter refuses a nested user namespace")
      r = lsh({ "run", p, "--", table.unpack(script) })
      assert.equal(0, r.code, r.err)
      assert.equal("nested user namespace\n", r.out)
      local c = lsh({ "check", p })
      assert.equal(0, c.code, c.err)
      assert.equal(p .. ": ok\n", c.out)
      assert.truthy(c.err:find(p .. NOFILTER_WARNING, 1, true), c.err)
      assert.equal(1, #H.lines(c.err), c.err)
    end)

    it("a {0, 0, 1} map warns whoever checks it", function()
      local p = H.profile(MAP)
      local c = lsh({ "check", p })
      assert.equal(0, c.code, c.err)
      assert.equal(p .. ": ok\n", c.out)
      assert.truthy(c.err:find(p .. MAP_WARNING, 1, true), c.err)
      if mode == "rootless" then assert.truthy(c.err:find("(only a root caller can run it)", 1, true), c.err) end
    end)

    it("--strict makes each warning an error, exit 2, without ok", function()
      local a, b = H.profile(NOFILTER), H.profile(MAP)
      local r = lsh({ "check", "--strict", "default", a, b })
      assert.equal(2, r.code)
      assert.equal("default: ok\n", r.out)
      assert.truthy(r.err:find(a .. ":4: seccomp.default: error (--strict): no seccomp filter in effect", 1, true), r.err)
      assert.truthy(r.err:find(b .. ":3: user.map: error (--strict): host uid 0 is mapped", 1, true), r.err)
      assert.falsy(r.err:find("warning:", 1, true), r.err)
      -- And a plain check of the same is ok.
      assert.equal(0, lsh({ "check", a, b }).code)
    end)

    it("explain and diff print the same warnings as check", function()
      for _, src in ipairs({ TTY, MAP, NOFILTER }) do
        local p = H.profile(src)
        local c = lsh({ "check", p })
        assert.truthy(c.err:find("warning:", 1, true), c.err)
        local e = lsh({ "explain", p })
        assert.equal(0, e.code, e.err)
        assert.equal(c.err, e.err)
        local d = lsh({ "diff", "default", p })
        assert.equal(1, d.code, d.err)
        assert.equal(c.err, d.err)
        -- A profile compared with itself: its grants listed, its warnings once.
        d = lsh({ "diff", p, p })
        assert.equal(0, d.code, d.err)
        assert.equal(c.err, d.err)
        assert.truthy(d.out:find("they grant the same\n$"), d.out)
      end
    end)

    it("diff prints the grants, marking what the issue's profiles add", function()
      local r = lsh({ "diff", "default", H.profile(TTY) })
      assert.equal(1, r.code, r.err)
      assert.truthy(r.out:find("system calls:\n  - the default filter\n  + the default filter, less what is allowed below\n" ..
        "  + allowed beyond the default filter: ioctl a1&0xffffffff==0x5412 (@tty, TIOCSTI)\n", 1, true), r.out)
      assert.truthy(r.out:find("terminal:\n  - a new session, without the caller's terminal\n" ..
        "  + the caller's session and terminal are shared\n", 1, true), r.out)
      -- Unchanged grants are listed too.
      assert.truthy(r.out:find("host paths visible:\n", 1, true), r.out)
      assert.truthy(r.out:find("\n    /usr from the host's /usr\n", 1, true), r.out)
      r = lsh({ "diff", "default", H.profile(NOFILTER) })
      assert.truthy(r.out:find("  + no filter in effect: every system call is allowed\n", 1, true), r.out)
      r = lsh({ "diff", "default", "default" })
      assert.equal(0, r.code, r.err)
      assert.truthy(r.out:find("they grant the same\n$"), r.out)
    end)

    if mode == "root" then
      it("a {0, 0, 1} map run by root: root inside reads host root's 0600 file", function()
        local dir = tmpdir()
        H.sh("chmod 755 " .. dir .. " && echo root-only > " .. dir .. "/secret && chmod 600 " .. dir ..
          "/secret && chown 0:0 " .. dir .. "/secret")
        local bind = string.format(",\n  mounts = { ro_bind(%q, '/data') },\n}\n", dir)
        -- Root's own sandbox, as default maps it: not host root.
        local safe = H.profile("return {\n  extends = 'default'" .. bind)
        local r = lsh({ "run", safe, "--", "cat", "/data/secret" })
        assert.equal("", r.out)
        assert.truthy(r.err:find("Permission denied", 1, true), r.err)
        local p = H.profile((MAP:gsub(",\n}\n$", bind)))
        r = lsh({ "run", p, "--", "cat", "/data/secret" })
        H.sh("rm -rf " .. dir)
        assert.equal(0, r.code, r.err)
        assert.equal("root-only\n", r.out)
        local c = lsh({ "check", p })
        assert.truthy(c.err:find(p .. MAP_WARNING, 1, true), c.err)
        assert.falsy(c.err:find("(only a root caller can run it)", 1, true), c.err)
      end)

      it("warns for root without a user namespace: the command is host root", function()
        local p = H.profile("return {\n  namespaces = { 'mount', 'pid', 'net', 'ipc', 'uts' },\n" ..
          "  mounts = { ro_bind '/usr', symlink('usr/bin', '/bin'), symlink('usr/lib', '/lib'),\n" ..
          "    symlink('usr/lib64', '/lib64'), proc '/proc' },\n}\n")
        local r = lsh({ "run", p, "--", "id", "-u" })
        assert.equal("0\n", r.out, r.err)
        local c = lsh({ "check", p })
        assert.truthy(c.err:find(p .. ":2: namespaces: warning: the caller is root and there is no user namespace: " ..
          "root inside is host root", 1, true), c.err)
      end)
    end
  end)
end

-- The homes and runtime directory a warning guards are the caller's, whatever its
-- environment says (issue #9 review, F6): HOME unset or HOME=/tmp, XDG_RUNTIME_DIR unset.
for _, mode in ipairs(H.modes) do
  describe("warnings follow the caller, not its environment (" .. mode .. ")", function()
    it("warns for the passwd home's keys and /run/user/UID with HOME and XDG_RUNTIME_DIR unset or elsewhere", function()
      local uid = mode == "root" and 0 or H.NOBODY_UID
      local home = H.sh("getent passwd " .. uid .. " | cut -d: -f6").out:gsub("\n$", "")
      assert.truthy(home:match("^/"), home)
      local p = H.profile("return {\n  extends = 'default',\n  mounts = {\n    bind('" .. home .. "/.ssh', '/s'),\n" ..
        "    ro_bind('/run/user/" .. uid .. "', '/r'),\n  },\n}\n")
      for _, envs in ipairs({ "-u HOME -u XDG_RUNTIME_DIR", "HOME=/tmp XDG_RUNTIME_DIR=/tmp" }) do
        local r = H.sh("env " .. envs .. " " .. H.quote(H.bin) .. " check --strict " .. H.quote(p), { mode = mode,
          env = "XDG_RUNTIME_DIR=/tmp" })
        assert.equal(2, r.code, envs .. ": " .. r.out .. r.err)
        assert.truthy(r.err:find(":4: mounts[1]: error (--strict): the host's " .. home .. "/.ssh is writable from the sandbox",
          1, true), envs .. ": " .. r.err)
        assert.truthy(r.err:find(":5: mounts[2]: error (--strict): the sandbox can connect to /run/user/" .. uid .. "/bus",
          1, true), envs .. ": " .. r.err)
      end
    end)
  end)
end
