-- `cmake --install` gives a working executable, a Lua module a stock lua5.4 can require,
-- the shipped profiles, and a C library found through pkg-config. #integration
local H = require "helpers"

describe("install #install", function()
  local prefix
  setup(function()
    prefix = H.sh("mktemp -d -t lsh-install.XXXXXX").out:gsub("\n", "")
    local r = H.sh("cmake -S " .. H.root .. " -B " .. prefix .. "/build -DCMAKE_INSTALL_PREFIX=" .. prefix ..
      " >/dev/null && cmake --build " .. prefix .. "/build -j2 >/dev/null && cmake --install " .. prefix ..
      "/build >/dev/null")
    assert.equal(0, r.code, r.err)
    os.execute("chmod -R a+rX " .. prefix)
  end)
  teardown(function() os.execute("rm -rf " .. prefix) end)

  local function lua_env()
    return string.format("LUA_PATH='%s/share/lua/5.4/?.lua;%s/share/lua/5.4/?/init.lua;;' LUA_CPATH='%s/lib/lua/5.4/?.so;;'",
      prefix, prefix, prefix)
  end

  it("installs the executable with its scripts and profiles inside", function()
    local r = H.sh("cd / && " .. prefix .. "/bin/lunshare run default -- sh -c 'hostname'")
    assert.equal(0, r.code, r.err)
    assert.equal("lunshare\n", r.out)
    assert.equal("file", H.sh("test -f " .. prefix .. "/share/lunshare/profiles/default.lua && echo file").out:gsub("\n", ""))
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
    local pc = "PKG_CONFIG_PATH=" .. prefix .. "/lib/pkgconfig"
    local r = H.sh(pc .. " cc -o " .. prefix .. "/embed " .. src .. " $(" .. pc ..
      " pkg-config --cflags --libs lunshare) -Wl,-rpath," .. prefix .. "/lib && " .. prefix .. "/embed")
    assert.equal(0, r.code, r.err)
    assert.equal("open x: No such file or directory\n", r.out)
  end)
end)
