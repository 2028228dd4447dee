-- diff: compare two untrusted trees, both read-only (/a and /b). Comparing what two
-- strangers sent needs to read both and write nothing: diff can change neither tree nor
-- anything else of the host, and reaches no network.
local param = params {
  a = { description = "the old tree or file (read-only at /a)", test = { dir = { ["f.txt"] = "one\ntwo\n" } } },
  b = { description = "the new tree or file (read-only at /b)", test = { dir = { ["f.txt"] = "one\nthree\n" } } },
}

return {
  extends = "builtin:base-tool",
  description = "diff -ru of two untrusted trees, both read-only: no network, nothing writable",

  mounts = { ro_bind(param.a, "/a"), ro_bind(param.b, "/b") },
  command = { "diff", "-ru", "/a", "/b" },

  checks = {
    { "shows what differs", exit = 1, prints = "+three" },
    { "same trees compare equal", set = { b = { dir = { ["f.txt"] = "one\ntwo\n" } } }, exit = 0 },
  },
}
