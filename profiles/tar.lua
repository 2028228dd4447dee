-- tar: extract one untrusted archive into one directory. The archive is read-only at
-- /in/archive and the target directory writable at /work; nothing else of the host can
-- be written, so a member named ../../.bashrc or /etc/cron.d/x lands nowhere even when
-- tar is told to follow the archive's paths (-P), and ownership is never taken from the
-- archive. tar finds gzip, xz and bzip2 in the host's /usr.
local good = "H4sIAPxeD2sC/+3RQQrCMBQE0Kw9RU4gUUp7niKVCJVCjOLxjd0I7hXB9zbzmc0sfp7mednWew2fk5q+69Zs3jOl/fC6137o" ..
  "dynEFL7geqljaZPhP+Xn/+OxLOdY8xTHcsin27QJAAAAAAAAAAAA/LYH+LeuxwAoAAA="
-- ../escape.txt and /etc/lunshare-evil beside hello.txt (made with Python's tarfile)
local evil = "H4sIAPxeD2sC/+3VPQ4CIRCGYWpP4QVkQffnPGQlwYSoWVjj8QVtdBurxRjepxkyFBSTb3DW+4uM9yjWo5K+bZ81WdZ8+3bO" ..
  "/aFXndgqUcAcopnSk6JOLs9/I1ApKRsbRnO1K+6Ar/nX6jP/WulOkf8SXsM/sgEq1dg4Nn4+B2cmu7O3k//F/98t8q/3w4H8" ..
  "F8l/mjjhBwAAAAAAAAAAAID/9wAtHo/sACgAAA=="

local param = params {
  archive = { description = "the archive to extract (read-only at /in/archive; gzip, xz and bzip2 are found)",
    test = { base64 = good } },
}

return {
  extends = "builtin:base-workdir",
  description = "tar: extract one untrusted archive into one directory, nothing else writable",

  mounts = { ro_bind(param.archive, "/in/archive") },
  command = { "tar", "--no-same-owner", "--no-same-permissions", "-C", "/work", "-xf", "/in/archive" },

  checks = {
    { "extracts into the directory", run = { "sh", "-c", "tar --no-same-owner -xf /in/archive && cat hello.txt" },
      prints = "hello from the archive" },
    { "a hostile archive's own paths land nowhere", set = { archive = { base64 = evil } },
      run = { "tar", "-P", "--no-same-owner", "-xf", "/in/archive" }, fails = true, stderr = "Read-only file system" },
  },
}
