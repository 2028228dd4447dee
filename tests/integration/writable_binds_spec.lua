-- Writable binds for a root caller are idmapped mounts: root inside owns what it finds in
-- a bound directory and what it makes there belongs on the host to the directory's owner;
-- nothing else becomes writable; a filesystem that refuses idmapped mounts fails the run
-- with one line saying what to do instead; rootless callers are unchanged. #integration
local H = require "helpers"

local function profile(mounts)
  return H.profile("return { extends = \"default\", mounts = {\n" .. mounts .. "\n} }\n")
end

local function owner(path) return H.sh("stat -c %u:%g " .. H.quote(path)).out:gsub("\n", "") end

-- A directory of the suite's owned by uid:gid, with a file of host root's in it.
local function dir_of(uid, gid)
  local d = H.tmpdir("755")
  local r = H.sh(string.format("echo mine > %s/roots && chmod 644 %s/roots && chown %s:%s %s",
    H.quote(d), H.quote(d), uid, gid, H.quote(d)))
  assert(r.code == 0, r.err)
  return d
end

-- Builds in the bound directory as root inside would: files, a directory, and a tar x
-- that chowns what it unpacks (to root inside, the archive's owner).
local BUILD = "cd /w && mkdir -p out && echo built > out/a && tar cf t.tar out && rm -r out && " ..
  "tar xf t.tar && stat -c '%u:%g' /w /w/out/a && id -u"

describe("writable binds", function()
  for _, who in ipairs({ { "root", 0, 0 }, { "another user", H.NOBODY_UID, H.NOBODY_GID } }) do
    local name, uid, gid = who[1], who[2], who[3]
    it("as root, a bind of a directory owned by " .. name .. " is root's inside and the owner's outside", function()
      local d = dir_of(uid, gid)
      finally(function() H.rm(d) end)
      local p = profile(string.format("bind(%q, \"/w\")", d))
      local r = H.lunshare({ "run", p, "--", "sh", "-c", BUILD }, { mode = "root" })
      assert.equal(0, r.code, r.err)
      -- Inside, the directory and what was unpacked into it belong to root.
      assert.same({ "0:0", "0:0", "0" }, H.lines(r.out))
      -- Outside, what was made belongs to the directory's owner, never to the sandbox's range.
      local want = uid .. ":" .. gid
      assert.equal(want, owner(d .. "/out/a"))
      assert.equal(want, owner(d .. "/out"))
      assert.equal(want, owner(d .. "/t.tar"))
      if uid ~= 0 then
        -- Host root's file in another user's directory stays out of reach.
        local w = H.lunshare({ "run", p, "--", "sh", "-c", "stat -c %u /w/roots; echo x >> /w/roots" }, { mode = "root" })
        assert.not_equal(0, w.code)
        assert.equal("65534", H.lines(w.out)[1])
        assert.equal("mine\n", H.read(d .. "/roots"))
      end
    end)
  end

  it("as root, only the directory's owner is mapped: nothing else becomes writable", function()
    local d = dir_of(H.NOBODY_UID, H.NOBODY_GID)
    finally(function() H.rm(d) end)
    H.sh("mkdir " .. H.quote(d .. "/other") .. " && chown 4242:4242 " .. H.quote(d .. "/other"))
    local p = profile(string.format("bind(%q, \"/w\")", d))
    local r = H.lunshare({ "run", p, "--", "sh", "-c",
      "stat -c %u /w/other; touch /w/other/x; touch /usr/x; touch /w/mine && echo made" }, { mode = "root" })
    assert.equal(0, r.code, r.err)
    assert.same({ "65534", "made" }, H.lines(r.out))
    assert.is_false(H.sh("test -e " .. H.quote(d .. "/other/x")).code == 0)
  end)

  it("as root with a range of ids, tar x of another owner's files lands on the sandbox's own host ids", function()
    -- The issue's example: an archive whose members belong to 1000:1000, unpacked by root
    -- inside in a bound directory. Inside they belong to 1000; on the host to the
    -- sandbox's host id for 1000 (the range's first + 1000), which no host user has;
    -- what root inside made still belongs to the directory's owner.
    local d, src = dir_of(H.NOBODY_UID, H.NOBODY_GID), H.tmpdir("755")
    finally(function() H.rm(d) H.rm(src) end)
    H.sh("mkdir " .. H.quote(d .. "/other") .. " && chown 4242:4242 " .. H.quote(d .. "/other"))
    local r = H.sh(string.format("mkdir %s/m && echo hi > %s/m/f && chown -R 1000:1000 %s/m && tar cf %s/a.tar -C %s m",
      H.quote(src), H.quote(src), H.quote(src), H.quote(src), H.quote(src)))
    assert(r.code == 0, r.err)
    local FIRST = 2000000000
    local p = H.profile(string.format("return { extends = \"default\", user = { map = { { 0, %d, 65536 } } },\n" ..
      "capabilities = { \"chown\", \"fowner\", \"dac_override\" },\n" ..
      "mounts = { ro_bind(%q, \"/in\"), bind(%q, \"/w\") } }\n", FIRST, src, d))
    r = H.lunshare({ "run", p, "--", "sh", "-c",
      "cd /w && tar xf /in/a.tar && echo new > mine && stat -c %u:%g m m/f mine && stat -c %u other" }, { mode = "root" })
    assert.equal(0, r.code, r.err)
    assert.same({ "1000:1000", "1000:1000", "0:0", "65534" }, H.lines(r.out))
    local theirs = (FIRST + 1000) .. ":" .. (FIRST + 1000)
    assert.equal(theirs, owner(d .. "/m"))
    assert.equal(theirs, owner(d .. "/m/f"))
    assert.equal(H.NOBODY_UID .. ":" .. H.NOBODY_GID, owner(d .. "/mine"))
    -- No host user has the id the unpacked files got.
    assert.is_false(H.sh("getent passwd " .. (FIRST + 1000)).code == 0)
    assert.equal("4242:4242", owner(d .. "/other"))
  end)

  it("as root with the default map, tar x of an archive of several owners gives every file to the directory's owner", function()
    -- #10's example with the default profile (map = "self": one id, no capabilities): tar
    -- cannot give the members their archive's owners (1000 and 2000 are not ids of the
    -- sandbox), says so and exits 2, and every file it unpacked belongs on the host to the
    -- directory's owner: never to host uid 1000 or 2000, never to an id no one can manage
    -- but root. With --no-same-owner (tar's own choice for this) it exits 0, the same.
    local d, src = dir_of(H.NOBODY_UID, H.NOBODY_GID), H.tmpdir("755")
    finally(function() H.rm(d) H.rm(src) end)
    local q = H.quote
    local r = H.sh(string.format("cd %s && mkdir a b && echo 1 > a/f && echo 2 > b/g && chown -R 1000:1000 a && " ..
      "chown -R 2000:2000 b && tar cf a.tar a b && tar tvf a.tar --numeric-owner", q(src)))
    assert(r.code == 0, r.err)
    assert.truthy(r.out:find("1000/1000", 1, true) and r.out:find("2000/2000", 1, true), r.out)
    local p = profile(string.format("ro_bind(%q, \"/in\"), bind(%q, \"/w\")", src, d))
    r = H.lunshare({ "run", p, "--", "sh", "-c", "cd /w && tar xf /in/a.tar 2>/dev/null; echo $?; " ..
      "mkdir n && tar xf /in/a.tar --no-same-owner -C n; echo $?; stat -c %u:%g a/f b/g n/a/f n/b/g" },
      { mode = "root" })
    assert.equal(0, r.code, r.err)
    assert.same({ "2", "0", "0:0", "0:0", "0:0", "0:0" }, H.lines(r.out))
    local want = H.NOBODY_UID .. ":" .. H.NOBODY_GID
    for _, f in ipairs({ "a", "a/f", "b", "b/g", "n", "n/a/f", "n/b/g" }) do
      assert.equal(want, owner(d .. "/" .. f), f)
    end
  end)

  it("as root, an overlay's upper directory is idmapped too", function()
    local low, d = H.tmpdir("755"), dir_of(H.NOBODY_UID, H.NOBODY_GID)
    finally(function() H.rm(low) H.rm(d) end)
    H.sh("mkdir " .. H.quote(d .. "/up") .. " " .. H.quote(d .. "/work") .. " && chown " ..
      H.NOBODY_UID .. ":" .. H.NOBODY_GID .. " " .. H.quote(d .. "/up") .. " " .. H.quote(d .. "/work"))
    local p = profile(string.format("overlay { \"/o\", lower = { %q }, upper = %q, work = %q }",
      low, d .. "/up", d .. "/work"))
    local r = H.lunshare({ "run", p, "--", "sh", "-c", "echo new > /o/n && stat -c %u /o/n" }, { mode = "root" })
    assert.equal(0, r.code, r.err)
    assert.equal("0\n", r.out)
    assert.equal(H.NOBODY_UID .. ":" .. H.NOBODY_GID, owner(d .. "/up/n"))
  end)

  it("as root, a filesystem that refuses idmapped mounts fails the run with one line", function()
    -- sysfs has no idmapped mounts.
    local p = profile("bind(\"/sys/kernel/mm\", \"/x\")")
    local r = H.lunshare({ "run", p, "--", "true" }, { mode = "root" })
    assert.equal(1, r.code)
    assert.equal(1, #H.lines(r.err), r.err)
    assert.matches("^lunshare: " .. p:gsub("%p", "%%%0") .. ":2: idmap_tree /sys/kernel/mm: the kernel or this " ..
      "filesystem refuses idmapped mounts", r.err)
    assert.matches("ro_bind", r.err)
    -- Read-only, the same bind runs.
    local ro = profile("ro_bind(\"/sys/kernel/mm\", \"/x\")")
    assert.equal(0, H.lunshare({ "run", ro, "--", "true" }, { mode = "root" }).code)
  end)

  it("rootless, a writable bind is a plain bind, and what is made belongs to the caller", function()
    local d = dir_of(H.NOBODY_UID, H.NOBODY_GID)
    finally(function() H.rm(d) end)
    local p = profile(string.format("bind(%q, \"/w\")", d))
    local plan = H.lunshare({ "explain", "--json", p }, { mode = "rootless" })
    assert.equal(0, plan.code, plan.err)
    assert.is_nil(plan.out:find("idmap", 1, true))
    local r = H.lunshare({ "run", p, "--", "sh", "-c", "echo x > /w/f && stat -c %u /w/f" }, { mode = "rootless" })
    assert.equal(0, r.code, r.err)
    assert.equal("0\n", r.out)
    assert.equal(H.NOBODY_UID .. ":" .. H.NOBODY_GID, owner(d .. "/f"))
  end)
end)
