-- offline: any command that must see no network at all: a network namespace of its own
-- with nothing in it but loopback (up, for programs that talk to themselves), no route
-- anywhere, no /etc/resolv.conf. The host's interfaces, its loopback services and its
-- abstract unix sockets are out of reach; everything else is base-tool's (no home,
-- nothing of the host writable). For a build step, a test suite or a tool you want to be
-- sure does not phone home.
return {
  extends = "builtin:base-tool",
  description = "any command with no network at all: loopback only, no route, no name resolution",

  network = "none",
  command = { "sh" },

  checks = {
    { "sees loopback only", run = { "awk", "NR > 2 { print $1 }", "/proc/net/dev" }, prints = { pattern = "^lo:\n$" } },
    { "has no route out", run = { "cat", "/proc/net/route" }, prints = { pattern = "^Iface[^\n]*\n$" } },
    { "resolves no names", run = { "getent", "hosts", "deb.debian.org" }, fails = true },
  },
}
