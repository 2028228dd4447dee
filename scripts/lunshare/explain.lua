-- What `lunshare explain` prints: each step of a plan as the command a person would type
-- to do the same by hand. One formatter per op of the C op tables (core.ops()), each
-- reading only the step's own fields, so the text says what the executor will do with
-- that very step; the planner stores no text in its steps, and `run` never loads this.
local core = require "lunshare.core"
local security = require "lunshare.security"
local util = require "lunshare.util"

local M = {}

local q = util.shell_quote

-- Where the new root is while it is built (mount_ops.c's rootfs).
local NEWROOT = "/newroot"

local function at(dst) return q(NEWROOT .. dst) end

-- A mode from a step (an integer, or nil for the op's default: dir's and file's) as chmod
-- writes it.
local function mode(m, default) return m and string.format("%04o", m) or default end

local function join(list, sep) return table.concat(list or {}, sep or " ") end

-- errno names by number; of two names for one number, the first in order (EAGAIN, not
-- EWOULDBLOCK).
local ERRNO_NAME = {}
for _, name in ipairs(util.sorted_keys(core.errno)) do
  local n = core.errno[name]
  ERRNO_NAME[n] = ERRNO_NAME[n] or name
end

-- Why each rule of the default seccomp filter is there, by the rule string the executor
-- reads.
local WHY = {}
for _, d in ipairs(security.DEFAULT_SECCOMP) do
  local r = { action = "deny", errno = d[1], syscall = d[2], conds = { table.unpack(d, 3) } }
  WHY[security.rule_string(r)] = d.why
end

-- "errno:13 chown a0==1" -> "deny EACCES   chown a0==1  # why".
local function rule_text(rule)
  local words = {}
  for w in rule:gmatch("%S+") do words[#words + 1] = w end
  local act, syscall = words[1], words[2] or "?"
  local e = act:match("^errno:(%d+)$")
  if e then act = "deny " .. (ERRNO_NAME[tonumber(e)] or e) end
  local s = string.format("%-13s %s", act, syscall)
  if #words > 2 then s = s .. " " .. table.concat(words, " ", 3) end
  if WHY[rule] then s = s .. "  # " .. WHY[rule] end
  return s
end

local function limit(n) return n < 0 and "unlimited" or tostring(n) end

local function map_text(s, file)
  if s.helper then return s.helper .. " PID " .. (s.map:gsub("\n", " "):gsub("%s+$", "")) end
  return "echo '" .. s.map:gsub("\n$", ""):gsub("\n", "\\n") .. "' > /proc/PID/" .. file
end

local function ip_addrs(addrs, dev, out)
  for _, a in ipairs(addrs or {}) do out[#out + 1] = "ip addr add " .. a .. " dev " .. dev end
  return out
end

local F = {}
M.FORMAT = F

-- ---- the foundation (core/proc_ops.c) --------------------------------------------------

function F.clone(s)
  local flags, pid = {}, false
  for _, n in ipairs(s.namespaces) do
    flags[#flags + 1] = "--" .. n
    if n == "pid" then pid = true end
  end
  return "unshare " .. join(flags) .. (pid and " --fork" or "")
end
function F.setgroups(s) return "echo " .. (s.allow and "allow" or "deny") .. " > /proc/PID/setgroups" end
function F.uid_map(s) return map_text(s, "uid_map") end
function F.gid_map(s) return map_text(s, "gid_map") end
function F.hostname(s) return "hostname " .. q(s.name) end
function F.domainname(s) return "domainname " .. q(s.name) end
function F.timens(s)
  return string.format("unshare --time --monotonic %d --boottime %d", s.monotonic or 0, s.boottime or 0)
end
function F.setsid() return "setsid (a new session without the caller's terminal)" end
function F.chdir(s) return "cd " .. q(s.path) end
function F.timeout(s)
  return string.format("timeout --kill-after=%gs %gs (the whole sandbox: TERM, then KILL)", (s.grace_ms or 0) / 1000,
    s.ms / 1000)
end
function F.pty()
  return "open /dev/ptmx (the sandbox's devpts), its peer the controlling terminal and fds 0-2; " ..
    "the caller's terminal is raw and proxied to it"
end
function F.close_fds(s)
  local keep = s.keep or {}
  return "close every fd but 0, 1 and 2" .. (#keep > 0 and (" and " .. join(keep, ", ")) or "")
end
function F.exec(s)
  return (s.reaper and "pid 1 forks the command, reaps orphans and forwards signals; the command: " or "") ..
    "env -i " .. util.shell_join(s.env) .. " " .. util.shell_join(s.argv)
end

-- ---- the network (core/net_ops.c) ------------------------------------------------------

function F.lo_up() return "ip link set lo up" end
-- The supervisor's setns before the clone (core/net_ops.c): the clone then makes no netns.
function F.netns_join(s)
  if s.topology then
    local base = s.state_root .. "/" .. s.state_path
    return "nsenter --user=/proc/HOLDER/ns/user --net=/proc/HOLDER/root" .. base .. "/netns/" .. s.name ..
      "  (HOLDER: the pid in " .. base .. "/net/" .. s.topology .. ".holder; before the clone, " ..
      "for good: the sandbox is born in host " .. s.name .. " of topology " .. s.topology ..
      ", its user namespace inside the holder's, which owns the netns)"
  end
  return "nsenter --net=" .. (s.dir or "/run/netns") .. "/" .. s.name .. "  (before the clone, and back after: " ..
    "the sandbox is born in it, and a user namespace of its own does not own it)"
end
function F.veth(s)
  local mtu = s.mtu and s.mtu > 0 and (" mtu " .. s.mtu) or ""
  local out = { "ip link add " .. s.name .. " type veth peer name " .. s.peer .. " netns PID" .. mtu }
  if s.master then out[#out + 1] = "ip link set " .. s.name .. " master " .. s.master end
  ip_addrs(s.addresses, s.name, out)
  out[#out + 1] = "ip link set " .. s.name .. " up"
  return join(out, "; ")
end
function F.link_setup(s)
  local out = ip_addrs(s.addresses, s.name, {})
  local mtu = s.mtu and s.mtu > 0 and (" mtu " .. s.mtu) or ""
  out[#out + 1] = "ip link set " .. s.name .. mtu .. (s.up and " up" or "")
  return join(out, "; ")
end
function F.route(s)
  return "ip route add " .. s.to .. (s.via and (" via " .. s.via) or "") .. (s.dev and (" dev " .. s.dev) or "")
end

-- ---- the filesystem view (core/mount_ops.c) --------------------------------------------

function F.mount_private(s) return "mount --make-rprivate " .. q(s.path) end
-- rootfs pivots through a scratch tmpfs on /tmp of the sandbox's own mount namespace: the
-- host's tree ends up at /oldroot, where the binds take their sources, and the new root is
-- built at /newroot.
function F.rootfs(s)
  local o = { "nosuid", "nodev", "mode=" .. mode(s.mode) }
  if s.size then o[#o + 1] = "size=" .. s.size end
  return "mount --make-rprivate / && mount -t tmpfs -o nosuid,nodev,mode=" .. mode(s.scratch_mode) ..
    " tmpfs /tmp && cd /tmp && " ..
    "mkdir newroot oldroot && pivot_root . oldroot && cd / && " ..
    "mount -t tmpfs -o " .. join(o, ",") .. " tmpfs " .. NEWROOT
end
function F.idmap_tree(s)
  local idmap = "X-mount.idmap=OWNER:" .. s.uid .. ":1"
  local also = ", no other id is mapped"
  if s.uid_count then
    idmap = "X-mount.idmap=u:OWNER:" .. s.uid .. ":1 u:" .. s.uid_first .. ":" .. s.uid_first .. ":" .. s.uid_count ..
      " g:OWNER:" .. s.gid .. ":1 g:" .. s.gid_first .. ":" .. s.gid_first .. ":" .. s.gid_count
    also = ", the sandbox's other host ids of " .. s.uid_first .. "+" .. s.uid_count .. " as themselves"
  end
  return "mount --rbind -o nosuid" .. (s.dev and "" or ",nodev") .. "," .. idmap .. " " ..
    q(s.src) .. " (a detached copy, not yet attached: the owner of " .. q(s.owner or s.src) ..
    " appears as " .. s.uid .. ":" .. s.gid .. also .. ")"
end
function F.bind(s)
  if s.idmapped then
    return "mount --move (idmapped copy " .. s.idmapped .. " of " .. q(s.src) .. ") " .. at(s.dst or s.src)
  end
  local o = { "nosuid" }
  if not s.dev then o[#o + 1] = "nodev" end
  if s.readonly then table.insert(o, 1, "ro=recursive") end
  local cmd = "mount --rbind -o " .. join(o, ",") .. " " .. q(s.src) .. " " .. at(s.dst or s.src)
  if s.optional then cmd = "[ -e " .. q(s.src) .. " ] && " .. cmd end
  return cmd
end
function F.tmpfs(s)
  local o = { "nosuid", "nodev", "mode=" .. mode(s.mode) }
  if s.size then o[#o + 1] = "size=" .. s.size end
  return "mount -t tmpfs -o " .. join(o, ",") .. " tmpfs " .. at(s.dst)
end
function F.proc(s)
  local p = at(s.dst)
  local cmd = "mount -t proc -o nosuid,nodev,noexec proc " .. p
  if #s.readonly > 0 then
    cmd = cmd .. " && for d in " .. join(s.readonly) .. "; do mount --rbind -o ro " .. p .. "/$d " .. p .. "/$d; done"
  end
  return cmd
end
function F.dev(s)
  local d = at(s.dst)
  local cmd = { "mount -t tmpfs -o nosuid,noexec,mode=" .. mode(s.mode) .. ",size=" .. s.size .. " tmpfs " .. d }
  if #s.nodes > 0 then
    cmd[#cmd + 1] = "for n in " .. join(s.nodes) .. "; do touch " .. d .. "/$n; " ..
      "mount --bind -o nosuid,noexec /dev/$n " .. d .. "/$n; done"
  end
  cmd[#cmd + 1] = "mkdir " .. d .. "/pts"
  cmd[#cmd + 1] = "mount -t devpts -o newinstance,ptmxmode=" .. mode(s.ptmxmode) .. ",mode=" .. mode(s.pts_mode) ..
    " devpts " .. d .. "/pts"
  for _, l in ipairs(s.links) do
    local name, target = l:match("^([^=]*)=(.*)$")
    cmd[#cmd + 1] = "ln -s " .. q(target or l) .. " " .. d .. "/" .. q(name or l)
  end
  cmd[#cmd + 1] = "mkdir -m " .. mode(s.shm_mode) .. " " .. d .. "/shm"
  return join(cmd, " && ")
end
function F.mqueue(s) return "mount -t mqueue -o nosuid,nodev,noexec mqueue " .. at(s.dst) end
function F.overlay(s)
  local o = { "lowerdir=" .. join(s.lower, ":") }
  if s.upper then
    local via = s.idmapped and ("(idmapped copy " .. s.idmapped .. " of " .. s.base .. ")") or ""
    o[#o + 1] = "upperdir=" .. via .. s.upper
    o[#o + 1] = "workdir=" .. via .. s.work
  else
    o[#o + 1] = "upperdir=(tmpfs)/upper,workdir=(tmpfs)/work"
  end
  return "mount -t overlay -o " .. q(join(o, ",")) .. " overlay " .. at(s.dst)
end
function F.symlink(s) return "ln -s " .. q(s.target) .. " " .. at(s.dst) end
function F.dir(s) return "mkdir -p -m " .. mode(s.mode, "0755") .. " " .. at(s.dst) end
function F.file(s)
  local shown = (s.content or ""):gsub("\\", "\\\\"):gsub("%%", "%%%%"):gsub("\n", "\\n")
  return "printf " .. q(shown) .. " > " .. at(s.dst) .. " && chmod " .. mode(s.mode, "0644") .. " " .. at(s.dst)
end
function F.remount_ro(s) return "mount -o remount,bind,ro=recursive " .. at(s.dst) end
function F.pivot(s)
  return (s.readonly and ("mount -o remount,bind,ro " .. NEWROOT .. " && ") or "") ..
    "cd " .. NEWROOT .. " && pivot_root . . && umount -l ."
end
function F.lock_mounts()
  return "unshare --user --mount  # mapping the same ids: every mount is locked, its flags stay"
end

-- ---- the boundary (core/security_ops.c) ------------------------------------------------

function F.set_ids(s)
  return string.format("setpriv --clear-groups --regid=%d --reuid=%d", s.gid or 0, s.uid or 0)
end
function F.sysctl(s) return "sysctl -w " .. s.name .. "=" .. q(s.value) .. " (in the sandbox's network namespace)" end
function F.session_keyring() return "keyctl new_session (a fresh anonymous session keyring)" end
function F.rlimit(s)
  return string.format("prlimit --%s=%s:%s", s.resource, limit(s.soft or 0), limit(s.hard or 0))
end
function F.caps(s)
  local kept = #(s.keep or {}) > 0 and join(s.keep, ",") or "none"
  local secbits = s.lock_securebits and string.format("--secbits=0x%x ", core.SECBITS_LOCKED) or ""
  return "capsh " .. secbits .. "--drop=all --keep=" .. kept ..
    " (bounding, permitted, effective, inheritable; ambient: " .. kept ..
    (s.lock_securebits and "; noroot and no_setuid_fixup locked)" or ")")
end
function F.no_new_privs() return "setpriv --no-new-privs" end
function F.seccomp(s)
  local lines = {}
  for i, r in ipairs(s.rules) do lines[i] = "           " .. rule_text(r) end
  return "seccomp filter (native and compat architectures), allow what no rule matches:\n" .. join(lines, "\n")
end
function F.cgroup(s)
  local parts = {}
  if (s.memory or 0) > 0 then parts[#parts + 1] = "memory " .. s.memory .. " bytes" end
  if (s.pids or 0) > 0 then parts[#parts + 1] = "pids " .. s.pids end
  if (s.cpu_quota or 0) > 0 then
    parts[#parts + 1] = string.format("cpu %d us per %d us", s.cpu_quota, s.cpu_period or 0)
  end
  return "mkdir <own cgroup>/lunshare-PID (v2 if delegated, else v1 per controller): " ..
    (#parts > 0 and join(parts, ", ") or "no limit written (each stays max)")
end
function F.cgroup_enter() return "echo PID > <cgroup>/cgroup.procs (v2: clone3 CLONE_INTO_CGROUP)" end

-- ---- helpers and the egress relay (core/helper_ops.c, core/relay.c) --------------------

-- {pid}: the sandbox's first process; {dir}: the run's private state directory; {port}: a
-- free port on the host's loopback (core/helper_ops.c fills them in).
function F.join(s)
  return "nsenter --target " .. s.pid .. " (pidfd, start time " .. s.starttime .. ") --" ..
    table.concat(s.namespaces, " --") .. " (those that differ from ours)" .. (s.cgroup and "; into its cgroup" or "")
end
function F.plug_source(s)
  local flags = { "nosuid" }
  if not s.dev then flags[#flags + 1] = "nodev" end
  if s.readonly then flags[#flags + 1] = "ro" end
  local where = s.idmapped and ("the idmapped tree #" .. s.idmapped) or
    (s.own_view and ("a fresh mount namespace of the user namespace of " .. s.pid .. ", a copy of the host's view")
      or "the host's mount namespace")
  return "open_tree " .. q(s.src) .. " (clone, recursive, " .. table.concat(flags, ",") .. ") from " .. where
end
function F.plug_veth(s)
  return (F.veth(s):gsub(" netns PID", " netns (the net namespace of " .. s.pid .. ", by a pidfd checked against start time " ..
    s.starttime .. ")", 1))
end
function F.plug_target() return "note where we are, to refuse a join that left us here" end
function F.plug_attach(s) return "move_mount the tree onto " .. q(s.dst) .. " (in the sandbox, no symlink followed)" end
function F.plug_detach(s) return "umount --lazy " .. q(s.dst) .. " (in the sandbox, no symlink followed)" end
function F.exit() return "exit 0 (the child runs no program)" end
function F.record(s)
  return "write the running sandbox's record to " .. q(s.state_root .. "/" .. s.state_path .. "/" .. s.name) ..
    " (pids, start times, namespaces; removed when the run ends)"
end
function F.helper(s)
  local out = {}
  if s.state_root then
    local first = s.state_path:match("^[^/]+")
    out[#out + 1] = "mkdir -m 0700 " .. q(s.state_root .. "/" .. s.state_path) .. "/" .. s.name ..
      (s.ids_count and "-ID" or "-RANDOM") .. " ({dir})" ..
      (s.state_root == "/tmp" and (" (when another user made " .. q("/tmp/" .. first) .. " first, or left it open: " ..
        "a fresh " .. q("/tmp/" .. first) .. "-RANDOM of the caller's own instead, chosen at run time)") or "")
  end
  local files = s.files or {}
  for i = 1, #files - 1, 2 do
    local lines = {}
    for line in files[i + 1]:gmatch("[^\n]+") do lines[#lines + 1] = "             " .. line end
    out[#out + 1] = "cat > {dir}/" .. files[i] .. " <<EOF\n" .. join(lines, "\n") .. "\n           EOF"
  end
  local ready = s.ready == "port" and "ready once 127.0.0.1:{port} accepts" or "ready once it writes its pid to fd 3"
  local cmd = util.shell_join(s.argv)
  -- A root caller's helper drops to an id of its own (or files_uid) once its namespace exists.
  local id_note = ""
  if s.ids_count then
    cmd = "setpriv --reuid=ID --regid=ID --clear-groups " .. cmd
    id_note = "; ID: an id of its own for this run, drawn from " .. s.ids_from .. ".." ..
      (s.ids_from + s.ids_count - 1) .. " and used by no account, group or subordinate range, which owns {dir}'s files"
  elseif s.files_uid then
    cmd = "setpriv --reuid=" .. s.files_uid .. " --regid=" .. s.files_uid .. " --clear-groups " .. cmd
  end
  if s.netns then
    cmd = "unshare --net" .. " [--user --map-current-user, unless root] sh -c 'ip link set lo up; exec " .. cmd .. "'"
    ready = ready .. " in its own network namespace"
  end
  local as = s.join_user and ("nsenter --user=/proc/PID/ns/user 4</proc/PID/ns/net " ..
    "(as the sandbox's first mapped id, with a /dev/net/tun of its own) ") or ""
  out[#out + 1] = as .. cmd .. " &  (" .. ready .. id_note .. "; ended with the run)"
  return join(out, "\n           ")
end
function F.relay(s)
  local allow = s.allow_private and #s.allow_private > 0 and (" except " .. join(s.allow_private, ", ")) or ""
  return "relay 127.0.0.1:" .. s.port .. " in the sandbox's network namespace to the proxy at 127.0.0.1:{port}" ..
    " in its own; serve the proxy's upstream at its 127.0.0.1:" .. s.gate .. " from the host's network, to " ..
    join(s.allow or {}, ", ") .. " only, refusing loopback, link-local and private addresses" .. allow ..
    (s.helper_id and " (as the proxy's own id ID)" or s.uid and (" (as uid " .. s.uid .. " for root)") or "") ..
    "; report each refused request on stderr" .. (s.log and (" and in " .. q(s.log)) or "")
end

-- The command for one step.
function M.step(s)
  local f = F[s.op]
  if not f then error("explain: no formatter for op '" .. tostring(s.op) .. "'", 2) end
  return f(s)
end

-- The plan as a person reads it. Every string from the profile is escaped here, once
-- (util.text); a step's command is shell-quoted already (util.shell_quote, whose $'…'
-- is its escape and must read back in a shell), and may be laid out in lines (the
-- seccomp step's rules), so each of its lines only has what quoting left escaped.
function M.text(plan, profile)
  local esc = util.text
  local out = { string.format("plan for %s\n", esc(plan.profile or "?")) }
  if profile and type(profile.description) == "string" then out[#out + 1] = "  " .. esc(profile.description) .. "\n" end
  local params = profile and profile._params or {}
  if next(params) then
    local kv = {}
    for _, k in ipairs(util.sorted_keys(params)) do kv[#kv + 1] = esc(k) .. "=" .. esc(tostring(params[k])) end
    out[#out + 1] = "  parameters: " .. table.concat(kv, " ") .. "\n"
  end
  for i, s in ipairs(plan.steps) do
    out[#out + 1] = string.format("%3d  %-10s  %-10s  %s\n       # %s\n", i, s.where, s.op,
      util.escape_lines(M.step(s)), esc(s.origin or ""))
  end
  return table.concat(out)
end

return M
