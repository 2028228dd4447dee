-- The default sandbox with outbound access through pasta, root and rootless alike, and the
-- host's port 18080 forwarded to port 8000 inside. tests/integration/usernet_spec.lua runs
-- it: `lunshare run docs/examples/user-network.lua -- curl https://deb.debian.org/`.
return {
  extends = "default",
  network = { mode = "user", ports = { "18080:8000" } },
}
