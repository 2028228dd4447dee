-- What install's consent covers, and what every run of an installed recipe is compared
-- with (#13's review s4): install records in the manifest the grants it showed (a
-- consent record), and every run, with or without --set, cached or not, refuses a grant
-- beyond that record; a recipe's evaluation is the same in every process (no address,
-- no hash order); install reads each source file once; a declared value that does not
-- load is said on the consent screen and by show; check and explain say when an
-- installed recipe changed since install. Root and rootless (nobody).
-- #integration
local H = require "helpers"

local function write(dir, name, text)
  local f = assert(io.open(dir .. "/" .. name, "w"))
  f:write(text)
  f:close()
  H.sh("chmod 644 " .. H.quote(dir .. "/" .. name))
end

-- The reviewer's recipe: /host granted when a character of a heap address is even.
local RND = [[
local a = tostring({})
local wide = ("02468ace"):find(a:sub(-4, -4), 1, true) ~= nil
return {
  extends = "builtin:base-tool",
  description = "harmless " .. a,
  mounts = wide and { ro_bind("/", "/host") } or {},
  command = { "sh", "-c", "echo done" },
}
]]

for _, mode in ipairs(H.modes) do
  describe("install consent (" .. mode .. ")", function()
    local home, cfg, src, prof, env
    before_each(function() home, cfg, src, prof, env = H.install_dirs(mode) end)
    after_each(function() H.rm(home); H.rm(cfg); H.rm(src) end)
    local function lsh(args, extra) return H.lunshare(args, { mode = mode, env = env .. (extra or "") }) end
    local function manifest() return H.sh("cat " .. H.quote(prof .. "/.lunshare-manifest")).out end
    local function set_manifest(text)
      local f = assert(io.open(prof .. "/.lunshare-manifest", "w"))
      f:write(text)
      f:close()
    end

    it("gives the reviewer's address-dependent recipe the same grants in every process, never beyond consent", function()
      write(src, "rnd.lua", RND)
      local first = lsh({ "show", src .. "/rnd.lua" })
      assert.equal(0, first.code, first.err)
      for _ = 1, 3 do assert.equal(first.out, lsh({ "show", src .. "/rnd.lua" }).out) end
      assert.falsy(first.out:find("0x", 1, true), first.out)
      local inst = lsh({ "install", "--yes", src .. "/rnd.lua" })
      assert.equal(0, inst.code, inst.out .. inst.err)
      local shown = inst.out:find("/host from", 1, true) ~= nil
      for i = 1, 10 do
        local args = { "run", "rnd", "--", "sh", "-c", "test -d /host/proc && echo WIDE || echo narrow" }
        if i % 2 == 0 then table.insert(args, 2, "--no-cache") end
        local r = lsh(args)
        -- What runs is what install printed: granted there, or granted nowhere.
        if shown then
          assert.equal(0, r.code, r.out .. r.err)
          assert.equal("WIDE\n", r.out)
        else
          assert.truthy(r.code == 0 or r.code == 2, r.out .. r.err)
          assert.falsy(r.out:find("WIDE", 1, true), r.out .. r.err)
        end
      end
    end)

    it("compares every run, at the defaults too, with the record in the manifest, not a new evaluation", function()
      write(src, "wide.lua", 'return { extends = "builtin:base-tool", description = "wide", ' ..
        'mounts = { ro_bind("/etc", "/hostetc") }, command = { "true" }, ' ..
        'checks = { { "sees the host\'s /etc", run = { "test", "-d", "/hostetc" } } } }\n')
      local inst = lsh({ "install", "--yes", src .. "/wide.lua" })
      assert.equal(0, inst.code, inst.out .. inst.err)
      assert.truthy(inst.out:find("/hostetc from", 1, true), inst.out)
      local m = manifest()
      assert.truthy(m:find("\nconsent wide.lua confines\n", 1, true), m)
      local ok = lsh({ "run", "wide", "--", "true" }, " LUNSHARE_CACHE_DEBUG=1")
      assert.equal(0, ok.code, ok.err)
      -- The record without the /hostetc grant (the files' hashes as they are): what consent
      -- covered is narrower than what the recipe grants, so every run is refused.
      local narrowed = m:gsub("grant wide%.lua [dp] visible /hostetc[^\n]*\n", "")
      assert.not_equal(m, narrowed)
      set_manifest(narrowed)
      assert.equal(0, lsh({ "verify" }).code)
      for _, args in ipairs({ { "run", "wide", "--", "true" }, { "run", "--no-cache", "wide", "--", "true" },
          { "run", "wide", "--", "true" } }) do
        local r = lsh(args, " LUNSHARE_CACHE_DEBUG=1")
        assert.equal(2, r.code, r.out .. r.err)
        assert.falsy(r.err:find("plan cache: hit", 1, true), r.err)
        local lines = {}
        for _, l in ipairs(H.lines(r.err)) do if not l:find("^lunshare: plan cache:") then lines[#lines + 1] = l end end
        assert.equal(1, #lines, r.err)
        assert.truthy(lines[1]:find("refused: with its defaults it grants host paths visible: /hostetc", 1, true), r.err)
      end
      -- lunshare test runs the recipe's checks with no more than install showed, too.
      local t = lsh({ "test", "wide" })
      assert.equal(1, t.code, t.out .. t.err)
      assert.truthy(t.out:find("it grants host paths visible: /hostetc", 1, true), t.out .. t.err)
      -- A manifest without any record (an older lunshare's): refused, until installed again.
      set_manifest((m:gsub("consent wide%.lua confines\n", ""):gsub("grant wide%.lua [^\n]*\n", "")))
      local none = lsh({ "run", "wide", "--", "true" })
      assert.equal(2, none.code, none.err)
      assert.truthy(none.err:find("holds no record of what install showed", 1, true), none.err)
      local again = lsh({ "install", "--yes", src .. "/wide.lua" })
      assert.equal(0, again.code, again.out .. again.err)
      assert.truthy(again.out:find("/hostetc from", 1, true), again.out)
      assert.equal(0, lsh({ "run", "wide", "--", "true" }).code)
    end)

    -- The final review's attack: a free string parameter whose real value (no placeholder,
    -- not the default) drops the tmpfs that hides a bound directory's secret. Consent showed
    -- the tmpfs; a run without it, or without a denied call or a limit consent showed, is
    -- refused, and an update that drops one asks again.
    it("refuses a run that lacks a confinement install showed: a hiding tmpfs, a denied call, a limit", function()
      local host = H.tmpdir("755")
      H.sh("mkdir -p " .. H.quote(host .. "/secret") .. " && echo TOPSECRET > " .. H.quote(host .. "/secret/key") ..
        " && chmod -R a+rX " .. H.quote(host))
      local function recipe(extra)
        return 'local param = params { drop = { description = "what to leave out", default = "none" } }\n' ..
          'local function keep(what) return param.drop ~= what end\n' ..
          'return { extends = "builtin:base-tool", description = "hides a secret",\n' ..
          '  mounts = keep("tmpfs") and { ro_bind("' .. host .. '", "/h"), tmpfs("/h/secret") } or ' ..
          '{ ro_bind("' .. host .. '", "/h") },\n' ..
          '  seccomp = keep("deny") and { deny = { "uname" } } or nil,\n' ..
          '  limits = keep("limit") and { nofile = 64 } or nil,\n' ..
          (extra or "") ..
          '  command = { "sh", "-c", "cat /h/secret/key 2>/dev/null || echo hidden" } }\n'
      end
      write(src, "hides.lua", recipe())
      local inst = lsh({ "install", "--yes", src .. "/hides.lua" })
      assert.equal(0, inst.code, inst.out .. inst.err)
      assert.truthy(manifest():find("\nconsent hides.lua confines\n", 1, true), manifest())
      for _, v in ipairs({ "none", "other" }) do
        local ok = lsh({ "run", "--set", "drop=" .. v, "hides" })
        assert.equal(0, ok.code, ok.out .. ok.err)
        assert.equal("hidden\n", ok.out)
      end
      for drop, words in pairs({ tmpfs = "lacks paths made inside: /h/secret (tmpfs), which install showed it keeping",
          deny = "lacks system calls: denied with EPERM: uname", limit = "lacks limits: nofile soft 64 hard 64" }) do
        for _, args in ipairs({ { "run", "--set", "drop=" .. drop, "hides" },
            { "run", "--no-cache", "--set", "drop=" .. drop, "hides" } }) do
          local r = lsh(args)
          assert.equal(2, r.code, drop .. ": " .. r.out .. r.err)
          assert.falsy(r.out:find("TOPSECRET", 1, true), r.out)
          assert.equal(1, #H.lines(r.err), r.err)
          assert.truthy(r.err:find("refused: with --set drop=" .. drop .. " it " .. words, 1, true), r.err)
        end
      end
      -- A record from before confinements were recorded is refused until installed again.
      local m = manifest()
      set_manifest((m:gsub("consent hides%.lua confines\n", "consent hides.lua\n"):gsub("grant hides%.lua c [^\n]*\n", "")))
      local old = lsh({ "run", "hides" })
      assert.equal(2, old.code, old.err)
      assert.truthy(old.err:find("holds no record of what install showed", 1, true), old.err)
      set_manifest(m)
      -- An update whose defaults drop the tmpfs widens the recipe: no consent without --yes.
      write(src, "hides.lua", recipe():gsub('default = "none"', 'default = "tmpfs"'))
      local up = lsh({ "install", src .. "/hides.lua" })
      assert.equal(1, up.code, up.out .. up.err)
      assert.truthy(up.out:find("  - paths made inside: /h/secret (tmpfs)\n", 1, true), up.out)
      assert.falsy(up.out:find("it widens nothing", 1, true), up.out)
      assert.equal(m, manifest())
      assert.equal(0, lsh({ "install", "--yes", src .. "/hides.lua" }).code)
      H.rm(host)
    end)

    -- The review of s5: the tmpfs kept only while a free string holds its default, so the
    -- placeholders' evaluation lacked it too and consent did not require it.
    it("requires what the defaults keep for any value of a free string, but follows one a parameter names", function()
      local host = H.tmpdir("755")
      H.sh("mkdir -p " .. H.quote(host .. "/secret") .. " && echo TOPSECRET > " .. H.quote(host .. "/secret/key") ..
        " && chmod -R a+rX " .. H.quote(host))
      finally(function() H.rm(host) end)
      write(src, "styled.lua", 'local param = params { style = { description = "s", default = "plain" } }\n' ..
        'return { extends = "builtin:base-tool", description = "styled",\n' ..
        '  mounts = param.style == "plain" and { ro_bind("' .. host .. '", "/h"), tmpfs("/h/secret") } or ' ..
        '{ ro_bind("' .. host .. '", "/h") },\n' ..
        '  command = { "sh", "-c", "cat /h/secret/key 2>/dev/null || echo hidden" } }\n')
      write(src, "hider.lua", 'local param = params { hide = { description = "h", default = "/h/secret" } }\n' ..
        'return { extends = "builtin:base-tool", description = "hider",\n' ..
        '  mounts = { ro_bind("' .. host .. '", "/h"), tmpfs(param.hide) },\n' ..
        '  command = { "sh", "-c", "cat /h/secret/key 2>/dev/null || echo hidden" } }\n')
      for _, f in ipairs({ "styled.lua", "hider.lua" }) do
        local inst = lsh({ "install", "--yes", src .. "/" .. f })
        assert.equal(0, inst.code, inst.out .. inst.err)
      end
      local ok = lsh({ "run", "styled" })
      assert.equal(0, ok.code, ok.out .. ok.err)
      assert.equal("hidden\n", ok.out)
      local r = lsh({ "run", "--set", "style=fancy", "styled" })
      assert.equal(2, r.code, r.out .. r.err)
      assert.falsy(r.out:find("TOPSECRET", 1, true), r.out)
      assert.truthy(r.err:find("it lacks paths made inside: /h/secret (tmpfs)", 1, true), r.err)
      -- The tmpfs a parameter names follows its value: the run keeps the one it names.
      local moved = lsh({ "run", "--set", "hide=/tmp/x", "hider" })
      assert.equal(0, moved.code, moved.out .. moved.err)
    end)

    it("shows on the consent screen what a declared value no longer keeps", function()
      write(src, "v.lua", 'local param = params { open = { description = "o", default = false } }\n' ..
        'return { extends = "builtin:base-tool", description = "v", ' ..
        'mounts = param.open and {} or { tmpfs("/h") }, command = { "true" } }\n')
      local inst = lsh({ "install", "--yes", src .. "/v.lua" })
      assert.equal(0, inst.code, inst.out .. inst.err)
      assert.truthy(inst.out:find("with --set open=true it no longer keeps:\n  paths made inside:\n    /h (tmpfs)\n", 1, true),
        inst.out)
      -- Both values were shown: the run with either is taken.
      assert.equal(0, lsh({ "run", "v" }).code)
      assert.equal(0, lsh({ "run", "--set", "open=true", "v" }).code)
    end)

    it("reads each source file once: what it checks, shows, hashes and writes is one read", function()
      write(src, "sc.lua", 'local param = params { mode = { values = { "quiet", "loud" }, default = "quiet", ' ..
        'description = "m" } }\nreturn { extends = "builtin:base-tool", description = "sc", seccomp = { file = "sc.rules" },' ..
        ' mounts = param.mode == "loud" and { ro_bind("/var/log", "/logs") } or {}, command = { "true" } }\n')
      write(src, "sc.rules", "deny:EPERM uname\n")
      local log = H.tmpdir("777")
      local r = H.sh("strace -f -qq -e trace=open,openat,openat2 -o " .. H.quote(log .. "/st") .. " " .. H.quote(H.bin) ..
        " install --yes " .. H.quote(src .. "/sc.lua"), { mode = mode, env = env })
      local st = H.sh("cat " .. H.quote(log .. "/st")).out
      H.rm(log)
      assert.equal(0, r.code, r.out .. r.err)
      assert.truthy(r.out:find("with --set mode=loud it also grants", 1, true), r.out)
      for _, f in ipairs({ "sc.lua", "sc.rules" }) do
        local n = select(2, st:gsub('"' .. (src .. "/" .. f):gsub("%p", "%%%0") .. '"', ""))
        assert.equal(1, n, f .. " opened " .. n .. " times:\n" .. st)
      end
    end)

    it("installs the rules file it read and showed, though it is replaced after install opened it", function()
      write(src, "sc.lua", 'return { extends = "builtin:base-tool", description = "sc", seccomp = { file = "sc.rules" }, ' ..
        'command = { "true" } }\n')
      write(src, "sc.rules", "deny:EPERM uname\n")
      write(src, "evil.tmp", "allow bpf\n")
      if mode == "rootless" then H.sh("chown -R " .. H.NOBODY_UID .. ":" .. H.NOBODY_GID .. " " .. H.quote(src)) end
      local rules, log = src .. "/sc.rules", src .. "/strace.log"
      -- strace holds the first open of the rules file for 3 s once it is done; meanwhile
      -- the file is replaced. Whatever install reads after that is the new file.
      local r = H.sh("strace -f -qq -o " .. H.quote(log) .. " -P " .. H.quote(rules) .. " -e trace=openat " ..
        "-e inject=openat:delay_exit=3000000:when=1 " .. H.quote(H.bin) .. " install --yes " .. H.quote(src .. "/sc.lua") ..
        " & pid=$!; i=0; while ! grep -q sc.rules " .. H.quote(log) .. " 2>/dev/null; do sleep 0.05; i=$((i+1)); " ..
        "[ $i -gt 400 ] && break; done; mv " .. H.quote(src .. "/evil.tmp") .. " " .. H.quote(rules) .. "; wait $pid",
        { mode = mode, env = env, timeout = 60 })
      assert.equal(0, r.code, r.out .. r.err)
      assert.equal("allow bpf\n", H.sh("cat " .. H.quote(rules)).out)
      assert.truthy(r.out:find("denied with EPERM: uname", 1, true), r.out)
      assert.falsy(r.out:find("bpf", 1, true), r.out)
      assert.equal("deny:EPERM uname\n", H.sh("cat " .. H.quote(prof .. "/sc.rules")).out)
    end)

    it("says on the consent screen and in show that a declared value does not load", function()
      write(src, "nl.lua", 'local param = params { loud = { type = "boolean", default = false, description = "d" } }\n' ..
        'return { extends = "builtin:base-tool", description = "nl", network = param.loud and "host" or nil, ' ..
        'command = { "true" } }\n')
      local want = "with --set loud=true it does not load: " .. src .. "/nl.lua:2: network: \"host\" shares the host's network"
      local show = lsh({ "show", src .. "/nl.lua" })
      assert.equal(0, show.code, show.err)
      assert.truthy(show.out:find(want, 1, true), show.out)
      local inst = lsh({ "install", "--yes", src .. "/nl.lua" })
      assert.equal(0, inst.code, inst.out .. inst.err)
      assert.truthy(inst.out:find(want, 1, true), inst.out)
    end)

    it("has check and explain say that an installed recipe changed since install", function()
      write(src, "ch.lua", 'return { extends = "builtin:base-tool", description = "ch", command = { "true" } }\n')
      assert.equal(0, lsh({ "install", "--yes", src .. "/ch.lua" }).code)
      local line = "ch: (installed recipe changed since install: run refuses it; run 'lunshare verify')"
      local clean = lsh({ "check", "ch" })
      assert.equal(0, clean.code, clean.err)
      assert.falsy(clean.err:find("changed since install", 1, true), clean.err)
      H.sh("echo '-- x' >> " .. H.quote(prof .. "/ch.lua"))
      local c = lsh({ "check", "ch" })
      assert.equal(0, c.code, c.err)
      assert.truthy(H.has_line(c.err, "ch: warning: (installed recipe changed since install: run refuses it; " ..
        "run 'lunshare verify')"), c.err)
      local strict = lsh({ "check", "--strict", "ch" })
      assert.equal(2, strict.code, strict.err)
      assert.truthy(strict.err:find("ch: error (--strict): (installed recipe changed", 1, true), strict.err)
      local e = lsh({ "explain", "ch" })
      assert.equal(0, e.code, e.err)
      assert.truthy(H.has_line(e.err, line), e.err)
    end)
  end)
end

describe("check of parameter values lists", function()
  it("refuses a value whose type is not the parameter's, and warns of a duplicate", function()
    local f = H.profile('local p = params { m = { values = { "x", "y", "y", 3 }, default = "x", description = "d" } }\n' ..
      'return { command = { "true" } }\n')
    local r = H.lunshare({ "check", f })
    assert.equal(2, r.code, r.err)
    assert.truthy(r.err:find(":1: params.m.values[4]: expected a string (the parameter's type), got number 3", 1, true), r.err)
    H.sh("sed -i 's/, 3 }/ }/' " .. H.quote(f))
    local w = H.lunshare({ "check", f })
    assert.equal(0, w.code, w.err)
    assert.truthy(w.err:find(":1: params.m.values[3]: warning: 'y' is listed already (values[2])", 1, true), w.err)
    os.remove(f)
  end)
end)
