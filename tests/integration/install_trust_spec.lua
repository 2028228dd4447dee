-- Installed recipes people can trust (#13's review): an installed recipe's whole extends
-- chain is in the installed set, or install refuses naming the file it would leave
-- behind; a run of an installed recipe refuses when a file of its chain is not what install
-- wrote; a recipe named like a shipped one is said to shadow it and needs
-- --replace-builtin beside --yes, and `run -- CMD` is builtin:default whatever is
-- installed; a run whose parameter values give more than install showed (the defaults, a
-- placeholder for a path, each value of a boolean or a `values` list) is refused; a file
-- another installed recipe reads is not replaced; remove takes a rules file along; show
-- and test check the manifest as run does. Root and rootless (nobody, with a HOME and a config directory of its own).
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
    before_each(function() home, cfg, src, prof, env = H.install_dirs(mode) end)
    after_each(function() H.rm(home); H.rm(cfg); H.rm(src) end)
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
      assert.equal(0, lsh({ "show", "sc" }).code)
      -- The rules file changed after install: run, show and test refuse, one line each
      -- (run before any sandbox, test before any check).
      H.sh("echo 'allow mkdir' > " .. H.quote(prof .. "/rules"))
      local run = lsh({ "run", "sc", "--", "true" })
      assert.equal(1, run.code, run.out .. run.err)
      assert.truthy(run.err:find(prof .. "/rules is not what install wrote", 1, true), run.err)
      for _, cmd in ipairs({ "show", "test" }) do
        local r2 = lsh({ cmd, "sc" })
        assert.equal(1, r2.code, cmd .. ": " .. r2.out .. r2.err)
        assert.equal("", r2.out, cmd)
        assert.equal(1, #H.lines(r2.err), r2.err)
        assert.truthy(r2.err:find("lunshare: " .. cmd .. ": " .. prof .. "/sc.lua: refused: " .. prof .. "/rules is not " ..
          "what install wrote (its SHA-256 differs from the manifest's); run 'lunshare verify' and install the recipe " ..
          "again", 1, true), r2.err)
      end
    end)

    it("removes the rules file a recipe brought with it, unless another installed recipe reads it", function()
      write(src, "rules", "deny:EPERM mkdir\n")
      for _, n in ipairs({ "sa", "sb" }) do
        write(src, n .. ".lua", 'return { extends = "builtin:base-tool", description = "' .. n .. '", ' ..
          'seccomp = { file = "rules" } }\n')
      end
      assert.equal(0, lsh({ "install", "--yes", src }).code)
      local a = lsh({ "remove", "sa" })
      assert.equal(0, a.code, a.out .. a.err)
      -- sb still reads it: it stays, and sb still runs as installed.
      assert.equal("rules\nsb.lua\n", H.sh("ls " .. H.quote(prof)).out)
      assert.equal(0, lsh({ "run", "sb", "--", "true" }).code)
      local b = lsh({ "remove", "sb" })
      assert.equal(0, b.code, b.out .. b.err)
      assert.truthy(b.out:find("removed " .. prof .. "/rules (sb.lua brought it)", 1, true), b.out)
      assert.equal("", H.sh("ls " .. H.quote(prof)).out)
      assert.equal("", H.sh("cat " .. H.quote(prof .. "/.lunshare-manifest")).out)
      local v = lsh({ "verify" })
      assert.equal(0, v.code, v.out)
      assert.truthy(v.out:find("0 installed, all as installed", 1, true), v.out)
    end)

    it("refuses to replace a file another installed recipe reads, and takes it with that recipe", function()
      local d1, d2 = src .. "/d1", src .. "/d2"
      H.sh("mkdir -m 755 " .. H.quote(d1) .. " " .. H.quote(d2))
      local marker = home .. "/pwned"
      write(d1, "base.lua", 'return { extends = "builtin:base-tool" }\n')
      write(d1, "appa.lua", 'return { extends = "./base.lua", description = "A", command = { "true" } }\n')
      write(d2, "base.lua", 'return { extends = "builtin:base-tool", mounts = { bind("' .. home .. '", "/r") } }\n')
      write(d2, "appb.lua", 'return { extends = "./base.lua", description = "B", command = { "true" } }\n')
      assert.equal(0, lsh({ "install", "--yes", d1 .. "/appa.lua" }).code)
      local before = H.sh("cat " .. H.quote(prof .. "/base.lua") .. " " .. H.quote(prof .. "/.lunshare-manifest")).out
      for _, what in ipairs({ d2 .. "/appb.lua", d2 }) do
        local r = lsh({ "install", "--yes", what })
        assert.equal(1, r.code, r.out .. r.err)
        assert.equal(1, #H.lines(r.err), r.err)
        assert.truthy(r.err:find("install: " .. prof .. "/base.lua: not replaced, nothing written: the installed " ..
          "recipe appa reads it, and replacing it would change what that one grants", 1, true), r.err)
        assert.equal(before, H.sh("cat " .. H.quote(prof .. "/base.lua") .. " " .. H.quote(prof .. "/.lunshare-manifest")).out)
      end
      local run = lsh({ "run", "appa", "--", "sh", "-c", "echo x > /r/pwned" })
      assert.are_not.equal(0, run.code, run.out .. run.err)
      assert.equal("", H.sh("ls -A " .. H.quote(home)).out)
      -- With the installed base gone, appa does not load and what it reads is unknown:
      -- nothing is replaced either.
      H.sh("rm " .. H.quote(prof .. "/base.lua"))
      local gone = lsh({ "install", "--yes", d2 .. "/appb.lua" })
      assert.equal(1, gone.code, gone.out .. gone.err)
      assert.truthy(gone.err:find("install: " .. prof .. "/base.lua: not replaced, nothing written: the installed " ..
        "recipe appa does not load", 1, true), gone.err)
      assert.equal("", H.sh("ls -A " .. H.quote(prof .. "/base.lua") .. " 2>/dev/null").out)
      -- Installing appa again, as the refusal says, brings its base back.
      local again = lsh({ "install", "--yes", d1 .. "/appa.lua" })
      assert.equal(0, again.code, again.out .. again.err)
      assert.equal(0, lsh({ "verify" }).code)
      -- The same widening of the base, with appa installed again beside it: appa's own
      -- update says it widens, in appa's name.
      write(d1, "base.lua", 'return { extends = "builtin:base-tool", mounts = { bind("' .. home .. '", "/r") } }\n')
      local up = lsh({ "install", "--yes", d1 })
      assert.equal(0, up.code, up.out .. up.err)
      assert.truthy(up.out:find("it widens what the installed appa.lua grants", 1, true), up.out)
      assert.equal(0, lsh({ "verify" }).code)
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

    it("shows the grants of each declared value, runs with them, and refuses an integer or a combination beyond",
      function()
        local marker = home .. "/pwned"
        local seen = H.tmpdir("755")
        finally(function() H.rm(seen) end)
        write(src, "evil.lua", [[
local param = params {
  n = { type = "integer", default = 0, description = "verbosity" },
  mode = { values = { "quiet", "loud" }, default = "quiet", description = "output" },
  verbose = { type = "boolean", default = false, description = "say more" },
}
local m = { }
if param.n > 0 then m[#m + 1] = bind("]] .. home .. [[", "/r") end
if param.mode == "loud" then m[#m + 1] = ro_bind("]] .. seen .. [[", "/e") end
if param.verbose then m[#m + 1] = ro_bind("]] .. seen .. [[", "/v") end
if param.verbose and param.mode == "loud" then m[#m + 1] = bind("]] .. home .. [[", "/both") end
return { extends = "builtin:base-tool", description = "harmless", mounts = m, command = { "true" } }
]])
        local i = lsh({ "install", "--yes", src .. "/evil.lua" })
        assert.equal(0, i.code, i.out .. i.err)
        -- What each finite value adds is shown with the value; an integer's other values are not.
        assert.truthy(i.out:find("with --set mode=loud it also grants:\n  host paths visible:\n    /e from the host's " ..
          seen .. "\n", 1, true), i.out)
        assert.truthy(i.out:find("with --set verbose=true it also grants:\n  host paths visible:\n    /v from the " ..
          "host's " .. seen .. "\n", 1, true), i.out)
        assert.truthy(i.out:find("shown with the default of n: a run whose value grants more than the default's is " ..
          "refused", 1, true), i.out)
        assert.falsy(i.out:find("from the host's " .. home, 1, true), i.out)
        -- show says the same of the values.
        local sh = lsh({ "show", "evil" })
        assert.equal(0, sh.code, sh.err)
        assert.truthy(sh.out:find("\nwith --set verbose=true it also grants:\n  host paths visible:\n    /v from the " ..
          "host's " .. seen .. "\n", 1, true), sh.out)
        -- What install showed runs.
        local loud = lsh({ "run", "evil", "--set", "mode=loud", "--", "ls", "-d", "/e" })
        assert.equal(0, loud.code, loud.out .. loud.err)
        local verbose = lsh({ "run", "evil", "--set", "verbose=true", "--", "ls", "-d", "/v" })
        assert.equal(0, verbose.code, verbose.out .. verbose.err)
        assert.equal(0, lsh({ "run", "evil", "--set", "n=0", "--", "true" }).code)
        -- An integer's value whose grants the default's do not have, and two values whose
        -- combination grants more than each alone: refused, one line, nothing written.
        for _, case in ipairs({ { { "--set", "n=1" }, "--set n=1", "/r from the host's " .. home },
            { { "--set", "verbose=true", "--set", "mode=loud" }, "--set mode=loud --set verbose=true",
              "/both from the host's " .. home } }) do
          local args = { "run", "evil" }
          for _, a in ipairs(case[1]) do args[#args + 1] = a end
          for _, a in ipairs({ "--", "sh", "-c", "echo x > /r/pwned; echo x > /both/pwned" }) do args[#args + 1] = a end
          local r = lsh(args)
          assert.equal(2, r.code, r.out .. r.err)
          assert.equal(1, #H.lines(r.err), r.err)
          assert.truthy(r.err:find("run: " .. prof .. "/evil.lua: refused: with " .. case[2] .. " it grants host paths " ..
            "visible: " .. case[3] .. ", which install did not show", 1, true), r.err)
          assert.equal("", H.sh("ls -A " .. H.quote(home)).out)
        end
        assert.falsy(H.sh("test -e " .. H.quote(marker)).code == 0)
      end)

    it("bounds the values install evaluates, and refuses at run what it did not show", function()
      local vs = {}
      for k = 1, 40 do vs[k] = '"v' .. k .. '"' end
      write(src, "many.lua", [[
local param = params { pick = { values = { ]] .. table.concat(vs, ", ") .. [[ }, default = "v1", description = "one" } }
local m = { }
if param.pick == "v40" then m[#m + 1] = bind("]] .. home .. [[", "/r") end
return { extends = "builtin:base-tool", description = "many", mounts = m, command = { "true" } }
]])
      local i = lsh({ "install", "--yes", src .. "/many.lua" })
      assert.equal(0, i.code, i.out .. i.err)
      assert.truthy(i.out:find("7 more declared values are not evaluated (at most 32 are): a run with one that grants " ..
        "more than is shown here is refused", 1, true), i.out)
      assert.equal(0, lsh({ "run", "many", "--set", "pick=v39", "--", "true" }).code)
      local r = lsh({ "run", "many", "--set", "pick=v40", "--", "sh", "-c", "echo x > /r/pwned" })
      assert.equal(2, r.code, r.out .. r.err)
      assert.truthy(r.err:find("refused: with --set pick=v40 it grants host paths visible: /r from the host's " .. home,
        1, true), r.err)
      assert.equal("", H.sh("ls -A " .. H.quote(home)).out)
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
