-- What a profile grants in effect: one summary of every area, computed from the loaded
-- profile (after extends, parameters and namespace edits) and from the caller where the
-- effect depends on who runs it (root or not, the caller's ids, home and runtime dir), so
-- that two spellings of the same sandbox have the same summary. `diff` compares it; the
-- warnings of `check`, `explain` and `diff` are rules over it (RULES below), each naming
-- the file:line of the field responsible.
--
-- The summary: { [category] = { item, … } }, an item { text = "…", path = "field path",
-- facts the rules read }; CATEGORIES gives the order and the heading diff prints. The
-- core fields are summarised here, each area's in its module's grants(profile, a).
local areas = require "lunshare.areas"
local mounts = require "lunshare.mounts"
local plan = require "lunshare.plan"
local schema = require "lunshare.schema"
local source_map = require "lunshare.source_map"
local util = require "lunshare.util"

local M = {}

M.CATEGORIES = {
  { "namespaces", "namespaces shared with the host" },
  { "ids", "ids" },
  { "environment", "environment" },
  { "visible", "host paths visible" },
  { "writable", "host paths writable" },
  { "devices", "host devices usable" },
  { "refused", "host paths run refuses (a symlink another user controls)" },
  { "made", "paths made inside" },
  { "root", "root" },
  { "network", "network" },
  { "capabilities", "capabilities kept" },
  { "seccomp", "system calls" },
  { "privileges", "privileges" },
  { "terminal", "terminal" },
  { "limits", "limits" },
  { "fds", "fds kept open" },
  { "names", "names" },
  { "cwd", "working directory" },
  { "command", "command" },
  { "pid1", "pid 1" },
  { "time", "clock offsets" },
}

-- The caller, as the summary needs it: the planner's context (ids, subordinate ids) and
-- the homes and runtime directory whose exposure matters. They follow the caller, not its
-- environment (HOME unset or HOME=/tmp must not hide ~/.ssh): the home of the caller's
-- entry in /etc/passwd ($HOME only for a uid with none there); /run/user/UID whatever
-- $XDG_RUNTIME_DIR says, and that too when set. (Root's /root is on the list of paths.)
function M.context()
  local ctx = plan.context()
  local homes, seen = {}, {}
  local function add(h)
    if type(h) == "string" and h:sub(1, 1) == "/" and not seen[h] then homes[#homes + 1], seen[h] = h, true end
  end
  -- /etc/passwd itself, through the bounded reader: asking NSS (getpwuid) may connect to
  -- nscd or sssd, and check never connects anywhere.
  local pw_home
  local text = util.read_file("/etc/passwd")
  for line in (text or ""):gmatch("[^\n]+") do
    local uid, home = line:match("^[^:]*:[^:]*:(%d+):%d*:[^:]*:([^:]*):")
    if uid and tonumber(uid) == ctx.ids.uid then pw_home = home break end
  end
  add(pw_home)
  if not pw_home then add(os.getenv("HOME")) end
  ctx.homes = homes
  ctx.runtime_dir = os.getenv("XDG_RUNTIME_DIR")
  return ctx
end

local function ranges(text)
  local out = {}
  for a, b, c in (text or ""):gmatch("(%d+) (%d+) (%d+)") do
    out[#out + 1] = { tonumber(a), tonumber(b), tonumber(c) }
  end
  return out
end

-- The ids: the maps the planner would write for this caller, or without a user namespace
-- the caller's own ids. Each range item says whether it reaches host id 0 (`root`) and
-- whether its map holds more than one host id (`multi`: setuid and setgid move between them).
local function ids(p, ctx, ns)
  local out = {}
  local cid = ctx.ids or {}
  if not ns.user then
    local root = (cid.euid or cid.uid) == 0
    out[1] = { text = string.format("the caller's own ids, uid %s gid %s (no user namespace)%s",
      tostring(cid.uid), tostring(cid.gid), root and ": host root" or ""),
      kind = "uid", root = root, multi = root, path = "namespaces" }
    return out
  end
  local u = type(p.user) == "table" and p.user or {}
  local path = (u.map ~= nil and "user.map") or (p.user ~= nil and "user") or "namespaces"
  local uid_map, gid_map = plan.id_maps(p, ctx)
  if not uid_map and u.map == "host_root" then
    -- Refused to this caller, but what the profile asks for whoever runs it.
    uid_map, gid_map = string.format("%d 0 1\n", u.uid or 0), string.format("%d 0 1\n", u.gid or 0)
  elseif not uid_map then
    out[1] = { text = "no id map for this caller: " .. tostring(gid_map), path = path }
    return out
  end
  for _, kind in ipairs({ "uid", "gid" }) do
    local list = ranges(kind == "uid" and uid_map or gid_map)
    local total = 0
    for _, r in ipairs(list) do
      total = total + r[3]
      local text = r[3] == 1 and string.format("%s %d inside is host %s %d", kind, r[1], kind, r[2]) or
        string.format("%ss %d-%d inside are host %ss %d-%d", kind, r[1], r[1] + r[3] - 1, kind, r[2], r[2] + r[3] - 1)
      out[#out + 1] = { text = text, kind = kind, range = r, root = r[2] == 0, path = path }
    end
    for _, item in ipairs(out) do
      if item.kind == kind then item.multi = total > 1 end
    end
  end
  out[#out + 1] = { text = string.format("the command runs as uid %d gid %d inside", u.uid or 0, u.gid or 0),
    path = p.user and "user" or "namespaces" }
  return out
end

local function environment(p)
  local e = type(p.env) == "table" and p.env or {}
  local set, unset = e.set or {}, {}
  for _, k in ipairs(e.unset or {}) do unset[k] = true end
  local out = {}
  if e.clear == false then
    out[1] = { text = "the caller's whole environment", whole = true, path = "env.clear" }
  else
    local keep, seen = {}, {}
    for _, k in ipairs(e.keep or plan.DEFAULT_KEEP) do
      if not seen[k] and not unset[k] and set[k] == nil then keep[#keep + 1], seen[k] = k, true end
    end
    table.sort(keep)
    out[1] = { text = "kept from the caller: " .. (#keep > 0 and table.concat(keep, " ") or "nothing"), path = "env" }
  end
  for _, k in ipairs(util.sorted_keys(set)) do
    if not unset[k] then out[#out + 1] = { text = "set " .. k .. "=" .. tostring(set[k]), path = "env.set" } end
  end
  if e.clear == false then
    for _, k in ipairs(util.sorted_keys(unset)) do out[#out + 1] = { text = "unset " .. k, path = "env.unset" } end
  end
  return out
end

-- The summary for profile p (loaded and checked) as seen by caller ctx (M.context(), or
-- for specs { ids = { uid =, gid =, euid = }, subid = fn, homes = { … }, runtime_dir = … }).
-- A command's words as an item: a plain word as it is, any other in double quotes, raw
-- (an item is escaped once, where it is printed: util.text; a shell's $'…' quoting would
-- be escaped a second time there).
local function words_text(argv)
  local out = {}
  for i, w in ipairs(argv) do
    w = tostring(w)
    out[i] = (w ~= "" and not w:find("[^%w%-%./_=:,+@%%]")) and w or util.value_text(w)
  end
  return table.concat(out, " ")
end

function M.summary(p, ctx)
  local a = areas.context(p, ctx)
  local ns = a.ns
  local s = {}
  s.namespaces = {}
  for _, n in ipairs(schema.NAMESPACES) do
    if not ns[n] then s.namespaces[#s.namespaces + 1] = { text = n, ns = n, path = "namespaces" } end
  end
  s.ids = ids(p, ctx, ns)
  s.environment = environment(p)
  s.names = {}
  for _, f in ipairs({ "hostname", "domainname" }) do
    if p[f] ~= nil then s.names[#s.names + 1] = { text = f .. " " .. tostring(p[f]), path = f } end
  end
  s.cwd = { { text = p.cwd or "/", path = "cwd" } }
  s.command = { { text = words_text(type(p.command) == "table" and p.command or { "/bin/sh" }), path = "command" } }
  if ns.pid then
    s.pid1 = { { text = p.pid1 == "command" and "the command" or "lunshare's reaper, the command its child", path = "pid1" } }
  end
  if ns.time then
    local t = type(p.time) == "table" and p.time or {}
    local mono, boot = schema.offset_seconds(t.monotonic or 0), schema.offset_seconds(t.boottime or 0)
    s.time = { { text = string.format("monotonic %+d s, boottime %+d s", mono or 0, boot or 0), path = "time" } }
  end
  return areas.grants(p, a, s)
end

-- The summary as text, { [heading] = { "item", … } }: what diff compares and prints.
function M.lines(s)
  local out = {}
  for _, c in ipairs(M.CATEGORIES) do
    local items = s[c[1]]
    if items and #items > 0 then
      local t = {}
      for i, item in ipairs(items) do t[i] = item.text end
      out[c[2]] = t
    end
  end
  return out
end

-- ---- warning rules --------------------------------------------------------------------

local clean = mounts.clean

-- Whether a bind of host path a shows path b: b is a or below it.
local function covers(a, b)
  return a == "/" or a == b or b:sub(1, #a + 1) == a .. "/"
end

-- Capabilities that undo isolation whatever the namespaces (some only where the sandbox
-- holds them over the host's user namespace, which `check` says when it is so).
M.ISOLATION_CAPS = {
  sys_admin = "mounts, namespaces and most of root's powers",
  sys_ptrace = "traces and reads the memory of every process the sandbox can see",
  sys_module = "loads kernel code",
  sys_rawio = "raw I/O ports, /dev/mem and raw block devices",
  sys_boot = "reboots the machine and loads a new kernel",
  sys_time = "sets the host's clock",
  syslog = "reads the kernel log and its addresses",
  bpf = "loads BPF programs into the kernel",
  perfmon = "kernel performance monitoring",
  net_admin = "reconfigures the network it is in (the host's, when it shares it)",
  dac_override = "reads and writes every file of a mapped id whatever its mode",
  dac_read_search = "reads every file of a mapped id, and opens files by handle around the mount view",
  fowner = "changes the mode of every file of a mapped id, and so reads and writes it",
  mac_admin = "changes the host's MAC policy",
  mac_override = "overrides the host's MAC policy",
}
-- Capabilities that matter once more than one host id is mapped: they move between ids.
M.MULTI_ID_CAPS = { setuid = "uid", setgid = "gid", chown = "uid" }

-- Host paths the sandbox must not write: a writable bind of the path or of a directory that
-- holds it warns. SUBTREE ones warn for anything below them too (a writable /etc/passwd).
M.WRITABLE_PATHS = {
  { "/", "the host's whole file tree" },
  { "/etc", "the host's configuration (passwd, sudoers, cron, systemd units)", subtree = true },
  { "/root", "root's home", subtree = true },
  { "/home", "every user's home" },
  { "/usr", "the host's programs and libraries", subtree = true },
  { "/boot", "the host's kernel and boot loader", subtree = true },
  { "/run", "the host's runtime state and daemon sockets" },
  { "/var/run", "the host's runtime state and daemon sockets" },
  { "/var", "the host's state, spools and /var/run" },
  { "/proc", "the host's processes and kernel settings", subtree = true },
  { "/sys", "the host's kernel and device settings", subtree = true },
  { "/dev", "the host's device directory" },
}
-- Files of a home whose change runs code as its owner on the next login or command.
M.HOME_FILES = { ".bashrc", ".bash_profile", ".bash_login", ".bash_logout", ".profile", ".zshrc", ".zshenv",
  ".zprofile", ".ssh", ".config", ".local", ".gnupg", ".xinitrc", ".xsession", ".xprofile", ".pam_environment" }

-- Sockets that hand out the host: whoever connects runs what it likes outside. connect()
-- needs no write access to the mount, so a read-only bind of them (or of a directory that
-- holds them) is as good as a writable one. RUNTIME ones are under the caller's
-- $XDG_RUNTIME_DIR (or /run/user/UID).
M.SOCKETS = {
  { "/run/docker.sock", "Docker (root on the host)" },
  { "/var/run/docker.sock", "Docker (root on the host)" },
  { "/run/containerd/containerd.sock", "containerd (root on the host)" },
  { "/var/run/containerd/containerd.sock", "containerd (root on the host)" },
  { "/run/podman/podman.sock", "Podman (root on the host)" },
  { "/var/run/podman/podman.sock", "Podman (root on the host)" },
  { "/run/crio/crio.sock", "CRI-O (root on the host)" },
  { "/run/libvirt/libvirt-sock", "libvirt (virtual machines and host devices)" },
  { "/run/dbus/system_bus_socket", "the D-Bus system bus (systemd, polkit, logind)" },
  { "/var/run/dbus/system_bus_socket", "the D-Bus system bus (systemd, polkit, logind)" },
  { "/run/systemd/private", "systemd's private socket (starts any unit)" },
  { "/var/run/systemd/private", "systemd's private socket (starts any unit)" },
  { "bus", "the caller's D-Bus session bus (systemd-run --user starts anything)", runtime = true },
  { "systemd/private", "the caller's systemd --user (starts any unit)", runtime = true },
  { "docker.sock", "rootless Docker (the caller's own daemon)", runtime = true },
  { "podman/podman.sock", "rootless Podman (the caller's own daemon)", runtime = true },
}
-- Devices a dev_bind may show without handing out the host.
M.HARMLESS_DEVICES = { ["/dev/null"] = true, ["/dev/zero"] = true, ["/dev/full"] = true,
  ["/dev/random"] = true, ["/dev/urandom"] = true, ["/dev/tty"] = true }

local function runtime_dirs(ctx)
  local dirs, seen = {}, {}
  local function add(d)
    if type(d) == "string" and d:sub(1, 1) == "/" and not seen[clean(d)] then
      dirs[#dirs + 1], seen[clean(d)] = clean(d), true
    end
  end
  add(ctx.runtime_dir)
  if ctx.ids and ctx.ids.uid then add("/run/user/" .. ctx.ids.uid) end
  return dirs
end

-- Each rule: (summary, ctx, warn) calls warn(path, msg) for each risk it finds.
M.RULES = {}
local rule = function(name, fn) M.RULES[#M.RULES + 1] = { name = name, fn = fn } end

rule("host root reachable", function(s, ctx, warn)
  for _, item in ipairs(s.ids) do
    if item.root and item.kind == "uid" then
      return warn(item.path, (item.range and (string.format("host uid 0 is mapped into the sandbox ({%d, %d, %d})",
        item.range[1], item.range[2], item.range[3])) or "the caller is root and there is no user namespace") ..
        ": root inside is host root, so every root-owned host file it can see is its to read and write, " ..
        "and a breakout is a host-root breakout" ..
        (((ctx.ids or {}).euid or (ctx.ids or {}).uid) ~= 0 and " (only a root caller can run it)" or ""))
    end
  end
  for _, item in ipairs(s.ids) do
    if item.root and item.kind == "gid" then
      return warn(item.path, string.format("host gid 0 is mapped into the sandbox ({%d, %d, %d}): files of group " ..
        "root on the host are the sandbox's to read and write where their mode allows the group",
        item.range[1], item.range[2], item.range[3]))
    end
  end
end)

rule("no seccomp filter", function(s, _, warn)
  local head = s.seccomp[1]
  if head.nofilter then
    warn(head.path, "no seccomp filter in effect: the whole kernel interface is reachable " ..
      "(TIOCSTI, keyctl, bpf, ptrace, mount, nested user namespaces, …)")
  elseif head.nodefault then
    warn(head.path, "none of the default seccomp filter's rules is in effect, only the profile's own: " ..
      "TIOCSTI, keyctl, bpf, ptrace, mount and nested user namespaces are reachable")
  end
end)

-- The groups of the default filter whose calls reach kernel code an escape starts from:
-- each one a profile leaves reachable (lifted, or the default turned off while the
-- profile's own rules refuse something else) is a warning of its own, however many rules
-- the profile adds. @tty has its rule below (it matters with the caller's terminal).
M.GROUP_RISKS = {
  ["@userns"] = "nested user namespaces: capabilities over namespaces of its own, which reach kernel code an " ..
    "unprivileged process cannot (where most kernel exploits start)",
  ["@mount"] = "the mount API (mount, open_tree, fsopen, move_mount, …): filesystem code, and a view it can change",
  ["@ptrace"] = "ptrace and process_vm_readv/writev: reads and changes the memory of processes of its ids",
  ["@bpf"] = "bpf(): the BPF verifier and JIT, kernel attack surface",
  ["@keyring"] = "keyctl, add_key, request_key: kernel keyrings, which are not namespaced (the caller's keys)",
  ["@perf"] = "perf_event_open: kernel attack surface and side channels",
  ["@userfaultfd"] = "userfaultfd: stops the kernel mid-copy, widening race windows for exploits",
  ["@io_uring"] = "io_uring: a second system call interface whose operations seccomp never sees",
  ["@personality"] = "personality flags: ASLR off (ADDR_NO_RANDOMIZE), readable implies executable",
}

rule("seccomp groups reachable", function(s, _, warn)
  if s.seccomp[1].nofilter then return end
  local seen = {}
  for _, item in ipairs(s.seccomp) do
    local g = item.lifted and item.lifted.group
    if g and M.GROUP_RISKS[g] and not seen[g] then
      seen[g] = true
      warn(item.path, "the default filter's " .. g .. " rules are not in effect, so the sandbox reaches " ..
        M.GROUP_RISKS[g])
    end
  end
end)

rule("terminal with TIOCSTI", function(s, _, warn, origin)
  local term = s.terminal[1]
  if not term.shared then return end
  local let, path = {}, nil
  if s.seccomp[1].nofilter then
    let, path = { "TIOCSTI", "TIOCLINUX" }, s.seccomp[1].path
  else
    for _, item in ipairs(s.seccomp) do
      if item.lifted and item.lifted.group == "@tty" then
        let[#let + 1] = item.lifted.name
        path = path or item.path
      end
    end
  end
  if #let > 0 then
    warn(path, "the command shares the caller's terminal (terminal = true, " .. origin(term.path) .. ") and " ..
      table.concat(let, " and ") .. (#let > 1 and " are" or " is") .. " not denied: it can type commands into " ..
      "the caller's shell")
  end
end)

rule("no_new_privs off", function(s, _, warn)
  local item = s.privileges[1]
  if not item.nnp then
    warn(item.path, "no_new_privs is off: setuid and file-capability programs inside can gain privileges")
  end
end)

rule("capabilities that undo isolation", function(s, _, warn)
  local multi = {}
  for _, item in ipairs(s.ids) do
    if item.kind and item.multi then multi[item.kind] = true end
  end
  local host_net = false
  for _, item in ipairs(s.network) do
    if item.host then host_net = true end
  end
  for _, item in ipairs(s.capabilities) do
    local why = M.ISOLATION_CAPS[item.cap]
    local kind = M.MULTI_ID_CAPS[item.cap]
    if not why and kind and multi[kind] then
      why = "moves between the " .. kind .. "s mapped, more than one host " .. kind
    elseif not why and item.cap == "net_raw" and host_net then
      why = "raw sockets on the host's network: sniffs and forges its traffic"
    elseif not why and item.host then
      why = "a capability over the host's user namespace"
    end
    if why then
      warn(item.path, "keeps " .. item.cap .. (item.host and " over the host's user namespace (no user namespace)" or "") ..
        ": " .. why)
    end
  end
end)

rule("writable host paths", function(s, ctx, warn)
  local targets = {}
  for _, t in ipairs(M.WRITABLE_PATHS) do targets[#targets + 1] = t end
  for _, h in ipairs(ctx.homes or {}) do
    h = clean(h)
    if h ~= "/" then
      targets[#targets + 1] = { h, "the caller's home" }
      for _, f in ipairs(M.HOME_FILES) do
        targets[#targets + 1] = { h .. "/" .. f, "the caller's startup files and keys", subtree = true }
      end
    end
  end
  for _, d in ipairs(runtime_dirs(ctx)) do targets[#targets + 1] = { d, "the caller's runtime directory and sockets" } end
  for _, item in ipairs(s.writable) do
    local hit
    for _, src in ipairs(item.srcs or {}) do
      for _, t in ipairs(targets) do
        if not hit and (covers(src, t[1]) or (t.subtree and covers(t[1], src))) then hit = { src, t } end
      end
      -- Another user's home, whole: /home/NAME.
      if not hit and src:match("^/home/[^/]+$") then hit = { src, { src, "a user's home" } } end
    end
    if hit then
      local src, t = hit[1], hit[2]
      warn(item.path, "the host's " .. src .. " is writable from the sandbox" ..
        (src ~= t[1] and covers(src, t[1]) and (" and holds " .. t[1]) or "") .. ": " .. t[2])
    end
  end
end)

rule("sockets that hand out the host", function(s, ctx, warn)
  local sockets = {}
  for _, k in ipairs(M.SOCKETS) do
    if k.runtime then
      for _, d in ipairs(runtime_dirs(ctx)) do sockets[#sockets + 1] = { d .. "/" .. k[1], k[2] } end
    else
      sockets[#sockets + 1] = k
    end
  end
  for _, item in ipairs(s.visible) do
    local hits, seen = {}, {}
    for _, src in ipairs(item.srcs or {}) do
      for _, k in ipairs(sockets) do
        if covers(src, k[1]) and not seen[k[1]] then hits[#hits + 1], seen[k[1]] = k, true end
      end
    end
    if #hits > 0 then
      local names = {}
      for i, k in ipairs(hits) do
        if i <= 3 then names[#names + 1] = k[1] .. " (" .. k[2] .. ")" end
      end
      warn(item.path, "the sandbox can connect to " .. table.concat(names, ", ") ..
        (#hits > 3 and (" and " .. (#hits - 3) .. " more") or "") ..
        ": a socket that hands out the host (a read-only bind does not stop connect())")
    end
  end
end)

rule("mount sources another user controls", function(s, _, warn)
  for _, item in ipairs(s.refused or {}) do
    warn(item.path, "run refuses this source: " .. item.why)
  end
end)

rule("host devices", function(s, _, warn)
  for _, item in ipairs(s.devices) do
    for _, src in ipairs(item.srcs or {}) do
      if (covers(src, "/dev") or covers("/dev", src)) and not M.HARMLESS_DEVICES[src] then
        warn(item.path, "the host's " .. (covers(src, "/dev") and "/dev" or src) .. " is usable with its devices " ..
          "(dev_bind or the host's tree): disks, /dev/kvm, /dev/mem, other terminals")
        break
      end
    end
  end
end)

rule("port forwarded on every host address", function(s, _, warn)
  for _, item in ipairs(s.network) do
    if item.every_address then
      warn(item.path, "this port is forwarded on every address of the host: anyone who reaches the host " ..
        "(its LAN) reaches the sandbox there; give 127.0.0.1 for the host alone")
    end
  end
end)

rule("host namespaces shared", function(s, _, warn)
  for _, item in ipairs(s.network) do
    if item.host then
      warn(item.path, "the host's network is shared: every host interface, services on 127.0.0.1 " ..
        "and abstract unix sockets are reachable")
    end
  end
  for _, item in ipairs(s.namespaces) do
    if item.ns == "pid" then
      warn(item.path, "the host's pid namespace is shared: the sandbox sees the host's processes and " ..
        "can signal those of its ids")
    end
  end
end)

-- The warnings for profile p (loaded) as seen by caller ctx: a list of
-- { file, line, path, msg, warning = true }, printed by schema.format_error.
function M.warnings(p, ctx)
  local s = M.summary(p, ctx)
  local out, seen = {}, {}
  local function origin(path) return source_map.origin(p, path) end
  local function warn(path, msg)
    local file, line = source_map.split_origin(origin(path))
    local key = tostring(path) .. "\0" .. msg
    if not seen[key] then
      seen[key] = true
      out[#out + 1] = { file = file, line = line, path = source_map.own(p, path), msg = msg, warning = true }
    end
  end
  for _, r in ipairs(M.RULES) do r.fn(s, ctx, warn, origin) end
  return out
end

return M
