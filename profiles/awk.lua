-- awk: one awk program over one untrusted text file (CSV, logs). awk's system() and
-- its pipes run commands: here they reach only the sandbox's read-only root, with no
-- network and nothing of yours. The input is read-only at /in/input.
local param = params {
  input = { description = "the text file to read (read-only at /in/input)",
    test = { file = "name,count\napples,3\npears,4\n" } },
  program = { default = "{ print }", description = "the awk program" },
  separator = { default = ",", description = "the field separator (awk -F)" },
}

return {
  extends = "builtin:base-tool",
  description = "awk on one untrusted text file: read-only, no network, nothing writable",

  mounts = { ro_bind(param.input, "/in/input") },
  command = { "awk", "-F", param.separator, param.program, "/in/input" },

  checks = {
    { "sums a column", set = { program = "NR > 1 { s += $2 } END { print s }" }, prints = "7" },
    { "system() cannot write the host", set = { program = 'BEGIN { exit system("echo x > /usr/x") }' }, fails = true },
  },
}
