-- default: the default sandbox, every kind of namespace that works both for root and for an
-- unprivileged user, with root inside and the host name "lunshare", and a root of its own:
-- the host's /usr read-only, the few /etc files programs need, a fresh /proc and /dev, a
-- private /tmp, and nothing of /home, /root, /var or /run. The boundary needs no fields
-- here: no capabilities, no_new_privs, the default seccomp filter, a new session and
-- keyring are what every profile gets unless it says otherwise. Its checks (lunshare test
-- default) hold for every recipe that extends it, unless the recipe drops one (without).
return {
  description = "Own namespaces and a read-only root with the host's /usr",

  namespaces = { "user", "mount", "pid", "net", "ipc", "uts", "cgroup", "time" },
  hostname = "lunshare",

  -- Root inside is the caller outside (one id) for an unprivileged caller; for a root
  -- caller it is an unprivileged host range (root's /etc/subuid range, or 2000000000+),
  -- never host root.
  user = { uid = 0, gid = 0, map = "self" },

  -- The root is a tmpfs, read-only once built; only /tmp and /dev/shm are writable.
  root = { mode = "0755", readonly = true },
  mounts = {
    ro_bind "/usr",
    -- The links of a merged-/usr system (Debian 12).
    symlink("usr/bin", "/bin"),
    symlink("usr/sbin", "/sbin"),
    symlink("usr/lib", "/lib"),
    symlink("usr/lib64", "/lib64"),

    -- What the dynamic linker, name lookups, time zones and TLS read from /etc.
    ro_bind_try "/etc/ld.so.cache",
    ro_bind_try "/etc/nsswitch.conf",
    ro_bind_try "/etc/localtime",
    ro_bind_try "/etc/ssl/certs",
    ro_bind_try "/etc/ca-certificates",
    ro_bind_try "/etc/alternatives",
    file("/etc/passwd", "root:x:0:0:root:/tmp:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"),
    file("/etc/group", "root:x:0:\nnogroup:x:65534:\n"),
    -- {hostname}: the profile's hostname, a child's too.
    file { "/etc/hostname", template = "{hostname}\n" },
    file { "/etc/hosts", template = "127.0.0.1 localhost {hostname}\n::1 localhost\n" },

    proc "/proc",
    dev "/dev",
    tmpfs { "/tmp", mode = "1777" },
  },

  cwd = "/",

  -- A clean environment: the terminal and locale survive, everything else is dropped.
  env = {
    clear = true,
    keep = { "TERM", "LANG", "LC_ALL", "LC_CTYPE", "COLORTERM", "TZ" },
    set = { PATH = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin", HOME = "/tmp" },
  },

  command = { "/bin/sh" },

  checks = {
    { "runs a command as root in namespaces of its own", run = { "sh", "-c", "id -u; hostname" },
      prints = "0\nlunshare\n" },
    { "the caller's home is hidden", cannot_read = "~" },
    { "other users' homes are hidden", cannot_read = "/home" },
    { "the host's loopback is out of reach", cannot_reach = "127.0.0.1" },
    { "nothing of the host is writable", cannot_write_outside = "/tmp" },
  },
}
