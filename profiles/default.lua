-- The default sandbox: every kind of namespace that works both for root and for an
-- unprivileged user, with root inside and the host name "lunshare". The boundary needs no
-- fields here: no capabilities, no_new_privs, the default seccomp filter, a new session
-- and keyring are what every profile with a user namespace gets.
return {
  description = "Own user, mount, pid, network, ipc, uts, cgroup and time namespaces",

  namespaces = { "user", "mount", "pid", "net", "ipc", "uts", "cgroup", "time" },
  hostname = "lunshare",

  -- Root inside is the caller outside (one id) for an unprivileged caller; for a root
  -- caller it is an unprivileged host range (root's /etc/subuid range, or 2000000000+),
  -- never host root.
  user = { uid = 0, gid = 0, map = "self" },

  -- A clean environment: the terminal and locale survive, everything else is dropped.
  env = {
    clear = true,
    keep = { "TERM", "LANG", "LC_ALL", "COLORTERM", "TZ" },
    set = { PATH = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin" },
  },

  command = { "/bin/sh" },
}
