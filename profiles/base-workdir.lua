-- base-workdir: base-tool with one host directory the program may write, at /work, and
-- nothing else of the host writable. For a build, a repository, the target of an
-- extraction, the output of a converter: the program gets the one directory its job is
-- about, and its checks prove that the directory is the only place it can write.
local param = params {
  work = { description = "the host directory the program works in, writable at /work (its working directory)",
    test = { dir = {} } },
}

return {
  extends = "builtin:base-tool",
  description = "Shared base: one host directory writable at /work, nothing else of the host writable",

  mounts = { bind(param.work, "/work") },
  cwd = "/work",

  checks = {
    without "nothing of the host is writable",
    { "writes nowhere but /work", cannot_write_outside = "/work" },
  },
}
