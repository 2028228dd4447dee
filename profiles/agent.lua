-- agent: a workspace for a coding agent or any untrusted tool. The project directory is
-- writable at /work and is all of the host it can change; its home is a throwaway tmpfs
-- (no dotfiles, no shell history, no ~/.ssh keys, no tokens or credentials of yours); no
-- network (an allowlist of domains comes with network egress rules); limits so that a
-- runaway process ends (CPU time, address space, file size, open files). What it leaves
-- in the project is there for you to review; nothing else survives it.
local param = params {
  cpu = { default = "2h", description = "the CPU time each process may use (limits.cpu)" },
  memory = { default = "8G", description = "the address space each process may map (limits.as)" },
}

return {
  extends = "builtin:base-workdir",
  description = "a coding agent's workspace: one project writable, a throwaway home, no network, limits set",

  mounts = { tmpfs { "/home/agent", mode = "0700" } },
  env = { set = { HOME = "/home/agent", HISTFILE = "/dev/null", SHELL = "/bin/bash" } },
  limits = { cpu = param.cpu, as = param.memory, fsize = "4G", nofile = 4096 },
  command = { "bash", "--norc", "--noprofile" },

  checks = {
    { "works in the project", set = { work = { dir = { README = "read me\n" } } },
      run = { "sh", "-c", "cat README && echo done > result.txt && cat result.txt" }, prints = "read me\ndone" },
    { "no shell history of yours", cannot_read = "~/.bash_history" },
    { "no ssh keys", cannot_read = "~/.ssh" },
    { "no dotfiles or tokens", cannot_read = "~/.config" },
    { "a runaway process is stopped", set = { cpu = "1s" }, run = { "sh", "-c", "while :; do :; done" },
      killed_by = "cpu" },
  },
}
