-- git: git on one repository, writable at /work, and nothing else. No network: it can
-- commit, branch, rebase and log, but not fetch or push, and a hook or a filter in a
-- repository you cloned from a stranger runs with no home (no ~/.ssh keys, no
-- credential helpers, no ~/.gitconfig), no network and nothing else to write. Its
-- identity comes from the sandbox's own /etc/gitconfig.
return {
  extends = "builtin:base-workdir",
  description = "git on one repository: no network, no home, no keys, nothing else writable",

  mounts = {
    file("/etc/gitconfig", "[user]\n\tname = lunshare sandbox\n\temail = sandbox@localhost\n" ..
      "[safe]\n\tdirectory = /work\n[init]\n\tdefaultBranch = main\n"),
  },
  env = { set = { GIT_TERMINAL_PROMPT = "0" } },
  command = { "git", "status" },

  checks = {
    { "commits and logs",
      run = { "sh", "-c", "git init -q && echo hi > f && git add f && git commit -qm first && git log --format=%s" },
      prints = "first" },
    { "no ssh keys", cannot_read = "~/.ssh" },
    { "no git configuration of yours", cannot_read = "~/.gitconfig" },
  },
}
