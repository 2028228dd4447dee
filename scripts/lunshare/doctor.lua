-- `lunshare doctor`: what this kernel and machine allow, each check with the exact fix.
-- Probes ask the kernel (a clone into each namespace kind, each system call) rather than
-- guessing from versions; a probe's child exits at once and nothing is left behind.
local core = require "lunshare.core"
local schema = require "lunshare.schema"
local util = require "lunshare.util"

local M = {}

-- The kernel's own files (proc, sysfs), which lunshare names itself.
local read = util.read_kernel

-- LUNSHARE_SYSCTL_DIR lets the tests show doctor a machine other than this one.
local function sysctl(name)
  local dir = os.getenv("LUNSHARE_SYSCTL_DIR") or "/proc/sys"
  local v = read(dir .. "/" .. name:gsub("%.", "/"))
  return v and v:gsub("%s+$", "")
end

-- Clones a child into the given namespaces; true, or false and the error.
local function try_clone(kinds)
  local pid, pidfd_or_msg, errno = core.clone(kinds)
  if pid == 0 then core._exit(0) end
  if not pid then return false, pidfd_or_msg, errno end
  core.wait(pidfd_or_msg)
  pidfd_or_msg:close()
  return true
end

-- Each check returns a list of results { ok = bool, what = "…", fix = "…" or nil }.
function M.checks()
  local ids = core.ids()
  ids.user = core.user(ids.uid)
  local rootless = ids.euid ~= 0
  local out = {}
  local function add(ok, what, fix, optional)
    out[#out + 1] = { ok = ok, what = what, fix = fix, optional = optional }
  end

  local u = core.uname()
  add(true, "kernel " .. u.release .. " (" .. u.machine .. ")")

  -- User namespaces, and what usually blocks them for unprivileged users.
  local max = tonumber(sysctl("user.max_user_namespaces") or "")
  if max then
    add(max > 0, "user.max_user_namespaces = " .. max,
      max > 0 and nil or "sudo sysctl -w user.max_user_namespaces=15000")
  end
  local clone_ok = sysctl("kernel.unprivileged_userns_clone")
  if clone_ok then
    add(clone_ok == "1", "kernel.unprivileged_userns_clone = " .. clone_ok,
      clone_ok ~= "1" and "sudo sysctl -w kernel.unprivileged_userns_clone=1" or nil)
  end
  local aa = sysctl("kernel.apparmor_restrict_unprivileged_userns")
  if aa then
    add(aa == "0", "kernel.apparmor_restrict_unprivileged_userns = " .. aa,
      aa ~= "0" and ("sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0, or give " ..
        "lunshare an AppArmor profile with the 'userns' permission") or nil)
  end
  local ok, msg = try_clone({ "user" })
  add(ok, "create a user namespace" .. (rootless and "" or " (as root)") .. (ok and "" or ": " .. msg),
    not ok and "see the sysctl lines above; a container runtime may also forbid it (seccomp)" or nil)

  -- Each namespace kind, inside a user namespace when unprivileged, as run does it.
  for _, kind in ipairs(schema.NAMESPACES) do
    if kind ~= "user" then
      local kinds = rootless and { "user", kind } or { kind }
      local k_ok, k_msg = try_clone(kinds)
      add(k_ok, "create " .. (kind == "ipc" and "an " or "a ") .. kind .. " namespace" .. (k_ok and "" or ": " .. k_msg),
        not k_ok and (kind == "time" and "time namespaces need Linux 5.6 built with CONFIG_TIME_NS"
          or "this kernel lacks CONFIG_" .. kind:upper() .. "_NS or forbids it here") or nil)
    end
  end

  for _, call in ipairs({ "clone3", "pidfd_open", "close_range" }) do
    local has = core.has_syscall(call)
    add(has, call .. (has and "" or " is missing"), not has and "Linux 5.9 or newer has it" or nil)
  end
  local mount_api = core.has_syscall("open_tree") and core.has_syscall("move_mount") and core.has_syscall("fsopen")
  add(mount_api, "the new mount API (open_tree, move_mount, fsopen)" .. (mount_api and "" or " is missing"),
    not mount_api and "Linux 5.2 or newer has it; lunshare falls back to mount(2)" or nil)
  local setattr = core.has_syscall("mount_setattr")
  add(setattr, "mount_setattr (recursive read-only, idmapped mounts)" .. (setattr and "" or " is missing"),
    not setattr and "Linux 5.12 or newer has it; read-only binds fall back to per-mount remounts" or nil)
  local openat2 = core.has_syscall("openat2")
  add(openat2, "openat2 (mount targets resolved inside the new root)" .. (openat2 and "" or " is missing"),
    not openat2 and "Linux 5.6 or newer has it" or nil)

  -- The default seccomp filter of every run (errno and kill_process actions).
  local actions = read("/proc/sys/kernel/seccomp/actions_avail") or ""
  local sec_ok = actions:find("errno", 1, true) ~= nil and actions:find("kill_process", 1, true) ~= nil
  add(sec_ok, "seccomp filters" .. (sec_ok and "" or " are missing"),
    not sec_ok and "Linux 4.14 or newer built with CONFIG_SECCOMP_FILTER" or nil)
  if not rootless then
    local start = core.subid(ids.user, ids.uid, "/etc/subuid")
    add(true, "root inside a root caller's sandbox is host uid " ..
      (start and (tostring(start) .. " (root's /etc/subuid range)") or "2000000000 (lunshare's fixed range)"))
  end

  -- Multi-range rootless id maps need the setuid helpers and subordinate ranges.
  for _, h in ipairs({ { "newuidmap", "/etc/subuid", "uid" }, { "newgidmap", "/etc/subgid", "gid" } }) do
    local path
    for _, d in ipairs({ "/usr/bin/", "/bin/", "/usr/sbin/", "/sbin/" }) do
      if core.kind(d .. h[1]) == "file" then path = d .. h[1] break end
    end
    add(path ~= nil, h[1] .. (path and (" at " .. path) or " is missing") .. " (for user.map = \"subid\")",
      not path and "sudo apt-get install uidmap" or nil, true)
    local start, count = core.subid(ids.user, h[3] == "uid" and ids.uid or ids.gid, h[2])
    local who = ids.user or tostring(ids.uid)
    add(start ~= false and start ~= nil,
      start and string.format("%s grants %s ids %d-%d", h[2], who, start, start + count - 1)
        or (h[2] .. " has no range for " .. who .. " (for user.map = \"subid\")"),
      not start and string.format("sudo usermod --add-sub%ss 100000-165535 %s", h[3], who) or nil, true)
  end

  -- The helpers of network = "user" (pasta) and network = { egress = … } (tinyproxy), found
  -- where the executor looks for them (core/helper_ops.c), never in $PATH.
  local function helper(name)
    for _, d in ipairs({ "/usr/local/sbin/", "/usr/local/bin/", "/usr/sbin/", "/usr/bin/", "/sbin/", "/bin/" }) do
      local k = core.kind(d .. name)
      if k == "file" or k == "link" then return d .. name end -- /usr/bin/pasta is a link to passt
    end
  end
  for _, h in ipairs({ { "pasta", "passt", "network = \"user\"" }, { "tinyproxy", "tinyproxy", "network.egress" } }) do
    local path = helper(h[1])
    add(path ~= nil, h[1] .. (path and (" at " .. path) or " is missing") .. " (for " .. h[3] .. ")",
      not path and ("sudo apt-get install " .. h[2]) or nil, true)
  end
  -- pasta opens /dev/net/tun as the caller, inside the sandbox's user namespace.
  local tun = io.open("/dev/net/tun", "r+")
  add(tun ~= nil, "/dev/net/tun " .. (tun and "is usable" or "is not usable by this user") .. " (for network = \"user\")",
    not tun and "sudo chmod 0666 /dev/net/tun (Debian's default mode; sudo modprobe tun if it is missing)" or nil, true)
  if tun then tun:close() end

  -- cgroups: which version, and whether this user may create groups (delegation).
  if core.kind("/sys/fs/cgroup/cgroup.controllers") == "file" then
    local ctl = (read("/sys/fs/cgroup/cgroup.controllers") or ""):gsub("%s+$", "")
    add(true, "cgroup v2 (controllers: " .. (ctl == "" and "none" or ctl) .. ")")
    local own = (read("/proc/self/cgroup") or ""):match("0::(%S+)")
    local dir = own and ("/sys/fs/cgroup" .. own)
    local delegated = not rootless or (dir and io.open(dir .. "/cgroup.procs", "a") ~= nil)
    add(delegated, "cgroup delegation for this user" .. (delegated and "" or " is missing"),
      not delegated and "run under a delegated systemd scope: systemd-run --user --scope -p Delegate=yes lunshare …" or nil,
      true)
  else
    local v1 = {}
    for _, c in ipairs({ "memory", "pids", "cpu" }) do
      if core.kind("/sys/fs/cgroup/" .. c) == "dir" then v1[#v1 + 1] = c end
    end
    add(#v1 > 0, #v1 > 0 and ("cgroup v1 controllers: " .. table.concat(v1, ", ")) or "no cgroup controllers mounted",
      #v1 == 0 and "mount cgroup2 on /sys/fs/cgroup (systemd does this by default)" or nil)
    if #v1 > 0 and rootless then
      local w = io.open("/sys/fs/cgroup/" .. v1[1] .. "/cgroup.procs", "a")
      add(w ~= nil, "cgroup v1 write access for this user" .. (w and "" or " is missing"),
        not w and "limits need root, or a cgroup v2 delegated subtree" or nil, true)
      if w then w:close() end
    end
  end
  return out
end

-- Prints every check; exits 1 when something run needs is missing. Optional features
-- (multi-range id maps, cgroup limits for unprivileged users) only get a note.
function M.main()
  local failed, notes = 0, 0
  for _, r in ipairs(M.checks()) do
    local tag = r.ok and "ok    " or (r.optional and "note  " or "FAIL  ")
    io.stdout:write(tag, r.what, "\n")
    if not r.ok then
      if r.optional then notes = notes + 1 else failed = failed + 1 end
      if r.fix then io.stdout:write("      fix: ", r.fix, "\n") end
    end
  end
  if failed > 0 then
    io.stdout:write(string.format("%d check%s failed\n", failed, failed == 1 and "" or "s"))
  else
    io.stdout:write("everything run needs is available",
      notes > 0 and string.format(" (%d optional feature%s missing)", notes, notes == 1 and "" or "s") or "", "\n")
  end
  return failed == 0 and 0 or 1
end

return M
