-- patch: apply an untrusted patch to one directory. The patch is read-only at
-- /in/patch and the tree writable at /work, nothing else: a patch naming ../x or /etc/x
-- (patch refuses such names; a patch has reached past its tree before) can change only
-- that tree.
local param = params {
  patch = { description = "the patch to apply (read-only at /in/patch)",
    test = { file = "--- a/hello.txt\n+++ b/hello.txt\n@@ -1 +1 @@\n-hello\n+hello, patched\n" } },
  strip = { type = "integer", default = 1, description = "leading path components to strip from its names (-p)" },
}

return {
  extends = "builtin:base-workdir",
  description = "patch: apply an untrusted patch to one directory, nothing else writable",

  mounts = { ro_bind(param.patch, "/in/patch") },
  command = { "patch", "-p" .. param.strip, "--batch", "-i", "/in/patch" },

  checks = {
    { "applies the patch", set = { work = { dir = { ["hello.txt"] = "hello\n" } } },
      run = { "sh", "-c", "patch -s -p1 --batch -i /in/patch && cat hello.txt" }, prints = "hello, patched" },
    { "a patch naming ../ changes nothing outside",
      set = { patch = { file = "--- a/../escape.txt\n+++ b/../escape.txt\n@@ -0,0 +1 @@\n+escaped\n" } },
      run = { "patch", "-p1", "--batch", "-i", "/in/patch" }, fails = true, prints = "dangerous" },
  },
}
