-- base-tool: what every recipe for one program on untrusted input shares. It is the
-- default sandbox (builtin:default: its own namespaces, the host's /usr read-only, the few
-- /etc files programs need, a fresh /proc, /dev and /tmp, nothing of /home, /root, /var or
-- /run, no capabilities, the default seccomp filter) with a PATH of Debian's own programs
-- only, no core dumps (a crashing parser must not leave its memory in a directory of
-- yours) and a bound on open files. default's checks come with it and hold for every
-- recipe that extends it: the caller's home and the other users' homes are out of reach,
-- so are the host's loopback services (the sandbox's network namespace has its own
-- loopback only), and nothing of the host is writable (its /tmp is its own tmpfs).
return {
  extends = "builtin:default",
  description = "Shared base: the default sandbox for one program, without network, home or core dumps",

  env = { set = { PATH = "/usr/bin:/bin" } },
  limits = { core = 0, nofile = 1024 },

  checks = {
    { "runs Debian's programs, without core dumps", run = { "sh", "-c", "echo $PATH; ulimit -c" },
      prints = "/usr/bin:/bin\n0\n" },
  },
}
