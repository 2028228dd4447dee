-- readelf: the headers, sections and symbols of an untrusted ELF binary, by binutils'
-- readelf, whose parsers have had their share of fuzzing bugs. The binary is read-only
-- at /in/input and never run; readelf can write nothing of the host and reach no network.
local param = params {
  input = { description = "the ELF file to read (read-only at /in/input)", test = "/usr/bin/true" },
  what = { default = "--file-header", description = "what readelf prints: --file-header, --sections, --syms, --all, …" },
}

return {
  extends = "builtin:base-tool",
  description = "readelf on one untrusted binary: read-only, never run, no network, nothing writable",

  mounts = { ro_bind(param.input, "/in/input") },
  command = { "readelf", "--wide", param.what, "/in/input" },

  checks = {
    { "reads the header", prints = "ELF64" },
    { "lists the sections", set = { what = "--sections" }, prints = ".text" },
  },
}
