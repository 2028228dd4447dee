-- walkthrough: the iproute2 tutorial's network namespace as a sandbox. The tutorial
-- (and docs/examples/walkthrough.lua, the same as a topology file) makes a named netns
-- netns1, a veth pair veth1 / veth1_peer with the peer moved into it, 10.0.0.1/24 on the
-- host's end and 10.0.0.2/24 inside; `lunshare net up` builds that and keeps it until
-- `net down`. This recipe makes the same link for the life of one command: the sandbox's
-- network namespace is netns1's, veth1_peer is born inside it, veth1 is the host's end,
-- and both go away when the command ends. (Joining the topology's netns1 itself,
-- network = { join = "netns1" }, comes with joinable networks.) A host-side link needs
-- root (requires.root).
local param = params {
  host_address = { default = "10.0.0.1", description = "the host end's address, veth1 (a /24)" },
  address = { default = "10.0.0.2", description = "the sandbox's address, veth1_peer (a /24)" },
}

return {
  extends = "builtin:base-tool",
  description = "the iproute2 walkthrough: veth1 on the host, veth1_peer in the sandbox, 10.0.0.1 and 10.0.0.2 (root only)",

  requires = { root = true },
  network = { links = {
    veth { name = "veth1_peer", host = "veth1", address = param.address .. "/24", host_address = param.host_address .. "/24" },
  } },
  command = { "ping", "-c", "1", param.host_address },

  checks = {
    { "pings the host's end across the veth", run = { "ping", "-c", "1", "-W", "5", param.host_address },
      prints = "1 received" },
    { "has its end of the link and its address", run = { "ip", "-brief", "address", "show", "veth1_peer" },
      prints = param.address .. "/24" },
  },
}
