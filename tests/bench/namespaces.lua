-- The sandbox tests/bench/startup.sh times: every namespace of the default profile, the
-- caller as root inside and the host name, but no new root and no seccomp filter, like
-- the `unshare` and `bwrap --dev-bind / /` commands it is compared with.
return {
  description = "Namespaces only, for the startup benchmark",
  namespaces = { "user", "mount", "pid", "net", "ipc", "uts", "cgroup", "time" },
  hostname = "lunshare",
  user = { uid = 0, gid = 0 },
  seccomp = false,
}
