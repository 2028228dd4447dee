-- The plan cache never runs a stale or foreign plan: after an edit of a parent profile, a
-- changed --set, another caller, a changed kept variable, or a cache entry tampered with
-- (bytes flipped, a symlink, another owner), the run gets a fresh plan; and a warm entry is
-- really used (so that each case would see a stale one). Each case as root and as nobody,
-- with a cache directory of its own. #integration
local H = require "helpers"
local core = require "lunshare.core"
local json = require "lunshare.json"

-- The entry files of a cache directory (its trusted root holds "plans").
local function entries(root)
  local r = H.sh("ls " .. H.quote(root .. "/plans") .. " 2>/dev/null")
  return H.lines(r.out)
end

-- A copy of entry text with `from` replaced by `to` (same length) and its checksum made
-- right again: what someone who can write the cache could put there.
local function forge(text, from, to)
  local head, _, body = text:match("^([^\n]*)\n(%x+)\n(.*)$")
  assert(head, "not an entry")
  local i = assert(body:find(from, 1, true), "no '" .. from .. "' in the entry")
  body = body:sub(1, i - 1) .. to .. body:sub(i + #from)
  assert.equal(core.PLANCACHE_FORMAT, head)
  return core.plancache_entry(body)
end

for _, mode in ipairs(H.modes) do
  describe("plan cache (" .. mode .. ")", function()
    local owner = mode == "rootless" and (H.NOBODY_UID .. ":" .. H.NOBODY_GID) or "0:0"
    local cache

    before_each(function()
      cache = H.tmpdir("700")
      H.sh("chown " .. owner .. " " .. H.quote(cache))
    end)
    after_each(function() H.rm(cache) end)

    local function run(args, env)
      local r = H.lunshare(args, { mode = mode,
        env = "LUNSHARE_CACHE_DIR=" .. H.quote(cache) .. " LUNSHARE_CACHE_DEBUG=1 " .. (env or "") })
      return r, r.err:match("plan cache: (%a+)")
    end

    -- A parent and a child that extends it; the parent names the host.
    local function family(name)
      local dir = H.tmpdir()
      local parent = dir .. "/parent.lua"
      local child = dir .. "/child.lua"
      H.sh(string.format("printf '%%s' %s >%s && printf '%%s' %s >%s && chmod 644 %s %s",
        H.quote('return { extends = "default", hostname = "' .. name .. '" }'), H.quote(parent),
        H.quote('return { extends = "' .. parent .. '" }'), H.quote(child), H.quote(parent), H.quote(child)))
      return dir, parent, child
    end

    it("serves a warm plan, and a forged one is what runs (so the cases below would see a stale one)", function()
      local dir, _, child = family("first")
      local r, how = run({ "run", child, "--", "hostname" })
      assert.equal(0, r.code, r.err)
      assert.equal("first\n", r.out)
      assert.equal("miss", how, r.err)
      r, how = run({ "run", child, "--", "hostname" })
      assert.equal("first\n", r.out)
      assert.equal("hit", how, r.err)
      -- The entry as someone who can write the cache could change it: the cache is the
      -- caller's own, and what it holds runs.
      local names = entries(cache)
      assert.equal(1, #names)
      local path = cache .. "/plans/" .. names[1]
      local text = H.read(path)
      local f = assert(io.open(path, "w"))
      f:write(forge(text, "5:first", "5:forge"))
      f:close()
      r, how = run({ "run", child, "--", "hostname" })
      assert.equal("forge\n", r.out)
      assert.equal("hit", how, r.err)
      H.rm(dir)
    end)

    -- The seccomp filter a hit loads is the one compiled from the plan's own rules when it
    -- was stored (libseccomp's generation is not run again on a hit): the entry holds
    -- exactly core.seccomp_compile of the fresh plan's rules, the kernel sees one filter
    -- either way, and a forged filter in the entry is what a hit loads (so the comparison
    -- is of the bytes that run).
    it("loads on a hit the very filter the fresh plan's rules compile to", function()
      if not io.open("/usr/bin/python3") then return pending("needs /usr/bin/python3 in the sandbox") end
      -- keyctl (x86_64 250) returns -1 with the errno the filter gives.
      local probe = { "/usr/bin/python3", "-c", "import ctypes, re\n" ..
        "print(re.findall(r'Seccomp_filters:\\s*(\\d+)', open('/proc/self/status').read())[0])\n" ..
        "l = ctypes.CDLL(None, use_errno=True)\n" ..
        "print(l.syscall(250, 0, 0, 0, 0, 0), ctypes.get_errno())" }
      if core.uname().machine ~= "x86_64" then return pending("the probe's keyctl number is x86_64's") end
      local plan = json.decode(H.lunshare({ "explain", "default", "--json" }, { mode = mode }).out)
      local rules
      for _, s in ipairs(plan.steps) do if s.op == "seccomp" then rules = s.rules end end
      assert.truthy(rules, "the default plan has a seccomp step")
      local fresh = assert(core.seccomp_compile(rules))
      local args = { "run", "default", "--", table.unpack(probe) }
      local r, how = run(args)
      assert.equal("miss", how, r.err)
      assert.equal("1\n-1 1\n", r.out, r.err)
      local names = entries(cache)
      assert.equal(1, #names)
      local path = cache .. "/plans/" .. names[1]
      local text = H.read(path)
      assert.truthy(text:find(fresh, 1, true), "the entry holds the filter the rules compile to")
      r, how = run(args)
      assert.equal("hit", how, r.err)
      assert.equal("1\n-1 1\n", r.out, r.err)
      -- The same filter with keyctl's errno 1 made 38: as long, and what the hit loads.
      local other = {}
      for i, rule in ipairs(rules) do other[i] = rule == "errno:1 keyctl" and "errno:38 keyctl" or rule end
      local forged = assert(core.seccomp_compile(other))
      assert.equal(#fresh, #forged)
      assert.not_equal(fresh, forged)
      local f = assert(io.open(path, "w"))
      f:write(forge(text, fresh, forged))
      f:close()
      r, how = run(args)
      assert.equal("hit", how, r.err)
      assert.equal("1\n-1 38\n", r.out, r.err)
    end)

    -- The executable serves a hit of `run … -- CMD` by itself (bindings/l_fastrun.c), and
    -- only when what it can tell is all there is to tell; the rest goes to the scripts.
    local FAST = "plan cache: hit (served before the scripts load)"
    local function fast(r) return r.err:find(FAST, 1, true) ~= nil end
    -- What a person reads, without the cache's debug line.
    local function said(r) return (r.err:gsub("lunshare: plan cache: [^\n]*\n", "")) end

    it("serves a hit of run ... -- CMD before the scripts load, with the command's words", function()
      local r, how = run({ "run", "default", "--", "/bin/echo", "a  b", "" })
      assert.equal("miss", how, r.err)
      r, how = run({ "run", "default", "--", "/bin/echo", "c", "d" })
      assert.equal("hit", how, r.err)
      assert.truthy(fast(r), r.err)
      assert.equal(0, r.code, r.err)
      assert.equal("c d\n", r.out)
      -- Without "--" the scripts parse the command line, and serve the hit themselves.
      run({ "run", "default", "/bin/echo", "e" })
      r, how = run({ "run", "default", "/bin/echo", "e" })
      assert.equal("hit", how, r.err)
      assert.falsy(fast(r), r.err)
      assert.equal("e\n", r.out)
    end)

    it("leaves to the scripts a run whose first -- was an option's value", function()
      -- --unsetenv takes "--" as its KEY: the command starts at the first word after the
      -- profile, and a word like --no-pty there is an option, not the command.
      local r, how = run({ "run", "default", "--unsetenv", "--", "/bin/echo", "b" })
      assert.equal("miss", how, r.err)
      assert.equal("b\n", r.out)
      r, how = run({ "run", "default", "--unsetenv", "--", "/bin/echo", "b" })
      assert.equal("hit", how, r.err)
      assert.falsy(fast(r), r.err)
      -- Served as "run -- CMD" this would exec "--no-pty" (127); it is the profile's own
      -- command with the option, a plan of its own.
      r, how = run({ "run", "default", "--unsetenv", "--", "--no-pty" }, "</dev/null")
      assert.equal("miss", how, r.err)
      assert.equal(0, r.code, r.err)
    end)

    it("reports a served hit's end as the scripts do: not found, --timeout", function()
      local r1 = run({ "run", "default", "--", "/nonexistent/cmd" })
      local r2 = run({ "run", "default", "--", "/nonexistent/cmd" })
      assert.truthy(fast(r2), r2.err)
      assert.equal(127, r1.code, r1.err)
      assert.equal(127, r2.code, r2.err)
      assert.equal(said(r1), said(r2))
      assert.truthy(said(r2):find("/nonexistent/cmd", 1, true), r2.err)
      run({ "run", "--timeout", "1", "default", "--", "/bin/sleep", "20" })
      local t0 = os.time()
      local r = run({ "run", "--timeout", "1", "default", "--", "/bin/sleep", "20" })
      assert.truthy(fast(r), r.err)
      assert.equal(124, r.code, r.err)
      assert.truthy(said(r):find("ran longer than --timeout 1", 1, true), r.err)
      assert.truthy(os.time() - t0 < 15)
    end)

    it("leaves a named run to the scripts, which check the names that run", function()
      local name = "lsfast" .. H.RUN .. mode
      run({ "run", "--name", name, "default", "--", "/bin/true" })
      local r, how = run({ "run", "--name", name, "default", "--", "/bin/true" })
      assert.equal(0, r.code, r.err)
      assert.equal("hit", how, r.err)
      assert.falsy(fast(r), r.err)
    end)

    it("plans afresh when a parent profile was edited", function()
      local dir, parent, child = family("before")
      assert.equal("before\n", run({ "run", child, "--", "hostname" }).out)
      assert.equal("before\n", run({ "run", child, "--", "hostname" }).out)
      H.sh("printf '%s' " .. H.quote('return { extends = "default", hostname = "after" }') .. " >" .. H.quote(parent))
      local r, how = run({ "run", child, "--", "hostname" })
      assert.equal(0, r.code, r.err)
      assert.equal("after\n", r.out)
      assert.equal("miss", how)
      H.rm(dir)
    end)

    it("plans afresh for another --set value", function()
      local p = H.profile([[
        local param = params { name = { default = "dflt", description = "the host name" } }
        return { extends = "default", hostname = param.name }]])
      assert.equal("one\n", run({ "run", "--set", "name=one", p, "--", "hostname" }).out)
      assert.equal("one\n", run({ "run", "--set", "name=one", p, "--", "hostname" }).out)
      local r = run({ "run", "--set", "name=two", p, "--", "hostname" })
      assert.equal(0, r.code, r.err)
      assert.equal("two\n", r.out)
      assert.equal("dflt\n", run({ "run", p, "--", "hostname" }).out)
    end)

    it("plans afresh when a variable the profile keeps changed, and not for one it drops", function()
      local p = H.profile([[return { extends = "default", env = { clear = true, keep = { "LSH_KEPT" } } }]])
      local cmd = { "run", p, "--", "sh", "-c", "echo ${LSH_KEPT:-none} ${LSH_DROPPED:-none}" }
      local r, how = run(cmd, "LSH_KEPT=a LSH_DROPPED=x")
      assert.equal("a none\n", r.out, r.err)
      r, how = run(cmd, "LSH_KEPT=a LSH_DROPPED=y")
      assert.equal("a none\n", r.out)
      assert.equal("hit", how)
      r, how = run(cmd, "LSH_KEPT=b LSH_DROPPED=y")
      assert.equal("b none\n", r.out)
      assert.equal("miss", how)
      r = run(cmd, "LSH_DROPPED=y")
      assert.equal("none none\n", r.out)
    end)

    it("plans afresh for another caller (another gid), and never reads another user's cache", function()
      -- The same uid with another gid: the gid map differs.
      local drop = mode == "rootless" and string.format("setpriv --reuid=%d --regid=100 --clear-groups -- ", H.NOBODY_UID)
        or "setpriv --regid=100 --clear-groups -- "
      local function gid_map(prefix)
        local r = H.sh(prefix .. H.quote(H.bin) .. " run default -- cat /proc/self/gid_map",
          { env = "LUNSHARE_CACHE_DIR=" .. H.quote(cache) .. (mode == "rootless" and " XDG_RUNTIME_DIR=" .. H.quote(cache) or "") })
        assert.equal(0, r.code, r.err)
        return r.out:match("^%s*0%s+(%d+)")
      end
      local base = mode == "rootless" and H.DROP or ""
      local g1 = gid_map(base)
      assert.equal(g1, gid_map(base))
      local g2 = gid_map(drop)
      if mode == "rootless" then
        assert.equal(tostring(H.NOBODY_GID), g1)
        assert.equal("100", g2)
      else
        assert.truthy(g1 and g2)
      end
      assert.equal(2, #entries(cache))
      -- Another user's cache directory, readable by all: refused, never read.
      if mode == "root" then
        local first = run({ "run", "default", "--", "true" })
        assert.equal(0, first.code, first.err)
        H.sh("chmod 755 " .. H.quote(cache) .. " " .. H.quote(cache .. "/plans") ..
          " && chmod 644 " .. H.quote(cache .. "/plans") .. "/*")
        local r = H.lunshare({ "run", "default", "--", "cat", "/proc/self/uid_map" }, { mode = "rootless",
          env = "LUNSHARE_CACHE_DIR=" .. H.quote(cache) .. " LUNSHARE_CACHE_DEBUG=1" })
        assert.equal(0, r.code, r.err)
        assert.equal(tostring(H.NOBODY_UID), r.out:match("^%s*0%s+(%d+)"))
        assert.truthy(r.err:find("plan cache: miss", 1, true), r.err)
        assert.truthy(r.err:find("not stored", 1, true), r.err)
      end
    end)

    describe("a tampered entry is ignored and replaced by a fresh plan", function()
      local dir, child, path, forged
      before_each(function()
        dir, _, child = family("honest")
        assert.equal("honest\n", run({ "run", child, "--", "hostname" }).out)
        path = cache .. "/plans/" .. entries(cache)[1]
        forged = forge(H.read(path), "6:honest", "6:forged")
      end)
      after_each(function() H.rm(dir) end)

      it("with bytes flipped", function()
        local text = H.read(path)
        local i = text:find("6:honest", 1, true)
        local f = assert(io.open(path, "w"))
        f:write(text:sub(1, i + 1) .. "dishon" .. text:sub(i + 8))
        f:close()
        local r, how = run({ "run", child, "--", "hostname" })
        assert.equal(0, r.code, r.err)
        assert.equal("honest\n", r.out)
        assert.equal("miss", how)
        assert.truthy(r.err:find("damaged", 1, true), r.err)
        assert.equal("hit", select(2, run({ "run", child, "--", "hostname" })))
      end)

      it("with a symlink in its place (to a forged entry: never followed)", function()
        local target = H.file(forged)
        H.sh("chown " .. owner .. " " .. H.quote(target) .. " && ln -sf " .. H.quote(target) .. " " .. H.quote(path))
        local r = run({ "run", child, "--", "hostname" })
        assert.equal(0, r.code, r.err)
        assert.equal("honest\n", r.out)
        assert.equal(forged, H.read(target), "the symlink's target was written")
        assert.equal("", H.sh("find " .. H.quote(path) .. " -type l").out, "the symlink is still there")
        assert.equal("honest\n", run({ "run", child, "--", "hostname" }).out)
      end)

      it("owned by another user (a forged entry)", function()
        local f = assert(io.open(path, "w"))
        f:write(forged)
        f:close()
        local other = mode == "rootless" and "0:0" or (H.NOBODY_UID .. ":" .. H.NOBODY_GID)
        H.sh("chown " .. other .. " " .. H.quote(path) .. " && chmod 644 " .. H.quote(path))
        local r = run({ "run", child, "--", "hostname" })
        assert.equal(0, r.code, r.err)
        assert.equal("honest\n", r.out)
        assert.equal(owner .. "\n", H.sh("stat -c %u:%g " .. H.quote(path)).out, "not replaced")
      end)
    end)

    it("--no-cache neither reads nor writes the cache; cache clear empties it", function()
      local r = run({ "cache", "clear" })
      assert.equal(0, r.code, r.err)
      assert.equal("removed 0 cached plans\n", r.out)
      local how
      r, how = run({ "run", "--no-cache", "default", "--", "true" })
      assert.equal(0, r.code, r.err)
      assert.equal("not", how)
      assert.equal(0, #entries(cache))
      run({ "run", "default", "--", "true" })
      assert.equal(1, #entries(cache))
      r = run({ "cache", "clear" })
      assert.equal(0, r.code, r.err)
      assert.equal("removed 1 cached plan\n", r.out)
      assert.equal(0, #entries(cache))
      assert.equal(2, run({ "cache", "flush" }).code)
    end)

    if mode == "rootless" then
      it("keeps no plans for a user without XDG_RUNTIME_DIR (nothing made in /tmp)", function()
        local r = H.sh("env -u XDG_RUNTIME_DIR -u LUNSHARE_CACHE_DIR LUNSHARE_CACHE_DEBUG=1 " .. H.quote(H.bin) ..
          " run default -- true", { mode = mode })
        assert.equal(0, r.code, r.err)
        assert.truthy(r.err:find("plan cache: none", 1, true), r.err)
        -- (Another suite's rootless topology may hold /tmp/lunshare-UID itself: only plans count.)
        assert.equal(1, H.sh("test -e /tmp/lunshare-" .. H.NOBODY_UID .. "/lunshare/plans").code, "plans made in /tmp")
      end)
    end

    it("holds a bounded number of entries: a full directory is emptied by the next miss", function()
      -- 256 entries of junk, as many --set values would leave.
      H.sh("mkdir -m 700 " .. H.quote(cache .. "/plans") .. " && cd " .. H.quote(cache .. "/plans") ..
        " && for i in $(seq 256); do echo x >e$i; done && chown -R " .. owner .. " .")
      assert.equal(256, #entries(cache))
      local r = run({ "run", "default", "--", "true" })
      assert.equal(0, r.code, r.err)
      assert.equal(1, #entries(cache))
    end)
  end)
end
