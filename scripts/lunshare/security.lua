-- Profile area: the boundary: capabilities, no_new_privs, seccomp, rlimits, cgroups, and
-- the session. Secure without the profile asking: no capabilities, no_new_privs, the
-- default seccomp filter, a new session and keyring; a profile loosens each explicitly,
-- and `check` warns when it does.
local core = require "lunshare.core"
local source_map = require "lunshare.source_map"
local util = require "lunshare.util"

local M = {}

M.FIELDS = { "capabilities", "no_new_privs", "seccomp", "limits", "terminal", "keep_fds", "allow_setid_files" }

-- The capabilities that make a setuid, setgid or file-capability file through a writable
-- host path: fsetid keeps the bits over a chmod by another group or a write, setfcap
-- writes security.capability. Dropped there unless allow_setid_files.
M.SETID_CAPS = { "fsetid", "setfcap" }

-- Profile helpers this area offers (names visible inside profiles).
M.constructors = {}

-- Every capability name libcap knows, in the kernel's order, without the "cap_" prefix.
M.CAPS = core.caps

-- setrlimit resources and the unit of their values.
M.RLIMITS = {
  as = "size", core = "size", cpu = "seconds", data = "size", fsize = "size", locks = "count",
  memlock = "size", msgqueue = "size", nice = "count", nofile = "count", nproc = "count",
  rss = "size", rtprio = "count", rttime = "microseconds", sigpending = "count", stack = "size",
}
-- cgroup limits, and the wall-clock limit (kept by the supervisor), in the same `limits`
-- table.
M.CGROUP_LIMITS = { "memory", "pids", "cpus", "time" }
-- Between the SIGTERM and the SIGKILL that end a run past its limits.time.
M.TIME_GRACE_MS = 5000

-- errno names and their numbers, as the C library knows them.
M.ERRNO = core.errno

-- The default filter, in the spirit of Flatpak's and of what bubblewrap users load: what
-- a sandboxed program never needs and what has served to escape or attack the kernel.
-- Each rule: { errno, syscall, condition..., group = "@name", why = "…" }. A profile lifts
-- a rule with `seccomp.allow = { "ptrace" }` or a whole group (`"@mount"`).
--
-- A condition compares argument N with a value, through a mask: "a1&0xffffffff==0x5412".
local function masked(arg, mask, value) return string.format("a%d&0x%x==0x%x", arg, mask, value) end
-- An ioctl request is an unsigned int: the kernel reads its low 32 bits, seccomp all 64.
local function ioctl_is(request) return masked(1, core.UINT_MAX, request) end
local function flag_set(arg, flag) return masked(arg, flag, flag) end
M.DEFAULT_SECCOMP = {
  { "EPERM", "ioctl", ioctl_is(core.TIOCSTI), group = "@tty", name = "TIOCSTI",
    why = "TIOCSTI: push keys into the terminal's input (CVE-2017-5226); the mask catches high bits the kernel ignores" },
  { "EPERM", "ioctl", ioctl_is(core.TIOCLINUX), group = "@tty", name = "TIOCLINUX", why = "TIOCLINUX: console selection and paste" },
  { "EPERM", "keyctl", group = "@keyring", why = "kernel keyrings are not namespaced" },
  { "EPERM", "add_key", group = "@keyring", why = "kernel keyrings are not namespaced" },
  { "EPERM", "request_key", group = "@keyring", why = "kernel keyrings are not namespaced" },
  { "EPERM", "ptrace", group = "@ptrace", why = "tracing other processes" },
  { "EPERM", "process_vm_readv", group = "@ptrace", why = "reading other processes' memory" },
  { "EPERM", "process_vm_writev", group = "@ptrace", why = "writing other processes' memory" },
  { "EPERM", "perf_event_open", group = "@perf", why = "kernel attack surface, side channels" },
  { "EPERM", "bpf", group = "@bpf", why = "kernel attack surface" },
  { "EPERM", "userfaultfd", group = "@userfaultfd", why = "widens kernel race windows for exploits" },
  { "EPERM", "io_uring_setup", group = "@io_uring",
    why = "a second system call interface whose operations seccomp never sees; a long record of kernel exploits" },
  { "EPERM", "io_uring_enter", group = "@io_uring", why = "io_uring: operations seccomp never sees" },
  { "EPERM", "io_uring_register", group = "@io_uring", why = "io_uring: operations seccomp never sees" },
  { "EPERM", "kexec_load", group = "@kexec", why = "replaces the running kernel" },
  { "EPERM", "kexec_file_load", group = "@kexec", why = "replaces the running kernel" },
  { "EPERM", "init_module", group = "@module", why = "loads kernel code" },
  { "EPERM", "finit_module", group = "@module", why = "loads kernel code" },
  { "EPERM", "delete_module", group = "@module", why = "unloads kernel code" },
  { "EPERM", "mount", group = "@mount", why = "the filesystem view is fixed before exec" },
  { "EPERM", "umount", group = "@mount", why = "the filesystem view is fixed before exec" },
  { "EPERM", "umount2", group = "@mount", why = "the filesystem view is fixed before exec" },
  { "EPERM", "pivot_root", group = "@mount", why = "the filesystem view is fixed before exec" },
  { "EPERM", "open_tree", group = "@mount", why = "the filesystem view is fixed before exec" },
  { "EPERM", "move_mount", group = "@mount", why = "the filesystem view is fixed before exec" },
  { "EPERM", "fsopen", group = "@mount", why = "the filesystem view is fixed before exec" },
  { "EPERM", "fsconfig", group = "@mount", why = "the filesystem view is fixed before exec" },
  { "EPERM", "fsmount", group = "@mount", why = "the filesystem view is fixed before exec" },
  { "EPERM", "fspick", group = "@mount", why = "the filesystem view is fixed before exec" },
  { "EPERM", "mount_setattr", group = "@mount", why = "the filesystem view is fixed before exec" },
  { "EINVAL", "personality", "a0!=0", group = "@personality",
    why = "only PER_LINUX: no READ_IMPLIES_EXEC, no ADDR_NO_RANDOMIZE" },
  { "EPERM", "clone", flag_set(0, core.CLONE_NEWUSER), group = "@userns",
    why = "no nested user namespace (its capabilities reach more kernel code)" },
  { "EPERM", "unshare", flag_set(0, core.CLONE_NEWUSER), group = "@userns",
    why = "no nested user namespace" },
  { "ENOSYS", "clone3", group = "@userns",
    why = "its flags are behind a pointer seccomp cannot read; libc falls back to clone" },
  { "EPERM", "open_by_handle_at", group = "@handle", why = "opens files by handle, around the mount view" },
  { "EPERM", "acct", group = "@system", why = "host process accounting" },
  { "EPERM", "swapon", group = "@system", why = "host swap" },
  { "EPERM", "swapoff", group = "@system", why = "host swap" },
  { "EPERM", "reboot", group = "@system", why = "host power" },
  { "EPERM", "syslog", group = "@system", why = "the kernel log" },
  { "EPERM", "settimeofday", group = "@clock", why = "the host clock" },
  { "EPERM", "clock_settime", group = "@clock", why = "the host clock" },
  { "EPERM", "clock_adjtime", group = "@clock", why = "the host clock" },
  { "EPERM", "adjtimex", group = "@clock", why = "the host clock" },
  { "EPERM", "iopl", group = "@rawio", why = "raw I/O ports" },
  { "EPERM", "ioperm", group = "@rawio", why = "raw I/O ports" },
}

