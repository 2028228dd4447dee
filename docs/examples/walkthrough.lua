-- The iproute2 walkthrough, the lunshare way: a named netns netns1, a veth pair veth1
-- (here) / veth1_peer (in netns1), both up, 10.0.0.1/24 and 10.0.0.2/24. A ping crosses
-- in both directions (one subnet, reachable both ways).
--
--   lunshare net up docs/examples/walkthrough.lua
--   ping -c1 10.0.0.2 && ip netns exec netns1 ping -c1 10.0.0.1
--   lunshare net down docs/examples/walkthrough.lua
return {
  description = "netns1 and a veth pair veth1 / veth1_peer on 10.0.0.0/24",
  hosts = { netns1 = {} },
  links = {
    { { name = "veth1", address = "10.0.0.1/24" },
      { host = "netns1", name = "veth1_peer", address = "10.0.0.2/24" } },
  },
}
