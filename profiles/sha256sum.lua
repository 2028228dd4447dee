-- sha256sum: the checksums of every file of an untrusted tree, read-only at /in, in a
-- stable order. Checking what you downloaded before trusting it should not need to
-- trust it: nothing of the host is writable, and there is no network.
local param = params {
  tree = { description = "the directory to checksum (read-only at /in)", test = { dir = { ["hello.txt"] = "hello\n" } } },
}

return {
  extends = "builtin:base-tool",
  description = "sha256sum of every file of one untrusted tree, read-only: no network, nothing writable",

  mounts = { ro_bind(param.tree, "/in") },
  cwd = "/in",
  command = { "sh", "-c", "find . -type f -print0 | sort -z | xargs -0r sha256sum" },

  checks = {
    { "checksums the files", prints = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03  ./hello.txt" },
  },
}