-- @setid-files: no setuid or setgid file is made. What the sandbox writes through a
-- writable bind is on the host, where the host's mount honours the bits nosuid strips only
-- from the sandbox's own: a setuid file there is one of its owner's (host root's, through
-- a root caller's idmapped bind) that any local user runs. Inside, no_new_privs makes the
-- bits useless, so a refused chmod costs a program nothing it could use. Each mode bit is
-- a rule of its own (rules on one call are or'ed, conditions of one rule and'ed); the
-- planner adds the group whenever a host path is writable, whatever the profile's filter.
local SETID_WHY = "@setid-files: no setuid or setgid file on the host through a writable bind (no_new_privs makes the bits " ..
  "useless inside)"
M.SETID_SECCOMP = {}
local function setid(syscall, mode_arg, flags_arg, flag, why)
  for _, bit in ipairs({ core.S_ISUID, core.S_ISGID }) do
    local r = { "EPERM", syscall, group = "@setid-files", why = why or SETID_WHY }
    if flags_arg then r[#r + 1] = flag_set(flags_arg, flag) end
    r[#r + 1] = flag_set(mode_arg, bit)
    M.SETID_SECCOMP[#M.SETID_SECCOMP + 1] = r
  end
end
setid("chmod", 1)
setid("fchmod", 1)
setid("fchmodat", 2)
setid("fchmodat2", 2)
setid("creat", 1)
for _, flag in ipairs({ core.O_CREAT, core.O_TMPFILE }) do
  setid("open", 2, 1, flag)
  setid("openat", 3, 2, flag)
end
setid("mknod", 1)
setid("mknodat", 2)
M.SETID_SECCOMP[#M.SETID_SECCOMP + 1] = { "ENOSYS", "openat2", group = "@setid-files",
  why = "@setid-files: its mode (open_how) is behind a pointer seccomp cannot read; callers fall back to openat" }
-- Only the calls this libseccomp knows (fchmodat2 is Linux 6.6): a kernel without the
-- call refuses it with ENOSYS already.
do
  local known = {}
  for _, r in ipairs(M.SETID_SECCOMP) do
    if core.seccomp_check({ "allow " .. r[2] }) == true then
      known[#known + 1] = r
      M.DEFAULT_SECCOMP[#M.DEFAULT_SECCOMP + 1] = r
    end
  end
  M.SETID_SECCOMP = known
end

local function groups()
  local g, seen = {}, {}
  for _, r in ipairs(M.DEFAULT_SECCOMP) do
    if not seen[r.group] then g[#g + 1], seen[r.group] = r.group, true end
  end
  return g
end
M.SECCOMP_GROUPS = groups()

-- ---- values with units ---------------------------------------------------------------

local SIZE = { [""] = 1, k = 1024, m = 1024 ^ 2, g = 1024 ^ 3, t = 1024 ^ 4 }
-- microseconds per unit
local TIME = { us = 1, ms = 1000, s = 1000000, m = 60000000, h = 3600000000, d = 86400000000 }

-- A value of a limit: an integer, "unlimited", or a string with a unit. Returns the
-- number (-1 for unlimited) or nil and what was expected.
function M.parse_value(v, unit)
  if v == "unlimited" or v == "infinity" then return -1 end
  if math.type(v) == "integer" then
    if v < 0 then return nil, "expected a value >= 0" end
    return v
  end
  if type(v) ~= "string" then
    return nil, "expected an integer or a string with a unit, got " .. type(v)
  end
  if unit == "size" then
    local n, u = v:match("^(%d+%.?%d*)%s*([kKmMgGtT]?)i?[bB]?$")
    if not n then return nil, "expected a size like \"512M\", \"4k\", \"1G\" or \"unlimited\", got \"" .. v .. "\"" end
    return math.floor(tonumber(n) * SIZE[u:lower()])
  elseif unit == "seconds" or unit == "microseconds" then
    local total, rest = 0, v
    while rest ~= "" do
      local n, u, tail = rest:match("^(%d+)%s*(%a+)%s*(.*)$")
      if not n or not TIME[u] then
        return nil, "expected a duration like \"1h\", \"30m\", \"90s\" or \"1h30m\", got \"" .. v .. "\""
      end
      total, rest = total + tonumber(n) * TIME[u], tail
    end
    if unit == "seconds" then return math.ceil(total / 1000000) end
    return math.floor(total)
  end
  local n = v:match("^%d+$")
  if not n then return nil, "expected a count or \"unlimited\", got \"" .. v .. "\"" end
  return tonumber(n)
end

-- limits.time in milliseconds: an integer counts seconds, a string is a duration
-- ("30s", "1m30s", "500ms"). nil and what was expected otherwise.
function M.time_ms(v)
  if math.type(v) == "integer" then
    if v <= 0 then return nil, "expected a number of seconds above 0, or a duration like \"30s\"" end
    return v * 1000
  end
  if type(v) ~= "string" or v == "unlimited" or v == "infinity" then
    return nil, "expected a duration like \"30s\", \"5m\" or \"1h30m\", or a number of seconds"
  end
  local us, err = M.parse_value(v, "microseconds")
  if not us then return nil, err end
  if us < 1000 then return nil, "expected a duration of at least 1ms, like \"30s\"" end
  return us // 1000
end

local function rlimit_name(k)
  if type(k) ~= "string" then return nil end
  local n = k:lower():gsub("^rlimit_", "")
  return M.RLIMITS[n] and n or nil
end

-- soft and hard of a limit: a single value for both, or { soft = , hard = }, or { s, h }.
local function soft_hard(v, unit)
  if type(v) == "table" then
    local s, h = v.soft or v[1], v.hard or v[2]
    local sv, serr = M.parse_value(s, unit)
    if sv == nil then return nil, "soft: " .. serr end
    local hv, herr = M.parse_value(h == nil and s or h, unit)
    if hv == nil then return nil, "hard: " .. herr end
    if hv >= 0 and (sv < 0 or sv > hv) then return nil, "the soft limit is above the hard limit" end
    return sv, hv
  end
  local x, err = M.parse_value(v, unit)
  if x == nil then return nil, err end
  return x, x
end

-- ---- capabilities --------------------------------------------------------------------

-- "CAP_NET_BIND_SERVICE", "net_bind_service" → "net_bind_service", or nil.
function M.cap_name(name)
  if type(name) ~= "string" then return nil end
  local n = name:lower():gsub("^cap_", "")
  return util.contains(M.CAPS, n) and n or nil
end

-- ---- seccomp -------------------------------------------------------------------------

local ACTIONS = { "allow", "deny", "kill", "log" }

local syscall_names
local function known_syscall(name)
  return core.seccomp_check({ "allow " .. name }) == true
end
local function syscall_suggest(name)
  syscall_names = syscall_names or core.seccomp_syscalls()
  return util.suggest(name, syscall_names)
end

local function errno_number(e)
  if math.type(e) == "integer" and e > 0 and e <= core.MAX_ERRNO then return e end
  if type(e) == "string" then return M.ERRNO[e:upper()] end
  return nil
end

-- Parses a rules file: one rule a line, "ACTION SYSCALL [CONDITION…]" where ACTION is
-- allow, kill, log, deny or deny:ERRNO (EPERM by default); '#' starts a comment. The file
-- is named by a profile, which may be a stranger's: it is read through the bounded reader,
-- and an error says which line and what was expected without a word of the line (a
-- profile naming /etc/shadow must not get its lines printed), not even a suggestion built
-- from it. It stops at the first error: a list of errors would tell how many lines, and
-- which ones, a file that is no rules file has (its line count, where its blank lines are).
function M.read_rules(path)
  local text, err = util.read_file(path)
  if not text then return nil, { { line = nil, msg = "cannot read seccomp rules: " .. tostring(err) } } end
  local rules, n = {}, 0
  for line in (text:gsub("\n$", "") .. "\n"):gmatch("([^\n]*)\n") do
    n = n + 1
    line = line:gsub("#.*$", ""):gsub("^%s+", ""):gsub("%s+$", "")
    if line ~= "" then
      local words = {}
      for w in line:gmatch("%S+") do words[#words + 1] = w end
      local act, e = words[1]:match("^(%a+):?(.*)$")
      local conds = { table.unpack(words, 3) }
      local r = { action = act, errno = act == "deny" and (e ~= "" and e or "EPERM") or nil,
        syscall = words[2], conds = conds, origin = path .. ":" .. n }
      local why
      if not util.contains(ACTIONS, act) or (act ~= "deny" and e ~= "") then
        why = "unknown action; expected allow, deny[:ERRNO], kill or log"
      elseif not words[2] then
        why = "expected a system call after the action"
      elseif act == "deny" and not errno_number(math.tointeger(tonumber(e)) or r.errno) then
        why = "unknown errno; expected a name like EPERM or a number from 1 to " .. core.MAX_ERRNO
      elseif not known_syscall(words[2]) then
        why = "unknown system call; expected a name as in syscalls(2)"
      elseif #conds > 0 and core.seccomp_check({ M.rule_string(r) }) ~= true then
        why = "bad condition; expected aN[&MASK]OP VALUE, N from 0 to 5, OP one of == != < <= > >="
      end
      if why then return nil, { { line = n, msg = why } } end
      rules[#rules + 1] = r
    end
  end
  return rules
end

-- A relative rules file is found beside the profile file that names it (which, with
-- extends, may be a parent's): `from` is that file.
local function resolve_file(from, file)
  if file:sub(1, 1) == "/" then return file end
  local dir = (from or ""):match("^(.*)/[^/]*$")
  return dir and (dir .. "/" .. file) or file
end

local function naming_file(profile)
  local o = source_map.origin(profile, "seccomp.file")
  return (source_map.split_origin(o)) or profile._file
end

-- The effective rules for a profile: the default ones minus what it allows, then its own.
-- Returns a list of { action, errno, syscall, conds, why } or nil when there is no filter;
-- and beside it the default rules it left out, each with the field path that did
-- ({ rule = …, by = "seccomp.allow[2]" }), or the path of `seccomp = false`.
local function effective(profile)
  local s = profile.seccomp
  if s == false then return nil, "seccomp" end
  s = type(s) == "table" and s or {}
  local own = {}
  local function add(r, path)
    r.path = path
    own[#own + 1] = r
  end
  for i, name in ipairs(s.deny or {}) do
    add({ action = "deny", errno = "EPERM", syscall = name, conds = {} }, "seccomp.deny[" .. i .. "]")
  end
  for _, k in ipairs(util.sorted_keys(s.deny or {})) do
    if type(k) == "string" then add({ action = "deny", errno = s.deny[k], syscall = k, conds = {} }, "seccomp.deny." .. k) end
  end
  for i, name in ipairs(s.kill or {}) do add({ action = "kill", syscall = name, conds = {} }, "seccomp.kill[" .. i .. "]") end
  if s.file then
    local rules = M.read_rules(resolve_file(naming_file(profile), s.file)) or {}
    for _, r in ipairs(rules) do add(r, "seccomp.file") end
  end
  local lifted, named = {}, {}
  for i, a in ipairs(s.allow or {}) do lifted[a] = lifted[a] or ("seccomp.allow[" .. i .. "]") end
  for _, r in ipairs(own) do named[r.syscall] = named[r.syscall] or r.path end
  local out, left = {}, {}
  for _, d in ipairs(M.DEFAULT_SECCOMP) do
    local rule = { action = "deny", errno = d[1], syscall = d[2], conds = { table.unpack(d, 3) },
      why = d.why, group = d.group, name = d.name }
    -- A profile's own rule for a call replaces the default one for it.
    local by = (s.default == false and "seccomp.default") or lifted[d[2]] or lifted[d.group] or named[d[2]] or
      (d.group == "@setid-files" and profile.allow_setid_files == true and "allow_setid_files") or nil
    if by then left[#left + 1] = { rule = rule, by = by } else out[#out + 1] = rule end
  end
  for _, r in ipairs(own) do
    if r.action ~= "allow" and not lifted[r.syscall] then out[#out + 1] = r end
  end
  return out, left
end

function M.seccomp_rules(profile)
  return (effective(profile))
end

-- Whether the planner adds the @setid-files rules and drops M.SETID_CAPS: a host path is
-- writable (a.writable_host) and the profile did not opt out with allow_setid_files.
function M.setid_guarded(profile, a)
  return a.writable_host ~= nil and profile.allow_setid_files ~= true
end

-- rules with every @setid-files rule they lack, in front: a rules file's `log chmod` or a
-- lifted group does not take them away. With them the @io_uring rules, whose IORING_OP_OPENAT
-- creates files with a mode seccomp never sees. A new list; rules may be nil (no filter).
function M.with_setid_rules(rules)
  local out, have = {}, {}
  local forced = {}
  for _, d in ipairs(M.SETID_SECCOMP) do forced[#forced + 1] = d end
  for _, d in ipairs(M.DEFAULT_SECCOMP) do
    if d.group == "@io_uring" then forced[#forced + 1] = d end
  end
  for _, r in ipairs(rules or {}) do have[M.rule_string(r)] = true end
  local calls = {}
  for _, d in ipairs(forced) do
    calls[d[2]] = true
    local r = { action = "deny", errno = d[1], syscall = d[2], conds = { table.unpack(d, 3) },
      why = d.why, group = d.group }
    if not have[M.rule_string(r)] then out[#out + 1] = r end
  end
  -- An allow or log of one of these calls goes: libseccomp lets a rule of a call without
  -- conditions win over the call's conditional denials, so a rules file's `log fchmodat`
  -- would take the whole guard away. A denial or kill of the call is stricter and stays.
  for _, r in ipairs(rules or {}) do
    if not (calls[r.syscall] and (r.action == "allow" or r.action == "log")) then out[#out + 1] = r end
  end
  return out
end

-- The profile's own rules that with_setid_rules drops (allow or log of a guarded call).
function M.setid_dropped(rules)
  local calls, out = {}, {}
  for _, d in ipairs(M.SETID_SECCOMP) do calls[d[2]] = true end
  for _, d in ipairs(M.DEFAULT_SECCOMP) do
    if d.group == "@io_uring" then calls[d[2]] = true end
  end
  for _, r in ipairs(rules or {}) do
    if calls[r.syscall] and (r.action == "allow" or r.action == "log") then out[#out + 1] = r end
  end
  return out
end

local BLOCKING = { deny = true, kill = true }

-- What the filter does in effect: { filter = whether any rule refuses a call, rules = the
-- effective rules, off = the path that turned it off, lifted = the default rules no
-- effective rule still refuses, each { rule, by = path } }. A profile's own rule refuses
-- what a default rule did when it names the same call with no condition or the same ones:
-- `deny = { "ioctl" }` keeps TIOCSTI out, a rules file's `log ioctl` lets it in.
function M.seccomp_effect(profile)
  local rules, left = effective(profile)
  if not rules then return { filter = false, rules = {}, off = left, lifted = {} } end
  local filter = false
  for _, r in ipairs(rules) do
    if BLOCKING[r.action] then filter = true end
  end
  local function refused(d)
    for _, r in ipairs(rules) do
      if BLOCKING[r.action] and r.syscall == d.syscall then
        local conds = r.conds or {}
        if #conds == 0 or table.concat(conds, " ") == table.concat(d.conds, " ") then return true end
      end
    end
    return false
  end
  local lifted = {}
  for _, l in ipairs(left) do
    if not refused(l.rule) then lifted[#lifted + 1] = l end
  end
  local s = type(profile.seccomp) == "table" and profile.seccomp or {}
  local off
  if not filter then off = (s.default == false and "seccomp.default") or (s.allow and "seccomp.allow") or "seccomp" end
  return { filter = filter, rules = rules, lifted = lifted, off = off }
end

-- The rule strings the C executor reads: "errno:1 ioctl a1&0xffffffff==0x5412".
function M.rule_string(r)
  local act = r.action
  if act == "deny" then
    local e = errno_number(math.tointeger(tonumber(r.errno)) or r.errno)
    act = "errno:" .. tostring(e)
  end
  local parts = { act, r.syscall }
  for _, c in ipairs(r.conds or {}) do parts[#parts + 1] = c end
  return table.concat(parts, " ")
end

-- ---- check ---------------------------------------------------------------------------

local function check_caps(c, v)
  if not c:list(v, "capabilities", "capability names") then return end
  for i, name in ipairs(v) do
    local path = "capabilities[" .. i .. "]"
    if type(name) ~= "string" then
      c:fail(path, "expected a capability name, got " .. type(name))
    elseif not M.cap_name(name) then
      -- Suggested in the spelling the profile used: CAP_NET_ADMIN for CAP_NET_ADMN.
      local n = name:lower():gsub("^cap_", "")
      local near = util.nearest(n, M.CAPS)
      if near and name:match("^[A-Z_]+$") then near = "CAP_" .. near:upper()
      elseif near and name:lower():match("^cap_") then near = "cap_" .. near end
      c:fail(path, "unknown capability '" .. name .. "'" .. (near and (" (did you mean '" .. near .. "'?)") or "") ..
        "; names are those of capabilities(7), with or without CAP_")
    end
  end
end

local function check_name_list(c, list, path, what)
  c:string_list(list, path)
  if type(list) ~= "table" then return end
  for i, name in ipairs(list) do
    if type(name) == "string" and not (what == "allow" and util.contains(M.SECCOMP_GROUPS, name)) then
      if name:sub(1, 1) == "@" then
        c:fail(path .. "[" .. i .. "]", "unknown group '" .. name .. "'" .. util.suggest(name, M.SECCOMP_GROUPS) ..
          "; groups: " .. table.concat(M.SECCOMP_GROUPS, ", "))
      elseif not known_syscall(name) then
        c:fail(path .. "[" .. i .. "]", "unknown system call '" .. name .. "'" .. syscall_suggest(name))
      end
    end
  end
end

local function check_seccomp(c, s, p)
  if s == true or s == false then return end
  if not c:type(s, "seccomp", "table") then return end
  c:keys(s, "seccomp", { "default", "allow", "deny", "kill", "file" })
  if s.default ~= nil then c:type(s.default, "seccomp.default", "boolean") end
  if s.allow ~= nil then check_name_list(c, s.allow, "seccomp.allow", "allow") end
  if s.kill ~= nil then check_name_list(c, s.kill, "seccomp.kill", "kill") end
  if s.deny ~= nil and c:type(s.deny, "seccomp.deny", "table") then
    -- A list of names, and names = errnos beside it: nothing else.
    local list = {}
    for i, name in ipairs(s.deny) do list[i] = name end
    for k in pairs(s.deny) do
      if type(k) ~= "string" and not (math.type(k) == "integer" and k >= 1 and k <= #list) then
        c:fail(util.sub_path("seccomp.deny", k),
          "unknown field: seccomp.deny holds system call names and name = errno pairs")
      end
    end
    check_name_list(c, list, "seccomp.deny", "deny")
    for _, k in ipairs(util.sorted_keys(s.deny)) do
      if type(k) == "string" then
        local e = s.deny[k]
        if not known_syscall(k) then
          c:fail("seccomp.deny." .. k, "unknown system call '" .. k .. "'" .. syscall_suggest(k))
        elseif not errno_number(e) then
          c:fail("seccomp.deny." .. k, "expected an errno name like \"EPERM\" or a number, got " ..
            util.value_text(e) .. util.suggest(e, util.sorted_keys(M.ERRNO)))
        end
      end
    end
  end
  if s.file ~= nil and c:type(s.file, "seccomp.file", "string") then
    local _, errs = M.read_rules(resolve_file((c:where("seccomp.file")), s.file))
    for _, e in ipairs(errs or {}) do
      c:fail("seccomp.file", (e.line and (s.file .. ":" .. e.line .. ": ") or "") .. e.msg)
    end
  end
end

local function check_limits(c, l)
  if not c:type(l, "limits", "table") then return end
  local allowed = util.sorted_keys(M.RLIMITS)
  for _, k in ipairs(M.CGROUP_LIMITS) do allowed[#allowed + 1] = k end
  for _, k in ipairs(util.sorted_keys(l)) do
    local path = "limits." .. tostring(k)
    local v = l[k]
    local r = rlimit_name(k)
    if r then
      if type(v) == "table" then c:keys(v, path, { "soft", "hard", 1, 2 }) end
      local ok, err = soft_hard(v, M.RLIMITS[r])
      if ok == nil then c:fail(path, err) end
    elseif k == "memory" then
      local n, err = M.parse_value(v, "size")
      if n == nil then c:fail(path, err)
      elseif n == 0 then c:fail(path, "expected a size above 0 (or leave it out)") end
    elseif k == "pids" then
      local n, err = M.parse_value(v, "count")
      if n == nil then c:fail(path, err)
      elseif n == 0 then c:fail(path, "expected a count above 0 (or leave it out)")
      elseif n > 4194304 then c:fail(path, "expected at most 4194304, the kernel's largest pid count") end
    elseif k == "time" then
      local n, err = M.time_ms(v)
      if n == nil then c:fail(path, err) end
    elseif k == "cpus" then
      -- Written as "not inside" so that NaN fails too. Below 0.01 the quota (per 100 ms)
      -- would be under the kernel's 1 ms least, and round to none at all.
      if type(v) ~= "number" or not (v >= 0.01 and v <= 4096) then
        c:fail(path, "expected a number of CPUs from 0.01, like 0.5 or 2")
      end
    else
      c:fail(path, "unknown limit" .. util.suggest(tostring(k), allowed) ..
        "; expected one of " .. table.concat(allowed, ", "))
    end
  end
end

-- What writes to a host path, for a message: "the writable bind of /srv/proj".
local function writable_text(p, a)
  local i = math.tointeger(tonumber(tostring(a.writable_host):match("^mounts%[(%d+)%]$")))
  local m = i and type(p.mounts) == "table" and p.mounts[i]
  if type(m) ~= "table" then return tostring(a.writable_host) end
  if m.kind == "overlay" then return "the overlay upper " .. tostring(m.upper) end
  return "the writable bind of " .. tostring(m.src)
end

-- c: the schema checker (c:fail(path, msg), c:type(v, path, want), …); p: the profile;
-- a: the area context (lunshare.areas).
function M.check(c, p, a)
  if p.capabilities ~= nil then check_caps(c, p.capabilities) end
  if p.no_new_privs ~= nil then c:type(p.no_new_privs, "no_new_privs", "boolean") end
  if p.terminal ~= nil then c:type(p.terminal, "terminal", "boolean") end
  local before = #c.errors
  if p.seccomp ~= nil then check_seccomp(c, p.seccomp, p) end
  local seccomp_ok = #c.errors == before
  if p.allow_setid_files ~= nil and c:type(p.allow_setid_files, "allow_setid_files", "boolean") and
      p.allow_setid_files and a.writable_host then
    c:warn("allow_setid_files", "allow_setid_files = true: the sandbox can make setuid and setgid files and " ..
      "file capabilities on the host through " .. writable_text(p, a) ..
      ", programs of their owner (host root's, for a root caller's idmapped bind) that any local user runs")
  end
  if M.setid_guarded(p, a) and type(p.capabilities) == "table" then
    for i, n in ipairs(p.capabilities) do
      local name = M.cap_name(n)
      if name and util.contains(M.SETID_CAPS, name) then
        c:warn("capabilities[" .. i .. "]", name .. " is not kept: with " .. writable_text(p, a) ..
          " it would make setuid or file-capability files on the host; " ..
          "set allow_setid_files = true to keep it")
      end
    end
  end
  -- Only over a seccomp table that checked clean: the rules are read from it.
  if seccomp_ok and M.setid_guarded(p, a) and type(p.seccomp) == "table" then
    for _, r in ipairs(M.setid_dropped(M.seccomp_rules(p))) do
      c:warn(r.path or "seccomp", r.action .. " " .. r.syscall .. " is dropped: with " .. writable_text(p, a) ..
        " the @setid-files rules of " .. r.syscall .. " hold, and a rule of the call that allows or logs " ..
        "would take them away; set allow_setid_files = true to keep it")
    end
  end
  if p.limits ~= nil then check_limits(c, p.limits) end
  if p.keep_fds ~= nil and c:list(p.keep_fds, "keep_fds", "fd numbers") then
    for i, fd in ipairs(p.keep_fds) do
      if math.type(fd) ~= "integer" or fd < 3 or fd > 1023 then
        c:fail("keep_fds[" .. i .. "]", "expected an fd number from 3 to 1023 (0, 1 and 2 are always kept)")
      end
    end
  end
  if p.no_new_privs == false and p.seccomp ~= false then
    if not a.keeps("sys_admin") then
      c:fail("no_new_privs", "the kernel loads a seccomp filter without no_new_privs only with " ..
        "CAP_SYS_ADMIN; keep \"sys_admin\" in capabilities or set seccomp = false")
    end
  elseif p.no_new_privs == false and M.setid_guarded(p, a) and not a.keeps("sys_admin") then
    c:fail("no_new_privs", "a host path is writable (" .. writable_text(p, a) ..
      "), so the @setid-files seccomp rules are loaded even with seccomp = false, and the kernel loads a " ..
      "filter without no_new_privs only with CAP_SYS_ADMIN; keep \"sys_admin\", or set allow_setid_files = true")
  end
end

-- ---- grants --------------------------------------------------------------------------

local function fmt_size(n)
  if n < 0 then return "unlimited" end
  return tostring(n)
end

local function syscall_text(r)
  local t = r.syscall
  if r.conds and #r.conds > 0 then t = t .. " " .. table.concat(r.conds, " ") end
  return t
end

-- What the boundary grants in effect, for the grants summary (lunshare.grants): the
-- capabilities kept, the seccomp filter and what it lets through beyond the default one,
-- no_new_privs, the terminal, limits and the fds kept open. Each item: { text, path = the
-- profile field responsible, facts the warning rules read }. a: the area context, whose
-- caller's ids say whether capabilities are the host's.
function M.grants(profile, a)
  local ns = a.ns
  local ids = a.caller and a.caller.ids or {}
  local host_caps = not ns.user and (ids.euid or ids.uid) == 0
  local g = { capabilities = {}, seccomp = {}, privileges = {}, terminal = {}, limits = {}, fds = {} }
  local seen = {}
  for i, n in ipairs(type(profile.capabilities) == "table" and profile.capabilities or {}) do
    local name = M.cap_name(n)
    if name and not seen[name] and not (M.setid_guarded(profile, a) and util.contains(M.SETID_CAPS, name)) then
      seen[name] = true
      g.capabilities[#g.capabilities + 1] = { text = name .. (host_caps and " (over the host's user namespace)" or ""),
        cap = name, host = host_caps, path = "capabilities[" .. i .. "]" }
    end
  end
  table.sort(g.capabilities, function(a, b) return a.text < b.text end)

  local e = M.seccomp_effect(profile)
  if not e.filter then
    g.seccomp[1] = { text = "no filter in effect: every system call is allowed", nofilter = true, path = e.off }
  else
    local n = #e.lifted
    g.seccomp[1] = { text = (n == 0 and "the default filter") or (n == #M.DEFAULT_SECCOMP and
      "the profile's own rules only, none of the default filter's") or "the default filter, less what is allowed below",
      nodefault = n == #M.DEFAULT_SECCOMP, path = n > 0 and e.lifted[1].by or "seccomp" }
    for _, l in ipairs(e.lifted) do
      g.seccomp[#g.seccomp + 1] = { text = "allowed beyond the default filter: " .. syscall_text(l.rule) ..
        " (" .. l.rule.group .. (l.rule.name and (", " .. l.rule.name) or "") .. ")", lifted = l.rule, path = l.by }
    end
    for _, r in ipairs(e.rules) do
      if r.path then
        local act = r.action == "deny" and ("denied with " .. tostring(r.errno)) or (r.action == "kill" and "killed")
          or (r.action .. "ged")
        g.seccomp[#g.seccomp + 1] = { text = act .. ": " .. syscall_text(r), path = r.path }
      end
    end
  end

  local nnp = profile.no_new_privs ~= false
  g.privileges[1] = { text = nnp and "no_new_privs on" or "no_new_privs off: setuid and file-capability programs gain privileges",
    nnp = nnp, path = "no_new_privs" }
  if a.writable_host and profile.allow_setid_files == true then
    g.privileges[#g.privileges + 1] = { text = "setuid, setgid and file-capability files can be made on the host " ..
      "through writable host paths (allow_setid_files)", setid_files = true, path = "allow_setid_files" }
  elseif M.setid_guarded(profile, a) and not e.filter then
    g.seccomp[1].text = g.seccomp[1].text .. ", but for the @setid-files rules a writable host path brings"
  end
  local shared = profile.terminal == true
  g.terminal[1] = { text = shared and "the caller's session and terminal are shared" or
    "a new session, without the caller's terminal", shared = shared, path = "terminal" }

  local limits = type(profile.limits) == "table" and profile.limits or {}
  for _, k in ipairs(util.sorted_keys(limits)) do
    local r = rlimit_name(k)
    local path = "limits." .. tostring(k)
    if r then
      local soft, hard = soft_hard(limits[k], M.RLIMITS[r])
      if soft then
        g.limits[#g.limits + 1] = { text = string.format("%s soft %s hard %s", r, fmt_size(soft), fmt_size(hard)), path = path }
      end
    elseif k == "time" then
      local ms = M.time_ms(limits[k])
      if ms then g.limits[#g.limits + 1] = { text = "time " .. ms .. " ms, then ended", path = path } end
    elseif k == "memory" or k == "pids" then
      local v = M.parse_value(limits[k], k == "memory" and "size" or "count")
      if v then g.limits[#g.limits + 1] = { text = k .. " " .. fmt_size(v) .. (k == "memory" and " bytes" or ""), path = path } end
    elseif k == "cpus" then
      g.limits[#g.limits + 1] = { text = "cpus " .. tostring(limits[k]), path = path }
    end
  end
  table.sort(g.limits, function(a, b) return a.text < b.text end)
  local fds, seen_fd = {}, {}
  for _, fd in ipairs(type(profile.keep_fds) == "table" and profile.keep_fds or {}) do
    if not seen_fd[fd] then fds[#fds + 1], seen_fd[fd] = fd, true end
  end
  table.sort(fds)
  for i, fd in ipairs(fds) do g.fds[i] = { text = "fd " .. fd, path = "keep_fds" } end
  return g
end

-- ---- plan ----------------------------------------------------------------------------

-- add(phase, step) appends a plan step in one of lunshare.plan.PHASES.
function M.plan(profile, add, a)
  local origin = a.origin
  local ns = a.ns
  local root = a.caller and a.caller.ids and a.caller.ids.uid == 0

  -- A new session: the command has no controlling terminal, so TIOCSTI cannot reach
  -- the caller's even without seccomp, and the terminal's signals do not reach it directly.
  -- A pty of its own (the caller asked for one: a.caller.pty) is always in a new session:
  -- it becomes its terminal.
  if not profile.terminal or (a.caller and a.caller.pty) then
    add("early", { op = "setsid", origin = origin(profile.terminal == nil and "namespaces" or "terminal") })
  end
  add("early", { op = "session_keyring", origin = profile._file })
  -- With no capability, ping needs ICMP datagram sockets, which a new network namespace
  -- refuses to every group ("1 0"): open them to the sandbox's own group, as Docker does
  -- when it drops NET_RAW. Written before the mounts (and so before a lock of them takes
  -- the capability to), through whatever /proc the child sees: net.* files are those of
  -- the opener's network namespace. Only in a namespace of the sandbox's own: one it joins
  -- belongs to someone else, and a sandbox changes nothing of it.
  local joins = type(profile.network) == "table" and profile.network.join ~= nil
  if ns.net and profile.network ~= "host" and not joins then
    local g = tostring(type(profile.user) == "table" and profile.user.gid or 0)
    add("early", { op = "sysctl", name = "net.ipv4.ping_group_range", value = g .. " " .. g,
      origin = origin("namespaces") })
  end

  local limits = profile.limits or {}
  for _, k in ipairs(util.sorted_keys(limits)) do
    local r = rlimit_name(k)
    if r then
      local soft, hard = soft_hard(limits[k], M.RLIMITS[r])
      if soft == nil then return nil, "limits." .. k .. ": " .. tostring(hard) end
      add("late", { op = "rlimit", resource = r, soft = soft, hard = hard, origin = origin("limits") })
    end
  end

  -- The wall-clock limit: the command line's over the profile's.
  local caller_ms = a.caller and a.caller.timeout_ms
  local time_ms = caller_ms
  if not time_ms and limits.time then
    local err
    time_ms, err = M.time_ms(limits.time)
    if not time_ms then return nil, "limits.time: " .. err end
  end
  if time_ms then
    add("prepare", { op = "timeout", ms = time_ms, grace_ms = M.TIME_GRACE_MS,
      origin = caller_ms and "command line" or origin("limits") })
  end

  local mem = limits.memory and M.parse_value(limits.memory, "size")
  local pids = limits.pids and M.parse_value(limits.pids, "count")
  local quota = limits.cpus and math.floor(limits.cpus * 100000 + 0.5)
  if mem or pids or quota then
    local o = origin("limits")
    -- 0 writes nothing: the limit stays the kernel's "max".
    add("prepare", { op = "cgroup", memory = mem and mem > 0 and mem or 0, pids = pids and pids > 0 and pids or 0,
      cpu_quota = quota or 0, cpu_period = 100000, origin = o })
    add("host", { op = "cgroup_enter", origin = o })
  end

  -- Capabilities can be dropped only where the child holds CAP_SETPCAP: in its own user
  -- namespace, or when root runs it. Otherwise it has none to drop.
  if ns.user or root then
    local keep = {}
    local guarded = M.setid_guarded(profile, a)
    for _, n in ipairs(profile.capabilities or {}) do
      local name = "cap_" .. M.cap_name(n)
      -- check warns of each one dropped here
      local setid_cap = guarded and util.contains(M.SETID_CAPS, M.cap_name(n))
      if not setid_cap and not util.contains(keep, name) then keep[#keep + 1] = name end
    end
    add("privileges", { op = "caps", keep = keep, lock_securebits = true,
      origin = origin(profile.capabilities and "capabilities" or "namespaces") })
  end
  if profile.no_new_privs ~= false then
    add("privileges", { op = "no_new_privs",
      origin = origin(profile.no_new_privs == nil and "namespaces" or "no_new_privs") })
  end
  local rules = M.seccomp_rules(profile)
  local o = origin(profile.seccomp ~= nil and "seccomp" or "namespaces")
  -- Whatever the profile's filter (none, its own rules only, a lifted group), a writable
  -- host path brings the @setid-files rules.
  if M.setid_guarded(profile, a) then
    if not rules then o = origin(a.writable_host) end
    rules = M.with_setid_rules(rules)
  end
  if rules then
    local strings = {}
    for i, r in ipairs(rules) do strings[i] = M.rule_string(r) end
    add("privileges", { op = "seccomp", rules = strings, origin = o })
  end
  return true
end

return M
