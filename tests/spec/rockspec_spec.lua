-- The rockspec says the version CMake builds, and LuaRocks accepts it. #unit
local H = require "helpers"

describe("the rockspec", function()
  it("is the project's version and passes luarocks lint", function()
    local version = H.read(H.root .. "/CMakeLists.txt"):match("project%(lunshare VERSION ([%d%.]+)")
    assert.truthy(version)
    local file = H.root .. "/lunshare-" .. version .. "-1.rockspec"
    local env = {}
    local chunk = assert(loadfile(file, "t", env))
    chunk()
    assert.equal("lunshare", env.package)
    assert.equal(version .. "-1", env.version)
    assert.equal("cmake", env.build.type)
    assert.equal("$(LIBDIR)", env.build.variables.LSH_LUA_CMOD_DIR)
    assert.equal("$(LUADIR)", env.build.variables.LSH_LUA_MOD_DIR)
    if H.sh("command -v luarocks").code ~= 0 then
      pending("luarocks is not installed")
      return
    end
    local r = H.sh("luarocks lint " .. H.quote(file))
    assert.equal(0, r.code, r.out .. r.err)
  end)
end)
