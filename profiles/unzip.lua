-- unzip: extract one untrusted zip archive into one directory. The archive is read-only
-- at /in/archive.zip and the target writable at /work, nothing else: a member named
-- ../x (zip slip) lands nowhere even when unzip is told to keep such paths (-:).
local good = "UEsDBBQAAAAAAAAAIQAYAS6eEwAAABMAAAAJAAAAaGVsbG8udHh0aGVsbG8gZnJvbSB0aGUgemlwClBLAQIUAxQAAAAAAAAA" ..
  "IQAYAS6eEwAAABMAAAAJAAAAAAAAAAAAAACkAQAAAABoZWxsby50eHRQSwUGAAAAAAEAAQA3AAAAOgAAAAAA"
-- hello.txt and ../escape.txt (made with Python's zipfile)
local evil = "UEsDBBQAAAAAAAAAIQAgMDo2BgAAAAYAAAAJAAAAaGVsbG8udHh0aGVsbG8KUEsDBBQAAAAAAAAAIQDjdvzOCAAAAAgAAAAN" ..
  "AAAALi4vZXNjYXBlLnR4dGVzY2FwZWQKUEsBAhQDFAAAAAAAAAAhACAwOjYGAAAABgAAAAkAAAAAAAAAAAAAAKQBAAAAAGhl" ..
  "bGxvLnR4dFBLAQIUAxQAAAAAAAAAIQDjdvzOCAAAAAgAAAANAAAAAAAAAAAAAACkAS0AAAAuLi9lc2NhcGUudHh0UEsFBgAA" ..
  "AAACAAIAcgAAAGAAAAAAAA=="

local param = params {
  archive = { description = "the zip archive to extract (read-only at /in/archive.zip)", test = { base64 = good } },
}

return {
  extends = "builtin:base-workdir",
  description = "unzip: extract one untrusted zip archive into one directory, nothing else writable",

  mounts = { ro_bind(param.archive, "/in/archive.zip") },
  command = { "unzip", "-o", "-d", "/work", "/in/archive.zip" },

  checks = {
    { "extracts into the directory", run = { "sh", "-c", "unzip -q /in/archive.zip && cat hello.txt" },
      prints = "hello from the zip" },
    { "a zip-slip member lands nowhere", set = { archive = { base64 = evil } },
      run = { "unzip", "-:", "-o", "/in/archive.zip" }, fails = true, stderr = "Read-only file system" },
  },
}
