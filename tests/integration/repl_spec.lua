-- `lunshare repl`: the same API as require "lunshare", driven by a pipe and, for line
-- editing and history, by a real terminal in tmux. #integration
local H = require "helpers"

local function repl(input, opts)
  local f = os.tmpname()
  local h = io.open(f, "w")
  h:write(input)
  h:close()
  os.execute("chmod 644 " .. f)
  local r = H.sh(H.quote(H.bin) .. " repl < " .. f, opts)
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
    local s = "lshrepl" .. tostring(os.time())
    local home = H.sh("mktemp -d").out:gsub("\n", "")
    H.sh("tmux new-session -d -s " .. s .. " -x 100 -y 20 'HOME=" .. home .. " " .. H.bin .. " repl'")
    H.sh("sleep 0.5; tmux send-keys -t " .. s .. " 'return 6 * 7' Enter; sleep 0.3")
    -- Up recalls the line; Home and a typed prefix edit it.
    H.sh("tmux send-keys -t " .. s .. " Up C-a 'x = 1; ' Enter; sleep 0.3")
    local screen = H.sh("tmux capture-pane -p -t " .. s).out
    H.sh("tmux send-keys -t " .. s .. " C-d; sleep 0.3; tmux kill-session -t " .. s .. " 2>/dev/null")
    -- libedit writes spaces in its history file as \040.
    local hist = H.sh("cat " .. home .. "/.lunshare_history").out:gsub("\\040", " ")
    os.execute("rm -rf " .. home)
    local _, n42 = screen:gsub("\n42", "")
    assert.equal(2, n42, screen)
    assert.truthy(screen:find("lunshare> x = 1; return 6 %* 7"), screen)
    assert.truthy(hist:find("return 6 %* 7"), hist)
  end)
end)
