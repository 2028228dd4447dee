-- Files a profile names (extends, seccomp.file), the profile on the command line and
-- topology files: only a regular file is read, never blocking, up to 1 MiB; and a message
-- about a file that is not a profile names it, its line and what was expected, never a
-- word of it. Through the real CLI, as root and as nobody. #integration
local H = require "helpers"

-- Words of the secret that must never appear in any output.
local WORDS = { "lshroot", "SECRETWORD", "hunter2", "passphrase", "supersecret", "daemonx", "19000" }

local dir -- the spec's own files, made by root
-- The secrets, per mode: 0600 and owned by the caller, who can read them; a profile must
-- still not make lunshare print them.
local secrets, envfiles = {}, {}

local function write(path, text, mode)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
  H.sh("chmod " .. mode .. " " .. path)
end

setup(function()
  dir = os.tmpname() .. ".d"
  assert(H.sh("mkdir -m 755 " .. dir).code == 0)
  for _, mode in ipairs(H.modes) do
    -- Shaped like /etc/shadow, with distinctive words on every line.
    secrets[mode] = dir .. "/shadow-" .. mode
    write(secrets[mode], "lshroot:$y$j9T$SECRETWORD:19000:0:99999:7:::\ndaemonx:*:19000:0:99999:7:::\nhunter2 passphrase\n", "600")
    -- Shaped like an environment file: valid Lua that reads a name.
    envfiles[mode] = dir .. "/env-" .. mode
    write(envfiles[mode], "TOKEN=supersecret\n", "600")
    if mode == "rootless" then
      H.sh(string.format("chown %d %s %s", H.NOBODY_UID, secrets[mode], envfiles[mode]))
    end
  end
  assert(H.sh("mkfifo -m 666 " .. dir .. "/fifo").code == 0)
  assert(H.sh("head -c 2097152 /dev/zero | tr '\\0' ' ' > " .. dir .. "/big.lua && chmod 644 " .. dir .. "/big.lua").code == 0)
  assert(H.sh("mkdir -m 755 " .. dir .. "/adir.lua").code == 0)
end)

teardown(function()
  H.sh("rm -rf " .. dir)
end)

local function leaks(text)
  for _, w in ipairs(WORDS) do
    if text:find(w, 1, true) then return w end
  end
  return nil
end

