-- `cmake --install` gives a working executable, a Lua module a stock lua5.4 can require,
-- the shipped profiles, and a C library found through pkg-config. #integration
local H = require "helpers"

describe("install #install", function()
  local prefix
  setup(function()
    prefix = H.tmpdir()
    local P = H.quote(prefix)
    -- A whole build: slow by nature, on a busy machine slower still.
    local r = H.sh("cmake -S " .. H.quote(H.root) .. " -B " .. P .. "/build -DCMAKE_INSTALL_PREFIX=" .. P ..
      " >/dev/null && cmake --build " .. P .. "/build -j2 >/dev/null && cmake --install " .. P ..
      "/build >/dev/null && chmod -R a+rX " .. P, { timeout = 1800 })
    assert.equal(0, r.code, r.err)
  end)
  teardown(function() H.rm(prefix) end)

  -- Without LUNSHARE_ROOT (tests/run's checkout, whose profiles/ a stock lua5.4 would take
  -- for the shipped ones, unreadable to nobody in a 0700 checkout): the install's own.
  local function lua_env()
    return "env -u LUNSHARE_ROOT LUA_PATH=" .. H.quote(prefix .. "/share/lua/5.4/?.lua;" .. prefix .. "/share/lua/5.4/?/init.lua;;") ..
      " LUA_CPATH=" .. H.quote(prefix .. "/lib/lua/5.4/?.so;;")
  end

  it("installs the executable with its scripts and profiles inside", function()
    local r = H.sh("cd / && " .. H.quote(prefix .. "/bin/lunshare") .. " run default -- sh -c 'hostname'")
    assert.equal(0, r.code, r.err)
    assert.equal("lunshare\n", r.out)
    assert.equal("file", H.sh("test -f " .. H.quote(prefix .. "/share/lunshare/profiles/default.lua") .. " && echo file").out:gsub("\n", ""))
  end)

  for _, mode in ipairs(H.modes) do
    it("lets a stock lua5.4 require \"lunshare\" and run a profile (" .. mode .. ")", function()
      local r = H.sh(lua_env() .. " lua5.4 -e 'local l = require \"lunshare\"; " ..
        "print(l.version); print(os.exit(l.run(\"default\", {\"sh\", \"-c\", \"hostname; exit 4\"})))'", { mode = mode })
      assert.equal(4, r.code, r.err)
      assert.truthy(r.out:find("^0%.%d+%.%d+\nlunshare\n"), r.out)
    end)
  end

  it("finds the installed profiles from a stock lua5.4", function()
    local r = H.sh(lua_env() .. " lua5.4 -e 'local l = require \"lunshare\"; local p, f = l.load(\"default\"); print(f)'")
    assert.equal(0, r.code, r.err)
    assert.equal(prefix .. "/share/lunshare/profiles/default.lua\n", r.out)
  end)

  it("builds the embedding example, which loads a profile, sets a parameter, runs a command and reads its status",
    function()
      local pc = "PKG_CONFIG_PATH=" .. H.quote(prefix .. "/lib/pkgconfig")
      local exe = prefix .. "/run_profile"
      local b = H.sh(pc .. " cc -Wall -Wextra -Werror -o " .. H.quote(exe) .. " " ..
        H.quote(H.root .. "/tests/embed/run_profile.c") .. " $(" .. pc .. " pkg-config --cflags --libs lunshare lua5.4)" ..
        " -Wl,-rpath," .. H.quote(prefix .. "/lib") .. " && chmod 755 " .. H.quote(exe))
      assert.equal(0, b.code, b.err)
      local prof = H.profile([[
local param = params { word = { default = "unset", description = "what the command says" } }
return { extends = "builtin:default", description = "embedding", command = { "sh", "-c", "echo $0; exit 7", param.word } }
]])
      for _, mode in ipairs(H.modes) do
        local r = H.sh(lua_env() .. " " .. H.quote(exe) .. " " .. H.quote(prof) .. " word=hello sh -c 'echo " ..
          "$(hostname) says hi; exit 7'", { mode = mode })
        assert.equal(0, r.code, r.err)
        assert.truthy(r.out:match("^outside: net namespace %d+\nlunshare says hi\nstatus 7\n$"), r.out)
        -- The parameter reached the profile: its own command says it.
        local c = H.sh(lua_env() .. " " .. H.quote(exe) .. " " .. H.quote(prof) .. " word=hello", { mode = mode })
        assert.equal(0, c.code, c.out .. c.err)
        assert.truthy(c.out:match("\nhello\nstatus 7\n$"), c.out)
        local d = H.sh(lua_env() .. " " .. H.quote(exe) .. " " .. H.quote(prof) .. " wrod=hello true", { mode = mode })
        assert.equal(2, d.code, d.out .. d.err)
        assert.truthy(d.err:find("--set wrod: unknown parameter (did you mean 'word'?)", 1, true), d.err)
      end
    end)

  it("gives C programs a header and a library through pkg-config", function()
    local src = prefix .. "/embed.c"
    local f = assert(io.open(src, "w"))
    f:write([[
#include <lunshare.h>
#include <stdio.h>
int main(void) {
	struct lsh_err *err = NULL;
	uint64_t dev, ino;
	if (lsh_ns_id(0, lsh_ns_kind_by_name("net"), &dev, &ino, &err) < 0) { puts(err->msg); return 1; }
	lsh_err_set(&err, 2, "open %s", "x");
	printf("%s\n", err->msg);
	lsh_err_free(err);
	return ino > 0 ? 0 : 1;
}
]])
    f:close()
    local pc = "PKG_CONFIG_PATH=" .. H.quote(prefix .. "/lib/pkgconfig")
    local r = H.sh(pc .. " cc -o " .. H.quote(prefix .. "/embed") .. " " .. H.quote(src) .. " $(" .. pc ..
      " pkg-config --cflags --libs lunshare) -Wl,-rpath," .. H.quote(prefix .. "/lib") .. " && " ..
      H.quote(prefix .. "/embed"))
    assert.equal(0, r.code, r.err)
    assert.equal("open x: No such file or directory\n", r.out)
  end)
end)
