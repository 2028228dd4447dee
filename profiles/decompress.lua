-- decompress: one untrusted compressed stream (gzip, xz, bzip2) decompressed to
-- stdout. Decompressors are small parsers of hostile input too; the file is read-only
-- at /in/input and the tool can write nothing of the host and reach no network. Its
-- output is yours to redirect.
local param = params {
  input = { description = "the compressed file (read-only at /in/input)",
    test = { base64 = "H4sIAAAAAAACA8tIzcnJV0jOzy0oSi0uTk3hAgB7Q5ssEQAAAA==" } },
  tool = { values = { "gzip", "xz", "bzip2" }, default = "gzip", description = "the decompressor: gzip, xz or bzip2" },
}

return {
  extends = "builtin:base-tool",
  description = "gzip, xz or bzip2 -dc of one untrusted file to stdout: read-only, no network, nothing writable",

  mounts = { ro_bind(param.input, "/in/input") },
  command = { param.tool, "-dc", "/in/input" },

  checks = {
    { "decompresses gzip", prints = "hello compressed" },
    { "decompresses xz", set = { tool = "xz", input = { base64 = "/Td6WFoAAATm1rRGAgAhARwAAAAQz1jMAQAQaGVsbG8gY29tcHJlc3NlZAoAAAAAHBFFeVnxzqYAASkRMgpwDh+2830BAAAAAARZWg==" } }, prints = "hello compressed" },
    { "says when the data is not compressed", set = { input = { file = "plain text\n" } }, fails = true },
  },
}
