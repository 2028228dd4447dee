-- http-server: python3's http.server serving one directory, read-only, on a veth
-- address of its own. The sandbox has a veth pair to the host (its end eth0 with
-- ADDRESS, the host's end lsweb0 with HOST_ADDRESS) and nothing else of the network:
-- not the host's loopback services, not its other interfaces' networks unless you route
-- them. The directory is read-only at /srv, so a request can read it but change nothing;
-- nothing of the host is writable and there is no home.
-- A host-side link needs root (requires.root). The veth is the point of this recipe, and
-- check does not warn about it (a veth grants the host end's address, listed by diff).
local param = params {
  site = { description = "the directory to serve (read-only at /srv)",
    test = { dir = { ["index.html"] = "<p>served by lunshare</p>\n" } } },
  address = { default = "10.0.0.2", description = "the sandbox's address on its veth (a /24)" },
  host_address = { default = "10.0.0.1", description = "the host end's address (a /24)" },
  port = { type = "integer", default = 8000, description = "the port it listens on" },
}

local url = "http://" .. param.address .. ":" .. param.port .. "/index.html"
-- The server in the background, then its page fetched through its own veth address.
local serve_and_fetch = "python3 -m http.server --bind " .. param.address .. " --directory /srv " .. param.port ..
  " >/dev/null 2>&1 & for i in $(seq 100); do python3 -c 'import sys, urllib.request; " ..
  "sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=2).read().decode())' " .. url ..
  " 2>/dev/null && exit 0; sleep 0.1; done; exit 1"

return {
  extends = "builtin:base-tool",
  description = "python3 -m http.server on a veth address, serving one directory read-only (root only)",

  requires = { root = true },
  mounts = { ro_bind(param.site, "/srv") },
  network = { links = {
    veth { name = "eth0", host = "lsweb0", address = param.address .. "/24", host_address = param.host_address .. "/24" },
  } },
  command = { "python3", "-m", "http.server", "--bind", param.address, "--directory", "/srv", tostring(param.port) },

  checks = {
    { "serves the directory on its veth address", run = { "sh", "-c", serve_and_fetch }, prints = "served by lunshare" },
    { "the site is read-only", run = { "sh", "-c", "echo x > /srv/index.html" }, fails = true },
  },
}
