-- The default sandbox that reaches only the listed hosts, through a filtering proxy
-- outside: allowed.test on ports 80 and 443, every name below sub.test (not sub.test
-- itself), and port.test on port 8080 only. Anything else gets 403, and a program that
-- ignores HTTP_PROXY reaches nothing. tests/integration/usernet_spec.lua runs it in a
-- world where these names exist; for real use, list real names:
--   network = { egress = { "deb.debian.org", "*.pypi.org", "example.test:8443" } }
return {
  extends = "default",
  network = { egress = { "allowed.test", "*.sub.test", "port.test:8080" } },
}
