-- lua: lua5.4 on one script, the script read-only at /in/script.lua. Lua's standard
-- library can open files and run commands (io, os): here they reach only the sandbox's
-- read-only root and its own /tmp, with no network and nothing of yours.
local param = params {
  script = { description = "the Lua script to run (read-only at /in/script.lua)",
    test = { file = "print('hello from ' .. _VERSION)\n" } },
}

return {
  extends = "builtin:base-tool",
  description = "lua5.4 on one script: the script read-only, no network, no home, nothing of the host writable",

  mounts = { ro_bind(param.script, "/in/script.lua") },
  command = { "lua5.4", "/in/script.lua" },

  checks = {
    { "runs the script", prints = "hello from Lua 5.4" },
    { "os.execute reaches only the sandbox",
      run = { "lua5.4", "-e", "local ok = os.execute('touch /usr/x 2>/dev/null'); print(ok, io.open('/etc/shadow'))" },
      prints = "nil\tnil\t/etc/shadow: No such file or directory" },
  },
}
