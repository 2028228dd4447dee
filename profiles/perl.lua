-- perl: perl on one script, read-only at /in/script.pl. Perl scripts passed around by
-- mail and forums run with all your rights; here the script sees the host's perl and
-- modules but none of your files, no network and nothing of the host to write.
local param = params {
  script = { description = "the Perl script to run (read-only at /in/script.pl)",
    test = { file = "print \"hello from perl $^V\\n\";\n" } },
}

return {
  extends = "builtin:base-tool",
  description = "perl on one script: the script read-only, no network, no home, nothing of the host writable",

  mounts = { ro_bind(param.script, "/in/script.pl") },
  command = { "perl", "/in/script.pl" },

  checks = {
    { "runs the script", prints = "hello from perl v5" },
  },
}
