-- shell: an interactive bash with nothing of yours in reach. The host's programs are there
-- read-only, but not your home, not the other users', no network (a network namespace of
-- its own, loopback only) and nothing of the host to write: its home is a throwaway tmpfs
-- and so is /tmp. For trying a command you do not trust, or reproducing something in a
-- clean environment; whatever it leaves goes with it.
return {
  extends = "builtin:base-tool",
  description = "bash in a throwaway root: a private home, no network, nothing of the host writable",

  mounts = { tmpfs { "/home/sandbox", mode = "0700" } },
  cwd = "/home/sandbox",
  env = { set = { HOME = "/home/sandbox", SHELL = "/bin/bash", PS1 = "[lunshare] \\w\\$ " } },
  command = { "bash", "--norc", "--noprofile" },

  checks = {
    { "runs bash with a home of its own",
      run = { "bash", "-c", "echo kept > ~/note && cat ~/note && echo $HOME" }, prints = "kept\n/home/sandbox" },
    { "the shell's home leaves nothing behind", cannot_write_outside = "/home/sandbox" },
  },
}
