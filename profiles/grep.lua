-- grep: search an untrusted tree, read-only at /in. Looking through what someone sent
-- (a dump, a source tarball) reads it all and needs to write nothing: grep can change
-- nothing of the host, and reaches no network.
local param = params {
  tree = { description = "the directory or file to search (read-only at /in)",
    test = { dir = { ["a.txt"] = "nothing here\n", sub = { ["b.txt"] = "the needle is here\n" } } } },
  pattern = { default = "needle", description = "the regular expression to look for (grep -E)" },
}

return {
  extends = "builtin:base-tool",
  description = "grep -rn through one untrusted tree, read-only: no network, nothing writable",

  mounts = { ro_bind(param.tree, "/in") },
  command = { "grep", "-rnE", "--", param.pattern, "/in" },

  checks = {
    { "finds the pattern", prints = "/in/sub/b.txt:1:the needle is here" },
    { "says when nothing matches", set = { pattern = "haystack" }, exit = 1 },
  },
}
