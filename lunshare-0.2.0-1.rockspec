-- LuaRocks: `luarocks make` in a checkout (or `luarocks install lunshare-0.2.0-1.rockspec`)
-- builds with CMake and installs `require "lunshare"` (the Lua scripts and the C module
-- lunshare.core) into the rocks tree, with the lunshare executable, lunshare-probe, the
-- shipped profiles and the man pages beneath the tree's prefix. Needs Debian's build
-- dependencies (scripts/install-deps.sh): cmake, gcc, liblua5.4-dev, libcap-dev,
-- libmnl-dev, libseccomp-dev.
rockspec_format = "3.0"
package = "lunshare"
version = "0.2.0-1"
source = {
  url = "git+https://github.com/lunshare/lunshare.git",
  tag = "v0.2.0",
}
description = {
  summary = "A Linux sandbox: namespaces, mounts, veth and limits from declarative Lua profiles",
  detailed = [[
lunshare builds Linux namespaces (user, pid, mount, net, ipc, uts, cgroup, time), mounts,
id maps, veth links, capabilities, seccomp and limits from a declarative Lua profile,
through a small C core of kernel primitives. Recipes for common programs ship with it,
each with checks that `lunshare test` runs on the machine. `require "lunshare"` gives
Lua programs the same API the REPL has.]],
  homepage = "https://github.com/lunshare/lunshare",
  license = "MIT",
  labels = { "sandbox", "linux", "namespaces", "security" },
}
supported_platforms = { "linux" }
dependencies = { "lua >= 5.4, < 5.5" }
external_dependencies = {
  LIBCAP = { header = "sys/capability.h", library = "cap" },
  LIBSECCOMP = { header = "seccomp.h", library = "seccomp" },
  LIBMNL = { header = "libmnl/libmnl.h", library = "mnl" },
}
build = {
  type = "cmake",
  variables = {
    CMAKE_INSTALL_PREFIX = "$(PREFIX)",
    CMAKE_BUILD_TYPE = "Release",
    LSH_LUA_CMOD_DIR = "$(LIBDIR)",
    -- LuaRocks takes everything in $(LIBDIR) for Lua C modules: liblunshare (and its
    -- pkg-config file) go beside it instead, in the rock's own directory.
    CMAKE_INSTALL_LIBDIR = "clib",
    LSH_LUA_MOD_DIR = "$(LUADIR)",
  },
}
