-- `lunshare repl`: the same API as require "lunshare", driven by a pipe and, for line
-- editing and history, by a real terminal in tmux. #integration
local H = require "helpers"

local function repl(input, opts, args)
  local f = H.file(input)
  local r = H.sh(H.quote(H.bin) .. " repl " .. (args or "") .. " < " .. H.quote(f), opts)
  os.remove(f)
  return r
end

-- The lines of /proc/self/status that say what confines a process.
local function confinement(status)
  local out = {}
  for _, k in ipairs({ "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp",
    "Seccomp_filters", "Uid", "Gid" }) do
    out[#out + 1] = status:match("\n(" .. k .. ":[^\n]*)") or (k .. ": (missing)")
  end
  return table.concat(out, "\n")
end

describe("repl", function()
  it("evaluates expressions and statements, with multi-line input", function()
    local r = repl("return 1 + 1\nfor i = 1, 2 do\nprint(i)\nend\nreturn { b = { 2, 3 }, a = 1 }\n")
    assert.equal(0, r.code, r.err)
    assert.equal("2\n1\n2\n{ a = 1, b = { 2, 3 } }\n", r.out)
  end)

  it("has the core primitives loaded: a namespace handle prints and closes", function()
    local r = repl("h = core.ns_open(0, 'net')\nreturn h\nh:close()\nreturn h\n")
    assert.equal(0, r.code, r.err)
    local l = H.lines(r.out)
    assert.truthy(l[1]:match("^namespace %(fd %d+%)$"), r.out)
    assert.equal("namespace (closed)", l[2])
  end)

  it("stops at the first chunk of piped input that fails: one line with its input line, status 1", function()
    local r = repl("x = 1\n\nfor i = 1, 2 do\nend\nerror('boom')\nprint('not reached')\n")
    assert.equal(1, r.code)
    assert.equal("stdin:5: boom\n", r.err)
    assert.equal("", r.out)
    local r2 = repl("return 1\nlocal t = {\n  1,\n  nil + 1 }\n")
    assert.equal(1, r2.code)
    assert.equal("stdin:4: attempt to perform arithmetic on a nil value\n", r2.err)
    assert.equal("1\n", r2.out)
  end)

  it("survives a value that cannot be shown, and fails on input that ends a statement half way", function()
    local r = repl("setmetatable({}, { __tostring = function() error('ts') end })\nreturn 1\n")
    assert.equal(0, r.code, r.err)
    assert.truthy(r.out:find("^<table: .*ts>\n1\n$"), r.out)
    local r2 = repl("return 1\nfor i = 1, 2 do\n")
    assert.equal(1, r2.code)
    assert.equal("1\n", r2.out)
    assert.equal("stdin:2: 'end' expected near <eof>\n", r2.err)
  end)

  it("checks a profile table as a file: a misspelt namespace gets the suggestion", function()
    local r = repl("return lunshare.plan{ namespaces = { 'nett' } }\n")
    assert.equal(0, r.code, r.err)
    assert.equal('nil\t"<table>: namespaces[1]: unknown namespace \'nett\' (did you mean \'net\'?); ' ..
      'expected one of user, mount, pid, net, ipc, uts, cgroup, time"\n', r.out)
    local r2 = repl("return lunshare.plan{ mounts = { ro_bind = '/usr' } }\n")
    assert.equal('nil\t"<table>: mounts.ro_bind: unknown field: mounts is a list of mounts"\n', r2.out, r2.err)
  end)

  it("has the profile constructors and params as globals", function()
    local r = repl("return ro_bind '/usr', tmpfs { '/tmp', size = '1M' }, without '/home'\n" ..
      "return params({ home = { values = { 'ro', 'rw' }, default = 'ro' } }, { home = 'rw' }).home\n" ..
      "params { home = { values = { 'ro', 'rw' }, default = 'rx' } }\n")
    assert.equal(1, r.code)
    assert.equal('{ kind = "ro_bind", src = "/usr" }\t{ dst = "/tmp", kind = "tmpfs", size = "1M" }\t' ..
      '{ without = "/home" }\n"rw"\n', r.out)
    assert.equal("stdin:3: params.home.default: expected one of ro, rw, got 'rx'\n", r.err)
  end)

  it("prints help from the man page compiled in", function()
    local doc = require "lunshare.doc"
    local f = assert(io.open(H.root .. "/docs/lunshare-lua.3"))
    local page = doc.parse(f:read("a"))
    f:close()
    local r = H.sh("LANG=C.UTF-8 " .. H.quote(H.bin) .. " repl < " .. H.quote(H.file("help(core.ns_open)\nhelp()\n")))
    assert.equal(0, r.code, r.err)
    local want = doc.render(page.by_name["core.ns_open"][1])
    assert.equal(want, r.out:sub(1, #want))
    for _, line in ipairs({ "lunshare.core: namespaces", "lunshare.core: processes", "handles: netlink handles",
      "live network objects: links", "profile fields (lunshare-profile(5))", "profile constructors (lunshare-profile(5))" }) do
      assert.truthy(H.has_line(r.out, line), line .. "\n" .. r.out)
    end
  end)

  it("documents the live network objects as ip, the name of the API", function()
    local doc = require "lunshare.doc"
    local f = assert(io.open(H.root .. "/docs/lunshare-lua.3"))
    local page = doc.parse(f:read("a"))
    f:close()
    local r = H.sh("LANG=C.UTF-8 " .. H.quote(H.bin) .. " repl < " ..
      H.quote(H.file('help("ip.link.add")\nhelp(lunshare.ip.route.list)\n')))
    assert.equal(0, r.code, r.err)
    assert.equal(doc.render(page.by_name["ip.link.add"][1]) .. doc.render(page.by_name["ip.route.list"][1]), r.out)
  end)

  for _, mode in ipairs(H.modes) do
    it("runs a profile through the API (" .. mode .. ")", function()
      local r = repl("return lunshare.run('default', { 'sh', '-c', 'exit 3' })\n", { mode = mode })
      assert.equal("3\n", r.out, r.err)
    end)

    it("runs a profile table with extends honoured (" .. mode .. ")", function()
      local r = repl("return lunshare.run({ extends = 'default', hostname = 'tablebox' }, { 'hostname' })\n",
        { mode = mode })
      assert.equal(0, r.code, r.err)
      assert.equal("tablebox\n0\n", r.out, r.err)
    end)

    it("makes a user+uts namespace child that runs a function, and waits for it (" .. mode .. ")", function()
      local src = [[
pid, pidfd = core.clone({ "user", "uts" }, function() assert(core.sethostname("x")) return 7 end)
return core.wait(pidfd)
pid, pidfd = core.clone({ "user" }, function() error("in the child") end)
return core.wait(pidfd)
]]
      local r = repl(src, { mode = mode })
      assert.equal("7\t1792\n1\t256\n", r.out, r.err)
      assert.equal("stdin:3: in the child\n", r.err)
    end)
  end

  it("says clearly that a handle is closed, however it is used, and closes twice without harm", function()
    local r = repl("h = core.ns_open(0, 'net')\nh:close()\nh:close()\nreturn h\n" ..
      "return select(2, pcall(core.setns, h))\nreturn select(2, pcall(core.netlink, { fd = h }))\n" ..
      "nl = core.netlink()\nnl:close()\nnl:close()\nnl:links()\n")
    assert.equal(1, r.code)
    assert.equal('namespace (closed)\n"bad argument #1 to \'lunshare.core.setns\' (handle is closed)"\n' ..
      '"bad argument #1 to \'lunshare.core.netlink\' (fd: the handle is closed)"\n', r.out)
    assert.equal("stdin:10: calling 'links' on bad self (netlink handle is closed)\n", r.err)
  end)

  it("refuses a profile it cannot load, and more than one, with status 2", function()
    local r = H.lunshare({ "repl", "no-such-profile" })
    assert.equal(2, r.code)
    assert.equal(1, #H.lines(r.err), r.err)
    assert.truthy(r.err:find("no-such-profile", 1, true), r.err)
    local r2 = H.lunshare({ "repl", "default", "other" })
    assert.equal(2, r2.code)
    assert.equal("lunshare: repl: takes one profile, got 'other' too (see 'lunshare repl --help')\n", r2.err)
    -- A sandbox without a shell cannot serve sb: one line, status 1, and nothing left.
    local f = H.profile('return { extends = "default", mounts = { without "/usr" } }\n')
    local r3 = repl("return 1\n", nil, H.quote(f))
    os.remove(f)
    assert.equal(1, r3.code)
    assert.equal("", r3.out)
    assert.equal("lunshare: " .. f .. ": the sandbox did not start: exec /bin/sh: No such file or directory " ..
      "(sb needs /bin/sh in the sandbox)\n", r3.err)
  end)

  for _, mode in ipairs(H.modes) do
    it("runs PROFILE's sandbox as sb: exec with the command's confinement, links, stop (" .. mode .. ")", function()
      local r = repl([[
out, code = sb:exec{ "hostname" }
return out, code
return sb:exec{ "sh", "-c", "echo out; echo \"$1\" >&2; exit 3", "sh", "it's $HOME \\ `x`" }
return sb:exec{ "no-such-command" }
return sb:exec{ "exit" }
names = {} for _, l in ipairs(sb:links()) do names[#names + 1] = l.name .. (l.up and "+" or "-") end
return table.concat(names, " ")
status = sb:exec{ "cat", "/proc/self/status" } io.stderr:write(status)
return sb:stop()
return sb:stop()
return select(2, pcall(sb.exec, sb, { "true" }))
return sb
]], { mode = mode }, "default")
      assert.equal(0, r.code, r.err)
      local l = H.lines(r.out)
      assert.equal('"lunshare\\n"\t0', l[1])
      assert.equal('"out\\nit\'s $HOME \\\\ `x`\\n"\t3', l[2])
      assert.truthy(l[3]:find("no%-such%-command: not found\\n\"\t127$"), l[3])
      -- A word is a program, never the server shell's builtin.
      assert.truthy(l[4]:find("exit: not found\\n\"\t127$"), l[4])
      assert.equal('"lo+"', l[5])
      assert.same({ "0", "0", '"sb:exec: the sandbox of default has stopped (status 0)"', "sandbox default (stopped)" },
        { l[6], l[7], l[8], l[9] })
      -- What sb:exec runs is confined exactly as the profile's command is.
      local run = H.lunshare({ "run", "default", "--", "cat", "/proc/self/status" }, { mode = mode })
      assert.equal(0, run.code, run.err)
      assert.equal(confinement(run.out), confinement(r.err))
      assert.truthy(confinement(r.err):find("NoNewPrivs:\t1", 1, true), r.err)
    end)

    it("ends PROFILE's sandbox and its supervisor when the input ends, and when the REPL is killed (" .. mode .. ")", function()
      local r = repl("print(sb.supervisor, sb:pid())\n", { mode = mode }, "default")
      assert.equal(0, r.code, r.err)
      local sup, pid = r.out:match("^(%d+)\t(%d+)\n$")
      assert.truthy(sup, r.out)
      assert.equal(1, H.sh("kill -0 " .. sup .. " || kill -0 " .. pid).code)
      -- SIGKILL gives the REPL no time to stop it: its end of the pipe closes, the shell
      -- ends, and the supervisor tears the sandbox down as after any command.
      local input = H.file("print(sb.supervisor) io.stdout:flush() while true do core.sleep(1) end\n")
      local out = H.file("")
      assert(H.sh("chmod 666 " .. H.quote(out)).code == 0)
      local k = H.sh(H.quote(H.bin) .. " repl default < " .. H.quote(input) .. " > " .. H.quote(out) .. " & p=$!; " ..
        H.wait_until("[ -s " .. H.quote(out) .. " ]", 30) .. " || { kill -9 $p; exit 3; }; sup=$(cat " .. H.quote(out) .. "); " ..
        "kill -9 $p; wait $p; " .. H.wait_until("! kill -0 $sup 2>/dev/null", 30) .. " || { echo alive; kill -9 $sup; exit 4; }",
        { mode = mode })
      os.remove(input)
      os.remove(out)
      assert.equal(0, k.code, k.out .. k.err)
    end)
  end

  it("does not fork or hang the REPL itself: clone needs a function, hold runs only in a child", function()
    local r = repl("return pcall(core.clone, { 'user' })\nreturn pcall(core.hold)\n" ..
      "pid, pidfd = core.clone({ 'user', 'net' }, core.hold)\nreturn core.wait(pidfd, true)\n" ..
      "assert(core.kill(pidfd, 9))\nreturn core.wait(pidfd)\nreturn require('lunshare.core').clone ~= core.clone\n" ..
      "return pcall(core.exec, { 'true' })\npid, pidfd = core.clone({ 'user' }, core.exec, { 'sh', '-c', 'exit 9' })\n" ..
      "return core.wait(pidfd)\n")
    assert.equal(0, r.code, r.err)
    local l = H.lines(r.out)
    assert.equal('false\t"core.clone: in the REPL, give the function the child runs: core.clone(kinds, ' ..
      'function() … end); it exits with the function\'s result"', l[1])
    assert.truthy(l[2]:find('^false\t"core.hold: this process would become a namespace holder'), l[2])
    assert.same({ "false", "true", "137\t9", "true" }, { l[3], l[4], l[5], l[6] })
    assert.truthy(l[7]:find('^false\t"core.exec: this process would become the program'), l[7])
    assert.equal("9\t2304", l[8])
  end)

  it("uses libedit, never GNU readline, and loads it only for the repl", function()
    local r = H.sh("ldd " .. H.quote(H.bin))
    assert.falsy(r.out:find("libreadline"))
    assert.falsy(r.out:find("libedit"), "libedit should not load for every sandbox start")
    assert.truthy(H.sh("grep -c libedit.so.2 " .. H.quote(H.bin)).out:match("^[1-9]"))
    assert.equal("", H.sh("grep -l libreadline " .. H.quote(H.bin)).out)
  end)

  -- In a terminal: a tmux server of the test's own, driven with the keys a person types,
  -- each step waiting with a deadline for what the screen must show (no sleeps).
  local function tmux_or_pending()
    if H.sh("command -v tmux").code ~= 0 then
      pending("tmux is not installed")
      return false
    end
    return true
  end

  -- Starts the REPL in a terminal (inside `world`, a command prefix, when given) and
  -- returns its handle; t.close() ends the server and removes its directory, whatever
  -- happened. The socket is in a fresh directory and carries the run's tag (H.RUN), so
  -- that another run of the suite can neither meet it nor mistake it for its own.
  local function terminal(world, args)
    local home = H.tmpdir("700")
    local T = "tmux -S " .. H.quote(home .. "/tmux-" .. H.RUN) .. " "
    local status = home .. "/status"
    local t = { home = home }
    local repl_cmd = "HOME=" .. H.quote(home) .. " " .. H.quote(H.bin) .. " repl " .. (args or "") .. "; echo $? > " .. H.quote(status)
    if world then repl_cmd = world .. " " .. H.quote(repl_cmd) end
    function t.close()
      H.sh(T .. "kill-server 2>/dev/null")
      H.rm(home)
    end
    function t.screen() return H.sh(T .. "capture-pane -p -J -S -1000 -t r").out end
    -- Waits until at least n lines of the screen match the extended regex pattern.
    function t.wait(pattern, n)
      local r = H.sh(H.wait_until(string.format('[ "$(%s capture-pane -p -J -S -1000 -t r | grep -cE -- %s)" -ge %d ]',
        T, H.quote(pattern), n or 1), 30))
      assert(r.code == 0, "timed out waiting for /" .. pattern .. "/ on the screen:\n" .. t.screen())
    end
    -- Types text as it is.
    function t.type(text) assert(H.sh(T .. "send-keys -t r -l " .. H.quote(text)).code == 0) end
    -- Presses keys by their tmux names: Enter, Tab, C-c, C-d, Up, C-a.
    function t.press(...) assert(H.sh(T .. "send-keys -t r " .. H.join({ ... })).code == 0) end
    -- The REPL's exit status, once it has ended.
    function t.status()
      local r = H.sh(H.wait_until("[ -s " .. H.quote(status) .. " ]", 30))
      assert(r.code == 0, "the REPL did not end:\n" .. t.screen())
      return H.read(status):gsub("%s+$", "")
    end
    local r = H.sh(T .. "new-session -d -s r -x 100 -y 50 " .. H.quote(repl_cmd))
    assert(r.code == 0, r.err)
    t.wait("^lunshare> ")
    return t
  end

  it("completes API names, methods, profile fields and live names on TAB", function()
    if not tmux_or_pending() then return end
    -- A network of its own, with one named netns, so that the live names are known.
    local t = terminal("unshare --net --mount sh -c 'mount -t tmpfs tmpfs /run && exec sh -c \"$0\"'")
    finally(t.close)
    t.type("core.ns_")
    t.press("Tab", "Tab")
    t.wait("core\\.ns_id +core\\.ns_kinds +core\\.ns_open")
    t.type("op")
    t.press("Tab")
    t.type('(0, "net")')
    t.press("Enter")
    t.wait("^namespace \\(fd [0-9]+\\)$")
    t.type('h = core.ns_open(0, "net")')
    t.press("Enter")
    t.type("h:clo")
    t.press("Tab")
    t.type("()")
    t.press("Enter")
    t.type("return h")
    t.press("Enter")
    t.wait("^namespace \\(closed\\)$")
    t.type("return lunshare.plan{ namesp")
    t.press("Tab")
    t.type(' = { "nett" } }')
    t.press("Enter")
    t.wait("did you mean 'net'")
    t.type('assert(core.netns_create("nsrepl1"))')
    t.press("Enter")
    t.type('return "nsr')
    t.press("Tab")
    t.type('", "l')
    t.press("Tab")
    t.type('"')
    t.press("Enter")
    t.wait('^"nsrepl1" +"lo" *$')
    t.type("ro_b")
    t.press("Tab", "Tab")
    t.wait("^ro_bind +ro_bind_try$")
  end)

  it("prints help by area, and a function's entry", function()
    if not tmux_or_pending() then return end
    local t = terminal()
    finally(t.close)
    t.type("help()")
    t.press("Enter")
    t.wait("^lunshare\\.core: namespaces$")
    t.wait("^profile fields \\(lunshare-profile\\(5\\)\\)$")
    t.type("help(core.ns_open)")
    t.press("Enter")
    t.wait("^core\\.ns_open\\(pid, kind\\) ")
    t.wait("^ +Opens /proc/PID/ns/KIND \\(pid 0: this process\\)")
  end)

  it("interrupts a running chunk with Ctrl-C and goes on", function()
    if not tmux_or_pending() then return end
    local t = terminal()
    finally(t.close)
    t.type('print("looping") while true do end')
    t.press("Enter")
    t.wait("^looping$")
    t.press("C-c")
    t.wait("interrupted!$")
    t.type("return 1 + 1")
    t.press("Enter")
    t.wait("^2$")
    -- An error is one line, and the REPL goes on.
    t.type("error('boom')")
    t.press("Enter")
    t.wait("^stdin:1: boom$")
    t.type("return 'after'")
    t.press("Enter")
    t.wait('^"after"$')
  end)

  it("passes Ctrl-C to a sandbox that lunshare.run runs, and goes on", function()
    if not tmux_or_pending() then return end
    local t = terminal()
    finally(t.close)
    t.type('return lunshare.run("default", { "sh", "-c", "echo started; exec sleep 100" })')
    t.press("Enter")
    t.wait("^started$")
    t.press("C-c")
    -- The command died of SIGINT (the terminal echoes ^C before the status).
    t.wait("^(\\^C)?130$")
    t.type("return 'after'")
    t.press("Enter")
    t.wait('^"after"$')
  end)

  it("holds Ctrl-C off while lunshare's own code holds the bounds off", function()
    if not tmux_or_pending() then return end
    local t = terminal()
    finally(t.close)
    -- Three seconds of CPU time inside a hold, then a loop: the interrupt waits for the
    -- hold's end, as the profile evaluator needs (it swaps the string metatable).
    t.type('print("held") core.cpu_hold(true) local c = os.clock() while os.clock() - c < 3 do end ' ..
      'held_done = true core.cpu_hold(false) while true do end')
    t.press("Enter")
    t.wait("^held$")
    t.press("C-c")
    t.wait("interrupted!$")
    t.type("return held_done")
    t.press("Enter")
    t.wait("^true$")
  end)

  it("drops the line and an unfinished statement on Ctrl-C at the prompt; Ctrl-D exits 0", function()
    if not tmux_or_pending() then return end
    local t = terminal()
    finally(t.close)
    t.type("return 10 +")
    t.wait("^lunshare> return 10 \\+$")
    t.press("C-c")
    t.wait("^lunshare> ", 2)
    t.type("return 3 + 4")
    t.press("Enter")
    t.wait("^7$")
    t.type("for i = 1, 2 do")
    t.press("Enter")
    t.wait("^>> ")
    t.press("C-c")
    t.wait("^lunshare> ", 4)
    t.type("return 5")
    t.press("Enter")
    t.wait("^5$")
    local screen = t.screen()
    assert.falsy(screen:find("stdin:", 1, true), screen)
    t.press("C-d")
    assert.equal("0", t.status())
  end)

  it("enters PROFILE's sandbox in a shell on the terminal, and Ctrl-C at the prompt leaves the sandbox running", function()
    if not tmux_or_pending() then return end
    local t = terminal(nil, "default")
    finally(t.close)
    -- Ctrl-C at the prompt and in a running chunk: the REPL's, never the sandbox's.
    t.type("return 10 +")
    t.press("C-c")
    t.type('print("looping") while true do end')
    t.press("Enter")
    t.wait("^looping$")
    t.press("C-c")
    t.wait("interrupted!$")
    t.type("return (sb:exec{ 'hostname' })")
    t.press("Enter")
    t.wait([[^"lunshare.n"$]])
    t.type("sb:ent")
    t.press("Tab")
    t.type("()")
    t.wait("^lunshare> sb:enter\\(\\) *$")
    t.press("Enter")
    t.wait("^# ")
    t.type("hostname; echo in-$$-$(id -u)")
    t.press("Enter")
    -- The shell is the sandbox's: its hostname, a pid of the sandbox's pid namespace, root inside.
    t.wait("^in-[0-9]+-0$")
    t.wait("^lunshare$")
    t.type("exit 5")
    t.press("Enter")
    t.wait("^5$")
    t.type("return sb:stop()")
    t.press("Enter")
    t.wait("^0$")
    t.press("C-d")
    assert.equal("0", t.status())
  end)

  it("sb:enter() joins a named sandbox as lunshare enter does (a pty of its own, the command's confinement), and sb:plug binds into it", function()
    if not tmux_or_pending() then return end
    local name = "ls" .. H.RUN .. "-repl"
    local src = H.tmpdir("755")
    H.sh("echo plugged-in > " .. H.quote(src .. "/f"))
    local t = terminal(nil, "--name " .. name .. " default")
    finally(function() t.close(); H.rm(src) end)
    t.type("sb:enter()")
    t.press("Enter")
    t.wait("^# ")
    -- Joined from outside the sandbox's pid namespace (the parent it sees is none: 0),
    -- on a terminal of the sandbox's own devpts, confined as its command is.
    t.type([[echo ppid=$PPID; tty | sed 's/^/tty=/'; grep -E '^(NoNewPrivs|Seccomp|CapEff):' /proc/self/status | tr -d '\t']])
    t.press("Enter")
    t.wait("^ppid=0$")
    t.wait("^tty=/dev/pts/[0-9]+$")
    t.wait("^NoNewPrivs:1$")
    t.wait("^Seccomp:2$")
    t.wait("^CapEff:0000000000000000$")
    t.type("exit 7")
    t.press("Enter")
    t.wait("^7$")
    t.wait("^lunshare> $")
    -- A relative target is refused here as the CLI refuses it.
    t.type('sb:plug("bind", ' .. string.format("%q", src) .. ', "tmp/rel")')
    t.press("Enter")
    t.wait("sb:plug: SRC and DST must be absolute paths")
    t.type('return sb:plug("bind", ' .. string.format("%q", src) .. ', "/tmp/in").id')
    t.press("Enter")
    t.wait([[^"/tmp/in"$]])
    t.type("return (sb:exec{ 'cat', '/tmp/in/f' })")
    t.press("Enter")
    t.wait([[^"plugged-in\\n"$]])
    t.type('return sb:unplug("/tmp/in")')
    t.press("Enter")
    t.wait("^true$")
    t.type("return (sb:exec{ 'cat', '/tmp/in/f' })")
    t.press("Enter")
    t.wait("No such file or directory")
    t.press("C-d")
    assert.equal("0", t.status())
  end)

  it("edits lines and recalls history in a terminal", function()
    if not tmux_or_pending() then return end
    local t = terminal()
    finally(t.close)
    t.type("return 6 * 7")
    t.press("Enter")
    t.wait("^42$")
    -- Up recalls the line; Home and a typed prefix edit it.
    t.press("Up", "C-a")
    t.type("x = 1; ")
    t.press("Enter")
    t.wait("^42$", 2)
    t.wait("^lunshare> x = 1; return 6 \\* 7 *$")
    -- The history is written when the repl ends.
    t.press("C-d")
    assert.equal("0", t.status())
    -- libedit writes spaces in its history file as \040.
    local hist = H.read(t.home .. "/.lunshare_history"):gsub("\\040", " ")
    assert.truthy(hist:find("return 6 %* 7"), hist)
  end)
end)
