-- build: an offline build of one project with gcc and make. The project directory is
-- writable at /work and is all the build can change; it has no network (a build that
-- downloads is not reproducible, and a hostile Makefile cannot send anything anywhere),
-- cannot see $HOME (no ~/.ssh, no tokens in dotfiles, no ~/.netrc), and has bounds on CPU
-- time and address space so that a runaway build ends. The compilers, headers and
-- libraries are the host's, read-only.
local param = params {
  jobs = { type = "integer", default = 2, description = "how many jobs make runs at once (make -j)" },
  cpu = { default = "1h", description = "the CPU time the build may use (limits.cpu)" },
  memory = { default = "4G", description = "the address space each process may map (limits.as)" },
}

local hello = {
  ["hello.c"] = '#include <stdio.h>\nint main(void) { puts("hello, world"); return 0; }\n',
  Makefile = "hello: hello.c\n\tcc -O2 -o $@ $<\n",
}

return {
  extends = "builtin:base-workdir",
  description = "gcc and make on one project directory: offline, $HOME invisible, CPU and memory bounded",

  limits = { cpu = param.cpu, as = param.memory },
  command = { "make", "-j" .. param.jobs },

  checks = {
    { "builds and runs a C program", set = { work = { dir = hello } },
      run = { "sh", "-c", "make -s && ./hello" }, prints = "hello, world" },
    { "the build's output stays in the project", set = { work = { dir = hello } },
      run = { "sh", "-c", "make -s && ls" }, prints = "Makefile\nhello\nhello.c" },
  },
}
