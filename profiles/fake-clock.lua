-- fake-clock: a command that sees the machine as up for a long time: a time namespace
-- whose monotonic and boot-time clocks run ahead of the host's by a fixed offset (the
-- kernel offsets those two clocks only; the wall clock, CLOCK_REALTIME, is the host's
-- and cannot be faked by a namespace). For testing code that handles long uptimes,
-- timer wrap or monotonic deadlines, without touching the host's clocks.
local param = params {
  days = { type = "integer", default = 365, description = "how many days ahead the monotonic and boot-time clocks run" },
}

return {
  extends = "builtin:base-tool",
  description = "a time namespace whose monotonic and boot-time clocks run a fixed number of days ahead",

  time = { monotonic = param.days * 86400, boottime = param.days * 86400 },
  command = { "cat", "/proc/uptime" },

  checks = {
    { "uptime is a year ahead", run = { "awk", "{ print ($1 >= 365 * 86400) }", "/proc/uptime" }, prints = "1" },
    { "the monotonic clock too", set = { days = 1000 },
      run = { "python3", "-c", "import time; print(time.monotonic() >= 1000 * 86400)" }, prints = "True" },
    { "the wall clock is the host's",
      run = { "python3", "-c", "import time; print(time.time() > 1e9 and time.time() < 1e10)" }, prints = "True" },
  },
}
