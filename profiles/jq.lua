-- jq: one filter over one untrusted JSON file. The file is read-only at
-- /in/input.json; jq can write nothing of the host, read nothing of yours and reach no
-- network, whatever the JSON holds (deep nesting, huge numbers, a parser bug).
local param = params {
  input = { description = "the JSON file (read-only at /in/input.json)",
    test = { file = '{"name": "lunshare", "tags": ["sandbox", "lua"], "stars": 3}\n' } },
  filter = { default = ".", description = "the jq filter to apply" },
}

return {
  extends = "builtin:base-tool",
  description = "jq on one untrusted JSON file: read-only, no network, nothing writable",

  mounts = { ro_bind(param.input, "/in/input.json") },
  command = { "jq", param.filter, "/in/input.json" },

  checks = {
    { "pretty-prints the document", prints = '"name": "lunshare"' },
    { "applies a filter", set = { filter = ".tags[1]" }, prints = '"lua"' },
    { "reads JSON on stdin too", run = { "jq", "-c", ".a" }, stdin = '{"a": [1, 2]}', prints = "[1,2]" },
  },
}
