-- `lunshare repl`: the same API as require "lunshare", driven by a pipe and, for line
-- editing and history, by a real terminal in tmux. #integration
local H = require "helpers"

local function repl(input, opts)
  local f = H.file(input)
  local r = H.sh(H.quote(H.bin) .. " repl < " .. H.quote(f), opts)
  os.remove(f)
  return r
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

  it("reports an error and goes on", function()
    local r = repl("error('boom')\nreturn 'after'\n")
    assert.equal(0, r.code)
    assert.equal("repl:1: boom\n", r.err)
    assert.equal('"after"\n', r.out)
  end)

  it("survives a value that cannot be shown, and says so of an unfinished statement", function()
    local r = repl("setmetatable({}, { __tostring = function() error('ts') end })\nreturn 1\nfor i = 1, 2 do\n")
    assert.equal(0, r.code)
    assert.truthy(r.out:find("^<table: .*ts>\n1\n$"), r.out)
    assert.equal("repl: input ended inside an unfinished statement\n", r.err)
  end)

  for _, mode in ipairs(H.modes) do
    it("runs a profile through the API (" .. mode .. ")", function()
      local r = repl("return lunshare.run('default', { 'sh', '-c', 'exit 3' })\n", { mode = mode })
      assert.equal("3\n", r.out, r.err)
    end)

    it("makes a user+uts namespace child by hand and waits for it (" .. mode .. ")", function()
      local src = [[
pid, pidfd = core.clone({ "user", "uts" })
if pid == 0 then core.sethostname("x") core._exit(0) end
return core.wait(pidfd)
]]
      local r = repl(src, { mode = mode })
      assert.equal("0\t0\n", r.out, r.err)
    end)
  end

  it("uses libedit, never GNU readline, and loads it only for the repl", function()
    local r = H.sh("ldd " .. H.quote(H.bin))
    assert.falsy(r.out:find("libreadline"))
    assert.falsy(r.out:find("libedit"), "libedit should not load for every sandbox start")
    assert.truthy(H.sh("grep -c libedit.so.2 " .. H.quote(H.bin)).out:match("^[1-9]"))
    assert.equal("", H.sh("grep -l libreadline " .. H.quote(H.bin)).out)
  end)

  it("edits lines and recalls history in a terminal", function()
    if H.sh("command -v tmux").code ~= 0 then
      pending("tmux is not installed")
      return
    end
    -- A tmux server of this test's own (its socket in a fresh directory), so that another
    -- run of the suite cannot meet it; it goes whatever the outcome.
    local home = H.tmpdir("700")
    local T = "tmux -S " .. H.quote(home .. "/tmux") .. " "
    finally(function()
      H.sh(T .. "kill-server 2>/dev/null")
      H.rm(home)
    end)
    -- Each step waits, with a deadline, for what the screen must show: no sleeps.
    local function screen_has(pattern, n)
      return H.wait_until(string.format("[ \"$(%s capture-pane -p -t r | grep -c %s)\" -ge %d ]",
        T, H.quote(pattern), n or 1), 30) .. " || { echo \"timed out waiting for " .. pattern .. "\"; " ..
        T .. "capture-pane -p -t r; exit 1; }; "
    end
    local r = H.sh(T .. "new-session -d -s r -x 100 -y 20 " ..
      H.quote("HOME=" .. H.quote(home) .. " " .. H.quote(H.bin) .. " repl") .. " && " ..
      screen_has("^lunshare>") ..
      T .. "send-keys -t r 'return 6 * 7' Enter; " .. screen_has("^42$") ..
      -- Up recalls the line; Home and a typed prefix edit it.
      T .. "send-keys -t r Up C-a 'x = 1; ' Enter; " .. screen_has("^42$", 2) ..
      T .. "capture-pane -p -t r; " ..
      -- The history is written when the repl ends, which ends the session.
      T .. "send-keys -t r C-d; " ..
      H.wait_until(T .. "has-session -t r 2>/dev/null; [ $? -ne 0 ]", 30) .. " || echo still-running")
    assert.equal(0, r.code, r.out .. r.err)
    local screen = r.out
    assert.falsy(screen:find("still-running", 1, true), screen)
    -- libedit writes spaces in its history file as \040.
    local hist = H.read(home .. "/.lunshare_history"):gsub("\\040", " ")
    local _, n42 = screen:gsub("\n42", "")
    assert.equal(2, n42, screen)
    assert.truthy(screen:find("lunshare> x = 1; return 6 %* 7"), screen)
    assert.truthy(hist:find("return 6 %* 7"), hist)
  end)
end)
