-- The shipped recipes and their tooling: `lunshare test` passes on every shipped recipe
-- (root and rootless where the recipe allows both); each has checks of both kinds;
-- profiles lists the path with shadowing; show, diff's per-side --set, requires; and
-- install/update/verify/remove with consent to grants. #integration
local H = require "helpers"

local BIN = H.bin


-- An ASan build maps terabytes of shadow memory: a recipe's address-space limit
-- (limits.as) leaves its reaper no room, so those recipes are skipped there, by name.
local asan = H.sh("grep -qa __asan_init " .. H.quote(BIN) .. " && echo yes").out == "yes\n"
local function limits_as(name)
  return H.read(H.root .. "/profiles/" .. name .. ".lua"):find("limits = {[^}]*%f[%w]as = ") ~= nil
end

local function needs_root(name)
  return H.read(H.root .. "/profiles/" .. name .. ".lua"):find("requires = { root = true }", 1, true) ~= nil
end

-- A home with what a person keeps there: the checks that it is out of reach prove
-- something only if the caller can read it outside the sandbox.
local function home_for(mode)
  local home = H.tmpdir("700")
  H.sh("cd " .. H.quote(home) .. " && mkdir -m 700 .ssh .config && echo key > .ssh/id_ed25519 && " ..
    "echo 'ls -la' > .bash_history && echo token > .config/token && printf '[user]\\n\\tname = me\\n' > .gitconfig")
  if mode == "rootless" then H.sh("chown -R " .. H.NOBODY_UID .. ":" .. H.NOBODY_GID .. " " .. H.quote(home)) end
  return home
end

-- `lunshare test NAME` in a throwaway network and mount namespace of root's (a recipe
-- with a veth makes its host end there, never on this machine), as root or as nobody.
local function lunshare_test(name, mode, home)
  local drop = mode == "rootless" and H.DROP or ""
  return H.sh("unshare --net --mount sh -c " .. H.quote("ip link set lo up && HOME=" .. H.quote(home) .. " exec " ..
    drop .. H.quote(BIN) .. " test " .. H.quote(name)), { mode = nil, timeout = 300,
      env = mode == "rootless" and ("XDG_RUNTIME_DIR=" .. H.quote(home)) or nil })
end

for _, mode in ipairs(H.modes) do
  describe("lunshare test on every shipped recipe (" .. mode .. ")", function()
    local home
    setup(function() home = home_for(mode) end)
    teardown(function() H.rm(home) end)
    for _, name in ipairs(H.shipped_profiles()) do
      if mode == "rootless" and needs_root(name) then
        it(name .. " says it needs root", function()
          local r = lunshare_test(name, mode, home)
          assert.equal(2, r.code, r.out .. r.err)
          assert.truthy(r.err:find("requires.root: this profile needs a root caller", 1, true), r.err)
        end)
      else
        it(name .. " holds", function()
          if asan and limits_as(name) then
            pending("an address-space limit cannot hold an ASan build's shadow memory")
            return
          end
          local r = lunshare_test(name, mode, home)
          assert.equal(0, r.code, r.out .. r.err)
          local n, ok, rest = r.out:match("\n" .. name:gsub("%-", "%%-") .. ": (%d+) checks, (%d+) ok(.*)\n$")
          assert.truthy(n, r.out)
          assert.falsy(r.out:find("\nFAIL", 1, true), r.out)
          -- Nothing is skipped: the home above is readable outside by this caller.
          assert.equal(n, ok, r.out)
          assert.equal("", rest, r.out)
        end)
      end
    end
  end)
end

