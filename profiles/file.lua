-- file: what kind of file an untrusted file is, by libmagic. libmagic parses every
-- format it knows a little (and has had its CVEs doing so): the file is read-only at
-- /in/input, and file can write nothing of the host and reach no network.
local param = params {
  input = { description = "the file to identify (read-only at /in/input)", test = { file = "%PDF-1.4\n" } },
}

return {
  extends = "builtin:base-tool",
  description = "file(1) on one untrusted file: read-only, no network, nothing writable",

  mounts = { ro_bind(param.input, "/in/input"), ro_bind_try "/etc/magic" },
  command = { "file", "--brief", "/in/input" },

  checks = {
    { "identifies a file", prints = "PDF document" },
  },
}
