-- batch: a batch job with bounded CPU time and memory, in one work directory. The job
-- writes only /work, sees nothing of yours and has no network; when it spends its CPU
-- time it is killed (SIGXCPU), and an allocation past its address space fails (the job
-- sees ENOMEM, MemoryError, a failed malloc) instead of pushing the machine into swap.
-- These are per-process rlimits, which need no cgroup and work for any user; a cgroup's
-- limits.memory (the whole job, OOM-killed) needs a delegated cgroup for a user.
local param = params {
  cpu = { default = "10m", description = "the CPU time each process may use (limits.cpu)" },
  memory = { default = "2G", description = "the address space each process may map (limits.as)" },
  files = { default = "1G", description = "the largest file it may write (limits.fsize)" },
}

return {
  extends = "builtin:base-workdir",
  description = "a batch job in one directory with CPU time, memory and file size bounded",

  limits = { cpu = param.cpu, as = param.memory, fsize = param.files },
  command = { "sh", "-c", "exec ./job" },

  checks = {
    { "runs a job", run = { "sh", "-c", "seq 1000 | awk '{ s += $1 } END { print s }' > sum && cat sum" }, prints = "500500" },
    { "CPU time is bounded", set = { cpu = "1s" }, run = { "sh", "-c", "while :; do :; done" }, killed_by = "cpu" },
    { "memory is bounded", set = { memory = "256M" }, run = { "python3", "-c", "bytearray(1 << 30)" },
      fails = true, stderr = "MemoryError" },
    { "file size is bounded", set = { files = "1M" }, run = { "sh", "-c", "head -c 2M /dev/zero > big" },
      killed_by = "fsize" },
  },
}