for _, mode in ipairs(H.modes) do
  describe("files a profile names (" .. mode .. ")", function()
    local secret, envfile = secrets[mode], envfiles[mode]
    local function lsh(args)
      -- A bound on every command: a read that blocks fails the test, not the suite.
      return H.sh("timeout 5 " .. H.quote(H.bin) .. " " .. H.join(args), { mode = mode })
    end

    it("seccomp.file naming a secret file prints none of it through check, explain or diff", function()
      local p = H.profile('return { extends = "default", seccomp = { file = "' .. secret .. '" } }')
      for _, args in ipairs({ { "check", p }, { "explain", p }, { "explain", "--json", p }, { "diff", "default", p } }) do
        local r = lsh(args)
        assert.equal(2, r.code, args[1] .. ": " .. r.out .. r.err)
        assert.is_nil(leaks(r.out .. r.err), args[1] .. " printed a word of the file: " .. r.out .. r.err)
        -- Named by file and line, with what was expected.
        assert.truthy(r.err:find(secret .. ":1: unknown action; expected allow, deny[:ERRNO], kill or log", 1, true), r.err)
        -- Its first error only: one per line would count the file's lines.
        assert.falsy(r.err:find(secret .. ":[2-9]"), r.err)
      end
    end)

    it("a rules file's error says line and expectation, not the rule", function()
      -- Each bad line after a good one, in a file of its own (a file's first error is its
      -- only one).
      local cases = {
        { "deny:EBOGUSX open", "unknown errno; expected a name like EPERM or a number from 1 to 4095" },
        { "kill nosuchcallx", "unknown system call; expected a name as in syscalls(2)" },
        { "log read a9==1", "bad condition; expected aN[&MASK]OP VALUE" },
        { "allow", "expected a system call after the action" },
        { "bogusx read", "unknown action; expected allow, deny[:ERRNO], kill or log" },
      }
      for _, c in ipairs(cases) do
        local rules = H.profile("allow read\n" .. c[1] .. "\nbogusy read\n")
        local p = H.profile('return { extends = "default", seccomp = { file = "' .. rules .. '" } }')
        local r = lsh({ "check", p })
        assert.equal(2, r.code)
        assert.truthy(r.err:find(rules .. ":2: " .. c[2], 1, true), c[2] .. "\n" .. r.err)
        assert.falsy(r.err:find(rules .. ":3", 1, true), r.err)
        assert.falsy(r.err:find("EBOGUSX", 1, true) or r.err:find("nosuchcallx", 1, true) or r.err:find("bogus", 1, true) or
          r.err:find("did you mean", 1, true), r.err)
        os.remove(rules)
        os.remove(p)
      end
    end)

    it("extends of a file that is not a profile quotes none of it", function()
      for _, target in ipairs({ secret, envfile }) do
        local p = H.profile('return { extends = "' .. target .. '" }')
        for _, cmd in ipairs({ "check", "explain" }) do
          local r = lsh({ cmd, p })
          assert.equal(2, r.code, r.err)
          assert.is_nil(leaks(r.out .. r.err), cmd .. " printed a word of " .. target .. ": " .. r.err)
          assert.equal(1, #H.lines(r.err), r.err)
          assert.truthy(r.err:find("what it names is not a .lua file, so its text is not shown", 1, true), r.err)
        end
        -- From a profile in a directory of its own (the file is not in its tree): not even
        -- the shape of Lua's message ("'=' expected", "unexpected symbol").
        local own = H.tmpdir()
        local q = own .. "/q.lua"
        local f = assert(io.open(q, "w"))
        f:write('return { extends = "' .. target .. '" }\n')
        f:close()
        H.sh("chmod 644 " .. H.quote(q))
        for _, cmd in ipairs({ "check", "explain" }) do
          local r = lsh({ cmd, q })
          assert.equal(2, r.code, r.err)
          assert.is_nil(leaks(r.out .. r.err), cmd .. " printed a word of " .. target .. ": " .. r.err)
          -- (explain prefixes "lunshare: ").
          local line = r.err:gsub("^lunshare: ", "")
          assert.truthy(line:find("^" .. target:gsub("%p", "%%%0") .. ": not a lunshare profile %((%a[%a ]+) at line 1%)\n$"), r.err)
        end
        H.rm(own)
      end
    end)

    -- A Lua string may hold a NUL byte; C would open only what comes before it, and
    -- "SECRET\0.lua" looks like a profile's name. Refused in every field, before
    -- anything is opened, and by the binding for any string that reaches a C path.
    it("a NUL byte in any string a profile gives is refused, and nothing is opened or quoted", function()
      for _, field in ipairs({ 'extends = "' .. secret .. '\\0.lua"',
        'seccomp = { file = "' .. secret .. '\\0.lua" }',
        'extends = "default", mounts = { ro_bind("' .. secret .. '\\0", "/x") }',
        'extends = "default", hostname = "a\\0b"', 'extends = "default", env = { set = { ["A\\0B"] = "1" } }' }) do
        local p = H.profile("return { " .. field .. " }")
        for _, args in ipairs({ { "check", p }, { "explain", p }, { "diff", "default", p } }) do
          local r = lsh(args)
          assert.equal(2, r.code, field .. ": " .. r.out .. r.err)
          assert.is_nil(leaks(r.out .. r.err), args[1] .. " printed a word of the file: " .. r.err)
          assert.truthy(r.err:find("a string holds a NUL byte", 1, true), field .. ": " .. r.err)
          assert.equal(1, #H.lines(r.err), r.err)
        end
      end
      -- The same for a topology's strings.
      local t = H.file('return { hosts = { ["h\\0x"] = {} } }', ".lua")
      local r = lsh({ "net", "status", t })
      assert.equal(2, r.code, r.err)
      assert.truthy(r.err:find("a string holds a NUL byte", 1, true), r.err)
      -- And for anything that reaches a C path API through lunshare.core.
      r = H.sh(H.lua_env() .. " lua5.4 -e " .. H.quote(
        'local c = require "lunshare.core" ' ..
        'for _, f in ipairs({ function() return c.read_file("' .. secret .. '\\0.lua") end, ' ..
        'function() return c.kind("/etc\\0x") end, function() return c.statedir("/tmp\\0", "x") end }) do ' ..
        'local ok, e = pcall(f) print(ok, e) end'), { mode = mode })
      assert.equal(0, r.code, r.err)
      assert.equal(3, select(2, r.out:gsub("false\t[^\n]*holds a NUL byte", "")), r.out)
      assert.is_nil(leaks(r.out), r.out)
    end)

    -- What may be quoted is decided by what was opened: a symlink whose name ends in .lua
    -- (git stores them; CI checks repo/*.lua) to a file that is not a profile is not one.
    it("a symlink named *.lua to a file that is not a profile quotes none of it", function()
      local link = os.tmpname() .. ".d"
      finally(function() H.sh("rm -rf " .. H.quote(link)) end)
      assert(H.sh("mkdir -m 755 " .. link .. " && ln -s " .. secret .. " " .. link .. "/base.lua && ln -s " .. envfile ..
        " " .. link .. "/env.lua && ln -s " .. envfile .. " " .. link .. "/topo.lua").code == 0)
      local p = link .. "/p.lua"
      local f = assert(io.open(p, "w"))
      f:write('return { extends = "./base.lua" }\n')
      f:close()
      H.sh("chmod 644 " .. p)
      for _, args in ipairs({ { "check", p }, { "explain", p }, { "check", link .. "/base.lua" },
        { "check", link .. "/env.lua" }, { "diff", "default", link .. "/env.lua" }, { "net", "status", link .. "/topo.lua" } }) do
        local r = lsh(args)
        assert.equal(2, r.code, table.concat(args, " ") .. ": " .. r.err)
        assert.is_nil(leaks(r.out .. r.err), table.concat(args, " ") .. " printed a word of the file: " .. r.err)
        -- (The secret is in the suite's directory, outside link/: through extends, its real
        -- path is outside p's tree.)
        local shown = args[2] == p and (link .. "/base.lua: not a lunshare profile (syntax error at line 1)") or
          "what it names is not a .lua file, so its text is not shown"
        assert.truthy(r.err:find(shown, 1, true), r.err)
      end
      -- A file that evaluates to a table but is not a .lua file: no field of it is named.
      local tbl = link .. "/tbl"
      f = assert(io.open(tbl, "w"))
      f:write('return { supersecret = "hunter2" }\n')
      f:close()
      assert(H.sh("chmod 644 " .. tbl .. " && ln -s tbl " .. link .. "/tbl.lua").code == 0)
      local r = lsh({ "check", link .. "/tbl.lua" })
      assert.equal(2, r.code, r.err)
      assert.is_nil(leaks(r.out .. r.err), r.err)
      assert.truthy(r.err:find("not a profile: its entries do not check", 1, true), r.err)
    end)

    it("a profile keeps its full syntax message; a file it extends says only where", function()
      local p = H.profile("return { hostname = 'x' lshsyntaxword }")
      local r = lsh({ "check", p })
      assert.equal(2, r.code)
      assert.truthy(r.err:find(":1: syntax error: '}' expected near 'lshsyntaxword'", 1, true), r.err)
      -- Named through extends it may be anybody's file: no word of Lua's message, whose
      -- tokens are the file's (an oracle on /etc/shadow's first words in a CI log).
      local own = H.tmpdir()
      finally(function() H.rm(own) end)
      local q = own .. "/q.lua"
      local f = assert(io.open(q, "w"))
      f:write('return { extends = "' .. p .. '" }\n')
      f:close()
      H.sh("chmod 644 " .. H.quote(q))
      r = lsh({ "check", q })
      assert.equal(2, r.code)
      assert.equal(p .. ": not a lunshare profile (syntax error at line 1)\n", r.err)
      -- A file beside it, in its own tree, came with it: the whole message.
      local beside = own .. "/beside.lua"
      f = assert(io.open(beside, "w"))
      f:write('return { extends = "./sub.lua" }\n')
      f:close()
      f = assert(io.open(own .. "/sub.lua", "w"))
      f:write("return { hostname = 'x' lshsyntaxword }")
      f:close()
      H.sh("chmod 644 " .. H.quote(beside) .. " " .. H.quote(own .. "/sub.lua"))
      r = lsh({ "check", beside })
      assert.equal(2, r.code)
      assert.truthy(r.err:find("sub.lua:1: syntax error: '}' expected near 'lshsyntaxword'", 1, true), r.err)
    end)

    -- Opening is an action for some files (a watchdog arms, a tape rewinds, a serial line
    -- raises DTR, /dev/tty becomes involved), and reading /proc/kmsg takes the kernel's
    -- messages from syslog: a name from a profile or a topology is opened with O_PATH and
    -- looked at (fstat, fstatfs) before anything opens it for reading. strace shows every
    -- open of the name was an O_PATH one.
    it("a device, a FIFO or a kernel filesystem's file is refused without an open for reading", function()
      local targets = {
        { "/dev/zero", "not a regular file (a character device)" },
        { "/dev/tty", "not a regular file (a character device)" },
        { dir .. "/fifo", "not a regular file (a FIFO)" },
        { "/proc/kmsg", "on proc, a kernel filesystem: not read (no profile lives there)" },
        { "/proc/self/status", "on proc, a kernel filesystem: not read (no profile lives there)" },
        { "/sys/kernel/uevent_seqnum", "on sysfs, a kernel filesystem: not read (no profile lives there)" },
      }
      -- Written by strace as the mode's user: a directory of its own, not /tmp itself
      -- (fs.protected_regular refuses O_CREAT of another's file in a sticky directory).
      local tdir = H.tmpdir("777")
      local trace = tdir .. "/trace"
      finally(function() H.rm(tdir) end)
      local function traced(args)
        local r = H.sh("timeout 10 strace -f -qq -e trace=open,openat,openat2,close -o " .. H.quote(trace) .. " " ..
          H.quote(H.bin) .. " " .. H.join(args), { mode = mode })
        local f = assert(io.open(trace))
        local calls = f:read("a")
        f:close()
        return r, calls
      end
      -- Every open of path in calls is an O_PATH one, and none of those fds is reopened
      -- (through /proc/self/fd/N) before it is closed; how many opens of path there were,
      -- and how many reopens.
      local function opens(path, calls, what)
        local n, reopened, live = 0, 0, {}
        for line in calls:gmatch("[^\n]+") do
          local pid = line:match("^(%d+)")
          if line:find('"' .. path .. '"', 1, true) then
            n = n + 1
            assert.truthy(line:find("O_PATH", 1, true), what .. ": opened for reading: " .. line)
            local fd = line:match("= (%d+)$")
            if fd then live[pid .. ":" .. fd] = true end
          end
          local cfd = line:match("close%((%d+)%)")
          if cfd then live[pid .. ":" .. cfd] = nil end
          local rfd = line:match('"/proc/self/fd/(%d+)"')
          if rfd and live[pid .. ":" .. rfd] then reopened = reopened + 1 end
        end
        return n, reopened
      end
      for _, t in ipairs(targets) do
        local path, why = t[1], t[2]
        if H.sh("test -e " .. H.quote(path)).code == 0 then
          local cases = {
            { { "check", H.profile('return { extends = "' .. path .. '" }') }, "extends: cannot read profile " .. path .. ": " .. why },
            { { "explain", H.profile('return { extends = "default", seccomp = { file = "' .. path .. '" } }') },
              "cannot read seccomp rules: " .. path .. ": " .. why },
            { { "diff", "default", H.profile('return { extends = "default", seccomp = { file = "' .. path .. '" } }') },
              "cannot read seccomp rules: " .. path .. ": " .. why },
            { { "net", "status", path }, "lunshare: " .. path .. ": " .. why },
            { { "check", path }, path .. ": cannot read profile " .. path .. ": " .. why },
          }
          for _, c in ipairs(cases) do
            local what = table.concat(c[1], " ")
            local r, calls = traced(c[1])
            local n, reopened = opens(path, calls, what)
            assert.truthy(n >= 1, what .. ": never opened? " .. calls)
            assert.equal(0, reopened, what .. ": reopened for reading: " .. calls)
            assert.equal(2, r.code, what .. ": " .. r.out .. r.err)
            assert.truthy(r.err:find(c[2], 1, true), what .. ": " .. r.err)
            assert.equal(1, #H.lines(r.err), r.err)
          end
        end
      end
      -- The control: a profile is opened with O_PATH and then reopened for reading through
      -- that fd, which the counts above would have seen. The other open is core.resolve's
      -- (lsh_path_resolve: one openat2 with O_PATH refusing every symlink, never reopened).
      local good = H.profile('return { extends = "default" }')
      local r, calls = traced({ "check", good })
      assert.equal(0, r.code, r.err)
      assert.same({ 2, 1 }, { opens(good, calls, "the control") })
    end)

    it("extends /dev/zero or a FIFO ends at once, in one line, exit 2", function()
      for target, what in pairs({ ["/dev/zero"] = "a character device", [dir .. "/fifo"] = "a FIFO" }) do
        local p = H.profile('return { extends = "' .. target .. '" }')
        local t0 = os.time()
        local r = lsh({ "check", p })
        assert.truthy(os.time() - t0 <= 2, "took too long")
        assert.equal(2, r.code, r.err)
        assert.equal(p .. ":1: extends: cannot read profile " .. target .. ": not a regular file (" .. what .. ")\n", r.err)
      end
    end)

    it("refuses a file over 1 MiB and a directory, wherever it is named", function()
      local big, adir = dir .. "/big.lua", dir .. "/adir.lua"
      local r = lsh({ "check", big })
      assert.equal(2, r.code)
      assert.equal(big .. ": cannot read profile " .. big .. ": larger than 1 MiB\n", r.err)
      r = lsh({ "check", H.profile('return { extends = "' .. big .. '" }') })
      assert.equal(2, r.code)
      assert.truthy(r.err:find("extends: cannot read profile " .. big .. ": larger than 1 MiB\n", 1, true), r.err)
      r = lsh({ "check", H.profile('return { seccomp = { file = "' .. big .. '" } }') })
      assert.equal(2, r.code)
      assert.truthy(r.err:find("cannot read seccomp rules: " .. big .. ": larger than 1 MiB\n", 1, true), r.err)
      r = lsh({ "net", "status", big })
      assert.equal(2, r.code)
      assert.equal("lunshare: " .. big .. ": larger than 1 MiB\n", r.err)
      r = lsh({ "check", adir })
      assert.equal(2, r.code)
      assert.equal(adir .. ": cannot read profile " .. adir .. ": Is a directory\n", r.err)
      r = lsh({ "check", H.profile('return { seccomp = { file = "' .. dir .. '" } }') })
      assert.truthy(r.err:find("cannot read seccomp rules: " .. dir .. ": Is a directory", 1, true), r.err)
    end)
  end)
end
