-- python: python3 on one script you were given. The script is read-only at
-- /in/script.py; it runs isolated (-I: no user site-packages, no PYTHON* variables) with
-- the host's Python and libraries, and sees nothing of your files, has no network and
-- can write only its own /tmp. What it prints is its only way out.
local param = params {
  script = { description = "the Python script to run (read-only at /in/script.py)",
    test = { file = "import sys\nprint('hello from python', sys.version_info[0])\n" } },
}

return {
  extends = "builtin:base-tool",
  description = "python3 on one script: the script read-only, no network, no home, nothing of the host writable",

  mounts = { ro_bind(param.script, "/in/script.py") },
  command = { "python3", "-I", "/in/script.py" },

  checks = {
    { "runs the script", prints = "hello from python 3" },
    { "the script cannot change itself", run = { "python3", "-c", "open('/in/script.py', 'a')" },
      fails = true, stderr = { pattern = "Error: %[Errno %d+%]" } },
  },
}
