-- sqlite3: query one untrusted database file. The database is bound read-only at
-- /in/database and opened with -readonly; sqlite3 runs with no network, no home (no
-- ~/.sqliterc, no history of yours) and nothing of the host writable. A database from
-- a stranger can hold triggers, views and malformed pages meant for a parser's bugs:
-- whatever they reach is this sandbox.
-- planets(name, moons): Mars 2, Jupiter 95 (made with sqlite3, PRAGMA page_size=512)
local planets = "U1FMaXRlIGZvcm1hdCAzAAIAAQEAQCAgAAAAAgAAAAIAAAAAAAAAAAAAAAEAAAAEAAAAAAAAAAAAAAABAAAAAAAAAAAAAAAA" ..
  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAACAC5jAQ0AAAABAboAAboAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" ..
  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" ..
  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" ..
  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" ..
  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" ..
  "AAAAAAAAAAAAAEQBBhcbGwFhdGFibGVwbGFuZXRzcGxhbmV0cwJDUkVBVEUgVEFCTEUgcGxhbmV0cyhuYW1lIHRleHQsIG1v" ..
  "b25zIGludCkNAAAAAgHpAAH2AekAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" ..
  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" ..
  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" ..
  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" ..
  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" ..
  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" ..
  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAALAgMbAUp1" ..
  "cGl0ZXJfCAEDFQFNYXJzAg=="

local param = params {
  database = { description = "the database file (read-only at /in/database)", test = { base64 = planets } },
  sql = { default = ".tables", description = "the SQL statement or dot-command to run" },
}

return {
  extends = "builtin:base-tool",
  description = "sqlite3 on one untrusted database, read-only: no network, no home, nothing writable",

  mounts = { ro_bind(param.database, "/in/database") },
  command = { "sqlite3", "-readonly", "/in/database", param.sql },

  checks = {
    { "lists the tables", prints = "planets" },
    { "answers a query", set = { sql = "select name from planets where moons > 10" }, prints = "Jupiter" },
    { "cannot change the database", set = { sql = "delete from planets" }, fails = true, stderr = "readonly" },
  },
}
