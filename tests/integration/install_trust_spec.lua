-- Installed recipes people can trust (#13's review): an installed recipe's whole extends
-- chain is in the installed set, or install refuses naming the file it would leave
-- behind; a run of an installed recipe refuses when a file of its chain is not what install
-- wrote; a recipe named like a shipped one is said to shadow it and needs
-- --replace-builtin beside --yes, and `run -- CMD` is builtin:default whatever is
-- installed; a run whose parameter values give more than the placeholders install showed
-- is refused. Root and rootless (nobody, with a HOME and a config directory of its own).
-- #integration
local H = require "helpers"

local function write(dir, name, text, mode)
  local f = assert(io.open(dir .. "/" .. name, "w"))
  f:write(text)
  f:close()
  H.sh("chmod " .. (mode or "644") .. " " .. H.quote(dir .. "/" .. name))
end

for _, mode in ipairs(H.modes) do
  describe("trusted install (" .. mode .. ")", function()
    local home, cfg, src, prof, env
    before_each(function()
      home, cfg, src = H.tmpdir("700"), H.tmpdir("700"), H.tmpdir("755")
      if mode == "rootless" then
        H.sh("chown " .. H.NOBODY_UID .. ":" .. H.NOBODY_GID .. " " .. H.quote(home) .. " " .. H.quote(cfg))
      end
      prof = cfg .. "/lunshare/profiles"
      env = "HOME=" .. H.quote(home) .. " XDG_CONFIG_HOME=" .. H.quote(cfg) .. " LUNSHARE_PROFILE_PATH="
    end)
    after_each(function()
      H.rm(home)
      H.rm(cfg)
      H.rm(src)
    end)
    local function lsh(args, extra) return H.lunshare(args, { mode = mode, env = env .. (extra or "") }) end
    local function nothing_installed()
      assert.equal("", H.sh("ls -A " .. H.quote(prof) .. " 2>/dev/null").out)
    end

    it("refuses a recipe whose extends chain reads a file install would not copy, naming it", function()
      H.sh("mkdir -m 755 " .. H.quote(src .. "/rr"))
      write(src, "base.lua", 'return { extends = "builtin:base-tool", description = "ext base" }\n', "666")
      write(src .. "/rr", "outer.lua", 'return { extends = "' .. src .. '/base.lua", description = "outer", ' ..
        'command = { "id" } }\n')
      local r = lsh({ "install", "--yes", src .. "/rr/outer.lua" })
      assert.equal(2, r.code, r.out .. r.err)
      assert.truthy(r.err:find("install: " .. src .. "/rr/outer.lua: its extends chain reads " .. src .. "/base.lua, " ..
        "which install would not copy", 1, true), r.err)
      assert.equal(1, #H.lines(r.err), r.err)
      nothing_installed()
      -- Through ../ the same; and an absolute path into the recipe's own directory would
      -- still name the original after install.
      write(src .. "/rr", "up.lua", 'return { extends = "../base.lua", description = "up" }\n')
      local up = lsh({ "install", "--yes", src .. "/rr/up.lua" })
      assert.equal(2, up.code, up.out .. up.err)
      assert.truthy(up.err:find("its extends chain reads " .. src .. "/base.lua", 1, true), up.err)
      write(src .. "/rr", "near.lua", 'return { extends = "builtin:base-tool", description = "near" }\n')
      write(src .. "/rr", "abs.lua", 'return { extends = "' .. src .. '/rr/near.lua", description = "abs" }\n')
      local abs = lsh({ "install", "--yes", src .. "/rr/abs.lua" })
      assert.equal(2, abs.code, abs.out .. abs.err)
      assert.truthy(abs.err:find("its extends chain reads " .. src .. "/rr/near.lua", 1, true), abs.err)
      nothing_installed()
    end)

    it("refuses a seccomp rules file outside the recipe's directory, and installs one beside it", function()
      write(src, "rules", "deny:EPERM mkdir\n")
      H.sh("mkdir -m 755 " .. H.quote(src .. "/rr"))
      write(src .. "/rr", "sc.lua", 'return { extends = "builtin:base-tool", description = "sc", ' ..
        'seccomp = { file = "' .. src .. '/rules" } }\n')
      local r = lsh({ "install", "--yes", src .. "/rr/sc.lua" })
      assert.equal(2, r.code, r.out .. r.err)
      assert.truthy(r.err:find("its seccomp.file is " .. src .. "/rules, which install would not copy", 1, true), r.err)
      nothing_installed()
      write(src .. "/rr", "rules", "deny:EPERM mkdir\n")
      write(src .. "/rr", "sc.lua", 'return { extends = "builtin:base-tool", description = "sc", ' ..
        'seccomp = { file = "rules" } }\n')
      local ok = lsh({ "install", "--yes", src .. "/rr/sc.lua" })
      assert.equal(0, ok.code, ok.out .. ok.err)
      assert.equal(0, lsh({ "verify" }).code)
      assert.equal(0, lsh({ "run", "sc", "--", "true" }).code)
      -- The rules file changed after install: the run refuses, before any sandbox.
      H.sh("echo 'allow mkdir' > " .. H.quote(prof .. "/rules"))
      local run = lsh({ "run", "sc", "--", "true" })
      assert.equal(1, run.code, run.out .. run.err)
      assert.truthy(run.err:find(prof .. "/rules is not what install wrote", 1, true), run.err)
    end)

    it("refuses to run an installed recipe when a file of its chain is not what install wrote", function()
      write(src, "mybase.lua", 'return { extends = "builtin:base-tool", description = "my base" }\n')
      write(src, "mine.lua", 'return { extends = "mybase", description = "mine", command = { "id" } }\n')
      assert.equal(0, lsh({ "install", "--yes", src .. "/mine.lua" }).code)
      local marker = home .. "/written"
      local good = lsh({ "run", "mine", "--", "true" })
      assert.equal(0, good.code, good.err)
      -- Another party widens the base it extends: the run refuses, one line, and says what to do.
      H.sh("printf '%s' " .. H.quote('return { extends = "builtin:base-tool", description = "my base", ' ..
        'mounts = { bind("' .. home .. '") } }\n') .. " > " .. H.quote(prof .. "/mybase.lua"))
      local r = lsh({ "run", "mine", "--", "sh", "-c", "echo x > " .. H.quote(marker) })
      assert.equal(1, r.code, r.out .. r.err)
      assert.truthy(r.err:find(prof .. "/mybase.lua is not what install wrote (its SHA-256 differs from the " ..
        "manifest's); run 'lunshare verify' and install the recipe again", 1, true), r.err)
      assert.equal(1, #H.lines(r.err), r.err)
      assert.equal("", H.sh("ls -A " .. H.quote(home)).out)
      assert.equal(1, lsh({ "verify" }).code)
      -- A base of the same name found first elsewhere on the path is not the installed one either.
      assert.equal(0, lsh({ "install", "--yes", src .. "/mine.lua" }).code)
      local other = H.tmpdir("755")
      finally(function() H.rm(other) end)
      write(other, "mybase.lua", 'return { extends = "builtin:base-tool", description = "other base" }\n')
      local o = lsh({ "run", "mine", "--", "true" }, H.quote(other))
      assert.equal(1, o.code, o.out .. o.err)
      assert.truthy(o.err:find(other .. "/mybase.lua is not in " .. prof, 1, true), o.err)
    end)

    it("says a recipe shadows a shipped one and needs --replace-builtin; run -- CMD stays builtin:default", function()
      write(src, "default.lua", 'return { extends = "builtin:default", description = "mine", hostname = "mine" }\n')
      local r = lsh({ "install", "--yes", src .. "/default.lua" })
      assert.equal(2, r.code, r.out .. r.err)
      assert.truthy(r.out:find("default.lua shadows builtin:default: every profile that extends \"default\"", 1, true),
        r.out)
      assert.truthy(r.err:find("install: default.lua shadows builtin:default: not installed, nothing written; pass " ..
        "--replace-builtin", 1, true), r.err)
      nothing_installed()
      local ok = lsh({ "install", "--yes", "--replace-builtin", src .. "/default.lua" })
      assert.equal(0, ok.code, ok.out .. ok.err)
      assert.equal("mine\n", lsh({ "run", "default", "--", "hostname" }).out)
      local plain = lsh({ "run", "--", "hostname" })
      assert.equal(0, plain.code, plain.err)
      assert.equal("lunshare\n", plain.out)
    end)

    it("refuses a run whose parameter values grant more than their placeholders, and takes one that does not",
      function()
        local input = H.file("data\n")
        local marker = home .. "/pwned"
        write(src, "sneaky.lua", [[
local p = params { input = { description = "the file to read" } }
local m = { ro_bind(p.input) }
if tostring(p.input):sub(1, 2) ~= "/<" then m[#m + 1] = bind("]] .. home .. [[") end
return { extends = "builtin:base-tool", description = "sneaky", mounts = m,
  command = { "sh", "-c", "cat ]] .. input .. [[; echo x > ]] .. marker .. [[" } }
]])
        write(src, "honest.lua", [[
local p = params { input = { description = "the file to read" } }
return { extends = "builtin:base-tool", description = "honest", mounts = { ro_bind(p.input) },
  command = { "cat", p.input } }
]])
        local i = lsh({ "install", "--yes", src .. "/sneaky.lua" })
        assert.equal(0, i.code, i.out .. i.err)
        assert.falsy(i.out:find("from the host's " .. home, 1, true), i.out)
        local r = lsh({ "run", "sneaky", "--set", "input=" .. input })
        assert.equal(2, r.code, r.out .. r.err)
        assert.truthy(r.err:find("run: " .. prof .. "/sneaky.lua: refused: with --set input=" .. input ..
          " it grants host paths", 1, true), r.err)
        assert.truthy(r.err:find(home, 1, true), r.err)
        assert.equal(1, #H.lines(r.err), r.err)
        assert.equal("", H.sh("ls -A " .. H.quote(home)).out)
        -- The parameter's own path, granted as declared, is what install showed.
        assert.equal(0, lsh({ "install", "--yes", src .. "/honest.lua" }).code)
        local h = lsh({ "run", "honest", "--set", "input=" .. input })
        assert.equal(0, h.code, h.out .. h.err)
        assert.equal("data\n", h.out)
      end)
  end)
end

describe("trusted install on a terminal", function()
  it("asks apart for a name that shadows a shipped one, and writes nothing without that consent", function()
    if H.sh("command -v tmux").code ~= 0 then
      pending("tmux is not installed")
      return
    end
    local cfg, src, sock = H.tmpdir("700"), H.tmpdir(), H.tmpdir("700")
    local T = "tmux -S " .. H.quote(sock .. "/tmux") .. " "
    finally(function()
      H.sh(T .. "kill-server 2>/dev/null")
      H.rm(sock)
      H.rm(cfg)
      H.rm(src)
    end)
    write(src, "default.lua", 'return { extends = "builtin:default", description = "mine" }\n')
    local function screen_has(pattern)
      return H.wait_until(string.format("%s capture-pane -p -t i | grep -qF %s", T, H.quote(pattern)), 30) ..
        " || { echo \"timed out waiting for " .. pattern .. "\"; " .. T .. "capture-pane -p -t i; exit 1; }; "
    end
    local r = H.sh(T .. "new-session -d -s i -x 250 -y 50 " ..
      H.quote("XDG_CONFIG_HOME=" .. H.quote(cfg) .. " " .. H.quote(H.bin) .. " install " .. H.quote(src .. "/default.lua") ..
        "; echo exit=$?; sleep 60") .. " && " ..
      screen_has("install default.lua (a new recipe gets what it grants)? [y/N]") ..
      T .. "send-keys -t i y Enter; " ..
      screen_has("install default.lua (it shadows builtin:default for every profile and run naming default)? [y/N]") ..
      T .. "send-keys -t i n Enter; " .. screen_has("exit=") ..
      T .. "capture-pane -p -t i; " .. T .. "kill-session -t i")
    assert.equal(0, r.code, r.out .. r.err)
    assert.truthy(r.out:find("default.lua shadows builtin:default: every profile", 1, true), r.out)
    assert.truthy(r.out:find("not installed, nothing written (no consent)", 1, true), r.out)
    assert.truthy(r.out:find("exit=1", 1, true), r.out)
    assert.equal("", H.sh("ls -A " .. H.quote(cfg .. "/lunshare/profiles") .. " 2>/dev/null").out)
  end)
end)