describe("the shipped recipes", function()
  it("each has a description, described parameters, and checks of function and of isolation", function()
    local json = require "lunshare.json"
    for _, name in ipairs(H.shipped_profiles()) do
      local r = H.lunshare({ "show", "--json", name })
      assert.equal(0, r.code, name .. ": " .. r.err)
      local info = json.decode(r.out)
      assert.truthy(type(info.description) == "string" and #info.description > 10, name)
      local kinds = {}
      for _, c in ipairs(info.checks) do kinds[c.kind] = true end
      assert.truthy(kinds["function"], name .. " has no check that the program works")
      assert.truthy(kinds.isolation, name .. " has no check of its isolation")
      for _, d in ipairs(info.params) do assert.truthy(d.description, name .. ": " .. d.name) end
      assert.same({}, info.warnings, name)
      -- A comment says what it isolates and why.
      assert.truthy(H.read(H.root .. "/profiles/" .. name .. ".lua"):match("^%-%- " .. name:gsub("%-", "%%-") .. ": "), name)
    end
  end)

  it("are at least 25 beside the bases, and compose from them", function()
    local n, extends = 0, 0
    for _, name in ipairs(H.shipped_profiles()) do
      if not name:match("^base%-") and name ~= "default" then n = n + 1 end
      if H.read(H.root .. "/profiles/" .. name .. ".lua"):find('extends = "builtin:base-', 1, true) then extends = extends + 1 end
    end
    assert.truthy(n >= 25, n)
    assert.truthy(extends >= 25, extends)
  end)
end)

describe("lunshare test", function()
  it("fails, exit 1, when a check does not hold, and says which", function()
    local p = H.profile([[
return { extends = "builtin:base-tool", description = "broken",
  checks = { { "claims a lie", run = { "echo", "truth" }, prints = "lie" },
             { "claims the home readable", run = { "cat", "/etc/shadow" } } } }]])
    local r = H.lunshare({ "test", p })
    assert.equal(1, r.code, r.out .. r.err)
    assert.truthy(r.out:find("\nFAIL claims a lie", 1, true), r.out)
    assert.truthy(r.out:find("\nFAIL claims the home readable", 1, true), r.out)
    assert.truthy(r.out:find("checks, %d+ ok, 2 failed"), r.out)
  end)

  for _, mode in ipairs(H.modes) do
    it("removes a scratch tree the sandbox made unreadable, or exits 1 (" .. mode .. ")", function()
      local tmp = H.tmpdir("1777")
      local p = H.profile([[
return { extends = "builtin:base-workdir", description = "cleanup test",
  checks = { { "leaves traps", run = { "sh", "-c", "mkdir -p /work/x/y; touch /work/x/y/z; chmod 000 /work/x/y /work/x; echo done" }, prints = "done" } } }]])
      local r = H.sh(H.quote(BIN) .. " test " .. H.quote(p), { mode = mode, env = "TMPDIR=" .. H.quote(tmp) })
      local left = H.sh("ls -A " .. H.quote(tmp)).out
      H.sh("chmod -R u+rwx " .. H.quote(tmp) .. " 2>/dev/null")
      H.rm(tmp)
      assert.equal(0, r.code, r.out .. r.err)
      assert.equal("", r.err)
      assert.equal("", left)
    end)

    it("exits 1 when it cannot remove a scratch tree, and says so (" .. mode .. ")", function()
      local tmp = H.tmpdir("1777")
      -- Deeper than the remover goes (64 directories): what it leaves must not pass unseen.
      local p = H.profile([[
return { extends = "builtin:base-workdir", description = "deep",
  checks = { { "nests deep", run = { "sh", "-c", "mkdir -p /work/$(printf 'd/%.0s' $(seq 80)) && echo done" }, prints = "done" } } }]])
      local r = H.sh(H.quote(BIN) .. " test " .. H.quote(p), { mode = mode, env = "TMPDIR=" .. H.quote(tmp) })
      H.rm(tmp)
      assert.equal(1, r.code, r.out .. r.err)
      assert.truthy(r.out:find("\nok   nests deep\n", 1, true), r.out)
      assert.truthy(r.err:find("^lunshare: scratch directory [^\n]*nested deeper than 64 directories\n$"), r.err)
    end)

    -- A recipe's cannot_read names a path lunshare test looks at outside the sandbox first:
    -- a FIFO there blocked an open for ever, a device's open can act, /proc/kmsg's read
    -- takes the kernel's messages. Each is skipped, asked of the kernel without an open.
    it("skips a cannot_read of a FIFO, a device or /proc/kmsg without opening it (" .. mode .. ")", function()
      local tmp = H.tmpdir("777")
      H.sh("mkfifo -m 666 " .. H.quote(tmp .. "/fifo"))
      local p = H.profile([[
return { extends = "builtin:base-tool", description = "names things",
  checks = { { "a fifo", cannot_read = "]] .. tmp .. [[/fifo" }, { "a device", cannot_read = "/dev/zero" },
             { "the kernel's log", cannot_read = "/proc/kmsg" }, { "nothing", cannot_read = "/nonexistent-lsh" } } }]])
      local r = H.sh("timeout 20 strace -f -qq -e trace=open,openat,openat2 -o " .. H.quote(tmp .. "/st") .. " " ..
        H.quote(BIN) .. " test " .. H.quote(p), { mode = mode })
      local st = H.sh("cat " .. H.quote(tmp .. "/st")).out
      H.rm(tmp)
      assert.equal(0, r.code, r.out .. r.err)
      assert.truthy(r.out:find("a FIFO, not a file or a directory: nothing was opened", 1, true), r.out)
      assert.truthy(r.out:find("/dev/zero is a character device, not a file", 1, true), r.out)
      assert.truthy(r.out:find("skip nothing: /nonexistent-lsh does not exist here", 1, true), r.out)
      -- /proc/kmsg is a regular file to the kernel: asked (faccessat), then probed inside,
      -- where the sandbox cannot read it.
      assert.truthy(r.out:find("\nok   the kernel's log\n", 1, true) or r.out:find("\nskip the kernel's log: /proc/kmsg cannot be read outside", 1, true), r.out)
      for line in st:gmatch("[^\n]+") do
        -- (/proc/kmsg is opened by the probe, inside the sandbox: that is the check.)
        if line:find("fifo\"", 1, true) or line:find("\"/dev/zero\"", 1, true) then
          assert.truthy(line:find("O_PATH", 1, true), "opened: " .. line)
        end
      end
    end)

    -- The review of s5: a check's own set named a file of the tester's (~/.ssh/id_rsa) as
    -- a parameter's value, and a failing check printed it.
    it("refuses a check whose own values show the host more than the recipe does (" .. mode .. ")", function()
      local d = H.tmpdir("755")
      H.sh("echo TOPSECRET > " .. H.quote(d .. "/key") .. " && chmod 644 " .. H.quote(d .. "/key"))
      local p = H.profile([[
local param = params { input = { description = "the file", default = "/etc/hostname" } }
return { extends = "builtin:base-tool", description = "reads one file", mounts = { ro_bind(param.input, "/in") },
  command = { "cat", "/in" },
  checks = { { "prints the key", set = { input = "]] .. d .. [[/key" }, prints = "nothing like it" } } }]])
      local r = H.sh(H.quote(BIN) .. " test " .. H.quote(p), { mode = mode })
      -- What the person testing asks for is theirs to show.
      local own = H.sh(H.quote(BIN) .. " test --set input=" .. H.quote(d .. "/key") .. " " .. H.quote(p), { mode = mode })
      H.rm(d)
      assert.equal(1, r.code, r.out .. r.err)
      assert.falsy(r.out:find("TOPSECRET", 1, true), r.out)
      assert.truthy(r.out:find("not run: its parameters show the sandbox the host's " .. d .. "/key", 1, true), r.out)
      assert.falsy(own.out:find("not run:", 1, true), own.out)
    end)

    it("makes its scratch root under a random name, not one another user can make first (" .. mode .. ")", function()
      local tmp = H.tmpdir("1777")
      local p = H.profile([[
return { extends = "builtin:base-tool", description = "slow", checks = { { "waits", run = { "sleep", "2" } } } }]])
      local r = H.sh(H.quote(BIN) .. " test " .. H.quote(p) .. " >/dev/null & " ..
        H.wait_until("ls " .. H.quote(tmp) .. "/lunshare-test-* >/dev/null 2>&1", 10) ..
        " && stat -c '%a %n' " .. H.quote(tmp) .. "/lunshare-test-*; wait", { mode = mode, env = "TMPDIR=" .. H.quote(tmp) })
      H.rm(tmp)
      local perm, name = r.out:match("^(%d+) [^\n]*/(lunshare%-test%-[^/\n]*)\n$")
      assert.truthy(name, r.out .. r.err)
      assert.truthy(name:match("^lunshare%-test%-%x+$") and #name == #"lunshare-test-" + 16, name)
      assert.equal(mode == "rootless" and "700" or "755", perm)
    end)
  end
end)

-- A profile directory of its own for each case: XDG_CONFIG_HOME.
local function cfg()
  local d = H.tmpdir("700")
  return d, "XDG_CONFIG_HOME=" .. H.quote(d)
end

local function write(dir, name, text)
  local f = assert(io.open(dir .. "/" .. name, "w"))
  f:write(text)
  f:close()
end

describe("lunshare profiles", function()
  it("lists the path in lookup order, marks what is shadowed, and builtin: still reaches it", function()
    local d, env = cfg()
    H.sh("mkdir -p " .. H.quote(d .. "/lunshare/profiles"))
    write(d .. "/lunshare/profiles", "default.lua", 'return { extends = "builtin:default", description = "my own default" }\n')
    local r = H.lunshare({ "profiles" }, { env = env })
    assert.equal(0, r.code, r.err)
    local mine = d .. "/lunshare/profiles/default.lua"
    assert.truthy(r.out:find("default +my own default\n%s+from " .. mine:gsub("%p", "%%%0") .. "\n"), r.out)
    assert.truthy(r.out:find("shadowed by " .. mine .. ", still reachable as builtin:default", 1, true), r.out)
    local j = require("lunshare.json").decode(H.lunshare({ "profiles", "--json" }, { env = env }).out)
    local seen = {}
    for _, e in ipairs(j) do
      if e.name == "default" then seen[#seen + 1] = e end
    end
    assert.equal(2, #seen)
    assert.equal(mine, seen[1].where)
    assert.is_nil(seen[1].shadowed_by)
    assert.equal("builtin:default", seen[2].where)
    assert.equal(mine, seen[2].shadowed_by)
    -- Recipes extend builtin:default: the user's default changes none of them.
    local s = H.lunshare({ "show", "tar" }, { env = env })
    assert.truthy(s.out:find("profiles/default.lua\n", 1, true), s.out)
    assert.falsy(s.out:find(mine, 1, true), s.out)
    H.rm(d)
  end)
end)

describe("lunshare show", function()
  it("prints where, the parameters with descriptions and defaults, checks, grants and warnings", function()
    local r = H.lunshare({ "show", "agent" })
    assert.equal(0, r.code, r.err)
    assert.truthy(r.out:find("^agent: a coding agent's workspace"), r.out)
    assert.truthy(r.out:find("\nfound: builtin:agent, shipped as ", 1, true), r.out)
    assert.truthy(r.out:find('\n  cpu (default "2h")\n      the CPU time each process may use', 1, true), r.out)
    assert.truthy(r.out:find("\n  work (required)\n", 1, true), r.out)
    assert.truthy(r.out:find("\n  isolation no ssh keys: cannot read ~/.ssh", 1, true), r.out)
    assert.truthy(r.out:find("\n  host paths writable:\n    /work from the host's /<work>\n", 1, true), r.out)
    assert.truthy(r.out:find("\nwarnings: none\n", 1, true), r.out)
    local w = H.lunshare({ "show", H.profile('return { extends = "builtin:default", description = "wide", capabilities = { "sys_admin" } }') })
    assert.equal(0, w.code, w.err)
    assert.truthy(w.out:find("\nwarnings:\n  .*sys_admin"), w.out)
  end)
end)

describe("lunshare diff", function()
  it("takes --old-set and --new-set for one side each", function()
    local r = H.lunshare({ "diff", "--set", "work=/w", "--old-set", "cpu=1h", "--new-set=cpu=3h", "agent", "agent" })
    assert.equal(1, r.code, r.err)
    assert.truthy(r.out:find("\n  - cpu soft 3600 hard 3600\n", 1, true), r.out)
    assert.truthy(r.out:find("\n  + cpu soft 10800 hard 10800\n", 1, true), r.out)
    local same = H.lunshare({ "diff", "--set", "work=/w", "--set", "cpu=1h", "agent", "agent" })
    assert.equal(0, same.code, same.out .. same.err)
  end)

  it("lets a required parameter stand as /<NAME>, equal on both sides, as explain and show do", function()
    local r = H.lunshare({ "diff", "--old-set", "cpu=1h", "--new-set", "cpu=3h", "agent", "agent" })
    assert.equal(1, r.code, r.err)
    assert.equal("", r.err)
    assert.truthy(r.out:find("\n  + cpu soft 10800 hard 10800\n", 1, true), r.out)
    assert.truthy(r.out:find("/<work>", 1, true), r.out)
    assert.falsy(r.out:find("\n  [-+] [^\n]*/<work>"), r.out)
  end)
end)

describe("a required parameter without a value", function()
  it("is one error, not also the fields that use it", function()
    local r = H.lunshare({ "run", "agent", "--", "true" })
    assert.equal(2, r.code, r.err)
    assert.truthy(r.err:find("params.work: required parameter: pass --set work=VALUE", 1, true), r.err)
    assert.falsy(r.err:find("missing required field", 1, true), r.err)
    assert.equal(1, select(2, r.err:gsub("\n", "\n")), r.err)
  end)
end)

describe("requires", function()
  it("refuses, in check and run, a profile for a newer lunshare, with file:line", function()
    local p = H.profile('return {\n  description = "future",\n  requires = { lunshare = ">= 99.1" },\n}\n')
    for _, cmd in ipairs({ { "check", p }, { "run", p, "--", "true" } }) do
      local r = H.lunshare(cmd)
      assert.equal(2, r.code, r.err)
      assert.truthy(r.err:find(p .. ":3: requires.lunshare: ", 1, true), r.err)
      assert.truthy(r.err:find(">= 99.1", 1, true), r.err)
    end
    local ok = H.lunshare({ "check", H.profile('return { description = "now", requires = { lunshare = ">= 0.2, < 99" } }') })
    assert.equal(0, ok.code, ok.err)
  end)
end)

describe("install, update, verify, remove", function()
  local d, env, src, prof
  before_each(function()
    d, env = cfg()
    src = H.tmpdir()
    prof = d .. "/lunshare/profiles"
    write(src, "mybase.lua", '-- a base\nreturn { extends = "builtin:base-tool", description = "my base" }\n')
    write(src, "myjq.lua", '-- jq\nreturn { extends = "mybase", description = "my jq", command = { "jq", "." } }\n')
  end)
  after_each(function()
    H.rm(d)
    H.rm(src)
  end)
  local function lsh(args) return H.lunshare(args, { env = env }) end

  it("refuses without a terminal and without --yes, and writes nothing", function()
    local r = lsh({ "install", src .. "/myjq.lua" })
    assert.equal(1, r.code, r.out .. r.err)
    assert.truthy(r.out:find("it grants:\n", 1, true), r.out)
    assert.truthy(r.err:find("myjq.lua: not installed, nothing written: a new recipe gets what it grants, and there " ..
      "is no terminal to ask for consent; pass --yes", 1, true), r.err)
    assert.equal("", H.sh("ls -A " .. H.quote(prof) .. " 2>/dev/null").out)
  end)

  it("installs with --yes the recipe and the base it extends, and records their SHA-256", function()
    local r = lsh({ "install", "--yes", src .. "/myjq.lua" })
    assert.equal(0, r.code, r.out .. r.err)
    assert.truthy(r.out:find("with " .. src .. "/mybase.lua (myjq.lua needs it)", 1, true), r.out)
    -- The hash lines (the consent record follows them: install_consent_spec).
    local hashes = {}
    for l in H.read(prof .. "/.lunshare-manifest"):gmatch("[^\n]+") do
      if l:match("^%x+  ") then hashes[#hashes + 1] = l .. "\n" end
    end
    assert.equal(H.sh("cd " .. H.quote(src) .. " && sha256sum mybase.lua myjq.lua").out, table.concat(hashes))
    assert.equal("-rw-------", H.sh("stat -c %A " .. H.quote(prof .. "/myjq.lua")).out:gsub("\n", ""))
    local run = lsh({ "run", "myjq", "--", "echo", "from the installed recipe" })
    assert.equal(0, run.code, run.err)
    assert.equal("from the installed recipe\n", run.out)
    assert.equal(0, lsh({ "verify" }).code)
    -- Again: nothing to consent to, nothing written.
    local again = lsh({ "install", src .. "/myjq.lua" })
    assert.equal(0, again.code, again.err)
    assert.truthy(again.out:find("myjq.lua: installed already, unchanged", 1, true), again.out)
  end)

  it("refuses an update that widens without consent, and takes one that narrows", function()
    assert.equal(0, lsh({ "install", "--yes", src .. "/myjq.lua" }).code)
    local before = H.read(prof .. "/myjq.lua")
    local wide = H.tmpdir()
    write(wide, "myjq.lua", '-- jq\nreturn { extends = "builtin:base-tool", description = "my jq", ' ..
      'command = { "jq", "." }, mounts = { bind("/srv", "/srv") }, capabilities = { "net_admin" } }\n')
    local r = lsh({ "install", wide .. "/myjq.lua" })
    assert.equal(1, r.code, r.out .. r.err)
    assert.truthy(r.out:find("it widens what the installed myjq.lua grants", 1, true), r.out)
    assert.truthy(r.out:find("\n  + host paths writable: /srv from the host's /srv\n", 1, true), r.out)
    assert.truthy(r.out:find("\n  + capabilities kept: net_admin", 1, true), r.out)
    assert.truthy(r.err:find("not installed, nothing written: it widens what", 1, true), r.err)
    assert.equal(before, H.read(prof .. "/myjq.lua"))
    assert.equal(0, lsh({ "verify" }).code)
    -- With consent it goes in; back to the narrower one needs none.
    assert.equal(0, lsh({ "install", "--yes", wide .. "/myjq.lua" }).code)
    local narrow = lsh({ "install", src .. "/myjq.lua" })
    assert.equal(0, narrow.code, narrow.out .. narrow.err)
    assert.truthy(narrow.out:find("it widens nothing: no consent needed", 1, true), narrow.out)
    assert.equal(before, H.read(prof .. "/myjq.lua"))
    H.rm(wide)
  end)

  it("asks again when a base it brings widens", function()
    assert.equal(0, lsh({ "install", "--yes", src .. "/myjq.lua" }).code)
    write(src, "mybase.lua", '-- a base\nreturn { extends = "builtin:base-tool", description = "my base", ' ..
      'capabilities = { "net_admin" } }\n')
    local r = lsh({ "install", src .. "/myjq.lua" })
    assert.equal(1, r.code, r.out .. r.err)
    assert.truthy(r.out:find("it widens what the installed mybase.lua grants", 1, true), r.out)
    assert.truthy(r.out:find("capabilities kept: net_admin", 1, true), r.out)
  end)

  it("verify names a file changed since install; remove keeps a base another recipe extends", function()
    assert.equal(0, lsh({ "install", "--yes", src .. "/myjq.lua" }).code)
    H.sh("echo '-- edited' >> " .. H.quote(prof .. "/mybase.lua"))
    local v = lsh({ "verify" })
    assert.equal(1, v.code, v.out)
    assert.truthy(H.has_line(v.out, "changed  " .. prof .. "/mybase.lua (its SHA-256 is not what install wrote)"), v.out)
    assert.falsy(v.out:find("myjq.lua", 1, true), v.out)
    local keep = lsh({ "remove", "mybase" })
    assert.equal(1, keep.code)
    assert.truthy(keep.err:find("mybase.lua stays: myjq.lua extends it", 1, true), keep.err)
    assert.equal(0, lsh({ "remove", "myjq" }).code)
    assert.equal(0, lsh({ "remove", "mybase" }).code)
    assert.equal("", H.sh("ls " .. H.quote(prof)).out)
    assert.equal("", H.read(prof .. "/.lunshare-manifest"))
    local none = lsh({ "remove", "myjq" })
    assert.equal(1, none.code)
    assert.truthy(none.err:find("no recipe 'myjq' installed in " .. prof, 1, true), none.err)
  end)

  it("asks on a terminal: y installs, anything else writes nothing", function()
    if H.sh("command -v tmux").code ~= 0 then
      pending("tmux is not installed")
      return
    end
    -- A tmux server of this test's own, gone whatever the outcome.
    local sock = H.tmpdir("700")
    local T = "tmux -S " .. H.quote(sock .. "/tmux") .. " "
    finally(function()
      H.sh(T .. "kill-server 2>/dev/null")
      H.rm(sock)
    end)
    local function screen_has(pattern)
      return H.wait_until(string.format("%s capture-pane -p -t i | grep -qF %s", T, H.quote(pattern)), 30) ..
        " || { echo \"timed out waiting for " .. pattern .. "\"; " .. T .. "capture-pane -p -t i; exit 1; }; "
    end
    local function session(answer)
      return H.sh(T .. "new-session -d -s i -x 200 -y 50 " ..
        H.quote("XDG_CONFIG_HOME=" .. H.quote(d) .. " " .. H.quote(BIN) .. " install " .. H.quote(src .. "/myjq.lua") ..
          "; echo exit=$?; sleep 60") .. " && " ..
        screen_has("install myjq.lua (a new recipe gets what it grants)? [y/N]") ..
        T .. "send-keys -t i " .. H.quote(answer) .. " Enter; " .. screen_has("exit=") ..
        T .. "capture-pane -p -t i; " .. T .. "kill-session -t i")
    end
    local no = session("n")
    assert.equal(0, no.code, no.out .. no.err)
    assert.truthy(no.out:find("not installed, nothing written (no consent)", 1, true), no.out)
    assert.truthy(no.out:find("exit=1", 1, true), no.out)
    assert.equal("", H.sh("ls -A " .. H.quote(prof) .. " 2>/dev/null").out)
    local yes = session("y")
    assert.equal(0, yes.code, yes.out .. yes.err)
    assert.truthy(yes.out:find("installed " .. prof .. "/myjq.lua", 1, true), yes.out)
    assert.truthy(yes.out:find("exit=0", 1, true), yes.out)
    assert.equal(0, lsh({ "verify" }).code)
  end)

  it("refuses, exit 2 and nothing written, a recipe that check refuses", function()
    write(src, "bad.lua", 'return { extends = "mybase", mounts = { bind("/srv") }, namespacs = {} }\n')
    local r = lsh({ "install", "--yes", src .. "/bad.lua" })
    assert.equal(2, r.code, r.out .. r.err)
    assert.truthy(r.err:find("bad.lua:1: namespacs: unknown field", 1, true), r.err)
    assert.equal("", H.sh("ls -A " .. H.quote(prof) .. " 2>/dev/null").out)
  end)

  -- Reached through a symlinked directory, or by a symlink of another name, an installed
  -- recipe is still the installed one: its files are checked against the manifest.
  it("checks an installed recipe reached through a symlink as the installed one", function()
    assert.equal(0, lsh({ "install", "--yes", src .. "/myjq.lua" }).code)
    H.sh("echo '-- changed' >> " .. H.quote(prof .. "/myjq.lua") .. " && ln -s " .. H.quote(prof) .. " " ..
      H.quote(d .. "/link") .. " && ln -s " .. H.quote(prof .. "/myjq.lua") .. " " .. H.quote(d .. "/other.lua"))
    for _, path in ipairs({ prof .. "/myjq.lua", d .. "/link/myjq.lua", d .. "/other.lua" }) do
      local r = lsh({ "run", path, "--", "true" })
      assert.equal(1, r.code, path .. ": " .. r.out .. r.err)
      assert.truthy(r.err:find("refused", 1, true), r.err)
    end
  end)

  -- A system recipe is installed by root for every user: its record holds root's id lines
  -- (2000000000), a user's run has their own. Run in a world whose /etc is a copy, so the
  -- machine's /etc/lunshare is never made.
  it("a recipe installed with --system runs for another user too", function()
    local bindir = H.bin:match("^(.*)/[^/]*$")
    local r = H.sh("unshare --mount sh -c " .. H.quote(table.concat({
      "mount -t tmpfs tmpfs /mnt && mkdir /mnt/etc /mnt/bin && cp -a /etc/. /mnt/etc/ && mount --bind /mnt/etc /etc " ..
        "&& mount --bind " .. H.quote(bindir) .. " /mnt/bin || exit 99",
      "L=/mnt/bin/" .. H.quote(H.bin:match("([^/]*)$")),
      "$L install --yes --system " .. H.quote(src .. "/myjq.lua") .. " >/dev/null; echo install=$?",
      "echo '{}' | env HOME=/tmp setpriv --reuid=65534 --regid=65534 --clear-groups -- $L run --no-cache myjq 2>&1; echo nobody=$?",
      "echo '{}' | $L run myjq; echo root=$?",
    }, "; ")), { timeout = 60 })
    assert.equal("install=0\n{}\nnobody=0\n{}\nroot=0\n", r.out, r.err)
    assert.equal(1, H.sh("test -e /etc/lunshare/profiles/myjq.lua").code)
  end)

  it("--system needs root", function()
    local r = H.lunshare({ "install", "--yes", "--system", src .. "/myjq.lua" }, { mode = "rootless" })
    assert.equal(1, r.code)
    assert.truthy(r.err:find("--system installs into /etc/lunshare/profiles: run it as root", 1, true), r.err)
  end)
end)
