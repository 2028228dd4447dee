-- Profile area: the filesystem view. A profile's `mounts` list builds a new root on a
-- tmpfs: binds of host paths, fresh proc/dev/tmpfs/mqueue/overlay instances, and
-- symlinks, directories and files made in the new root; `root` sets the root's own tmpfs.
--
-- Each mount is plain data, { kind = "ro_bind", src = "/usr", dst = "/usr" }, usually
-- written with the constructors below (`ro_bind "/usr"`). Steps are laid out parents
-- before children, whatever the order in the profile.
local core = require "lunshare.core"
local mount_targets = require "lunshare.mount_targets"
local usernet = require "lunshare.usernet"
local util = require "lunshare.util"

local M = {}

M.FIELDS = { "mounts", "root" }

-- Under `extends`, a child's mounts add to its parent's, and `without "/home"` removes the
-- inherited mount whose target (or, for a bind without one, source) is /home.
M.MERGE = { mounts = "list", root = "table" }
M.MERGE_KEY = { mounts = function(m) return type(m) == "table" and (m.dst or m.src) or nil end }

-- kind -> the fields it takes and those it needs. Binds take `dst` (default: `src`).
local BIND = { fields = { "src", "dst", "optional" }, required = { "src" } }
M.KINDS = {
  bind = BIND, ro_bind = BIND, dev_bind = BIND,
  tmpfs = { fields = { "dst", "size", "mode" }, required = { "dst" } },
  proc = { fields = { "dst" }, required = { "dst" } },
  dev = { fields = { "dst" }, required = { "dst" } },
  mqueue = { fields = { "dst" }, required = { "dst" } },
  overlay = { fields = { "dst", "lower", "upper", "work" }, required = { "dst", "lower" } },
  symlink = { fields = { "dst", "target" }, required = { "dst", "target" } },
  dir = { fields = { "dst", "mode" }, required = { "dst" } },
  -- template: content with {hostname} replaced by the profile's hostname, so that a
  -- parent's /etc/hostname and /etc/hosts follow a child's hostname.
  file = { fields = { "dst", "content", "template", "mode" }, required = { "dst" } },
  remount_ro = { fields = { "dst" }, required = { "dst" } },
}
M.KIND_NAMES = util.sorted_keys(M.KINDS)

-- As bubblewrap: the parts of a fresh /proc that configure the whole machine are made
-- read-only, for a root inside that is root outside too.
M.PROC_READONLY = { "sys", "sysrq-trigger", "irq", "bus" }
-- The host's device nodes a fresh /dev gets (a user namespace may not create device
-- nodes, so they are bound from the host, as bubblewrap does): the harmless ones.
M.DEV_NODES = { "null", "zero", "full", "random", "urandom", "tty" }
-- What rootfs and dev make beyond that is the planner's to choose too (core has no
-- default): the scratch tmpfs rootfs pivots through on /tmp is nobody else's; a tmpfs and
-- the new root without a mode of their own are 0755; a fresh /dev is a small tmpfs, its
-- devpts gives everyone a pty and the owner its own, shm is sticky and world-writable as
-- on a host, and the links are the ones programs expect.
M.SCRATCH_MODE = "0700"
M.TMPFS_MODE = "0755"
M.DEV = { mode = "0755", size = "1m", ptmxmode = "0666", pts_mode = "0620", shm_mode = "1777",
  links = { "ptmx=pts/ptmx", "fd=/proc/self/fd", "stdin=/proc/self/fd/0", "stdout=/proc/self/fd/1",
    "stderr=/proc/self/fd/2" } }

-- ---- constructors: plain data, checked later by check() -------------------------------

-- Copies a table argument: positional values become the named fields in `order`.
local function from_args(kind, order, a, b)
  local m = { kind = kind }
  if type(a) == "table" then
    for k, v in pairs(a) do
      if type(k) == "number" and order[k] then m[order[k]] = v
      elseif type(k) == "string" then m[k] = v
      else m[k] = v end
    end
  else
    m[order[1]] = a
    if order[2] then m[order[2]] = b end
  end
  return m
end

local C = {}
for _, kind in ipairs({ "bind", "ro_bind", "dev_bind" }) do
  -- bind "/x", bind("/host", "/inside"), bind { "/host", "/inside", optional = true }
  C[kind] = function(src, dst) return from_args(kind, { "src", "dst" }, src, dst) end
  -- The bubblewrap names for a bind whose missing source is skipped.
  C[kind .. "_try"] = function(src, dst)
    local m = from_args(kind, { "src", "dst" }, src, dst)
    m.optional = true
    return m
  end
end
for _, kind in ipairs({ "tmpfs", "proc", "dev", "mqueue", "dir", "remount_ro" }) do
  C[kind] = function(a) return from_args(kind, { "dst" }, a) end
end
-- symlink(target, path), as ln -s: symlink("usr/bin", "/bin")
C.symlink = function(target, dst) return from_args("symlink", { "target", "dst" }, target, dst) end
-- file("/etc/hostname", "box\n") or file { "/etc/x", content = "…", mode = "0600" }
C.file = function(dst, content) return from_args("file", { "dst", "content" }, dst, content) end
-- overlay { "/x", lower = { "/a", "/b" } [, upper = "/host/up", work = "/host/work"] }
C.overlay = function(a) return from_args("overlay", { "dst" }, a) end
M.constructors = C

-- ---- check ----------------------------------------------------------------------------

local function check_path(c, v, path, what)
  if not c:type(v, path, "string") then return end
  if v:sub(1, 1) ~= "/" then
    c:fail(path, "expected an absolute " .. what .. ", got '" .. v .. "'")
  elseif ("/" .. v .. "/"):find("/%.%./") then
    c:fail(path, "'..' is not allowed in a " .. what .. " ('" .. v .. "')")
  elseif v:find("%z") then
    c:fail(path, "a " .. what .. " may not hold a NUL byte")
  elseif what ~= "host path" and v:match("^/+$") then
    c:fail(path, "'/' is the new root itself; set its tmpfs with the root field")
  end
end

local function check_mode(c, v, path)
  if type(v) ~= "string" or not v:match("^[0-7][0-7][0-7][0-7]?$") then
    c:fail(path, "expected an octal mode string like \"0755\", got " ..
      (type(v) == "string" and ("'" .. v .. "'") or type(v)))
  end
end

local function check_mount(c, m, path, ns)
  if type(m) ~= "table" then
    c:fail(path, "expected a mount (a table with a kind, e.g. ro_bind \"/usr\"), got " .. type(m))
    return
  end
  local spec = M.KINDS[m.kind]
  if type(m.kind) ~= "string" then
    c:fail(path .. ".kind", "missing mount kind; expected one of " .. table.concat(M.KIND_NAMES, ", "))
    return
  elseif not spec then
    c:fail(path .. ".kind", "unknown mount kind '" .. m.kind .. "'" .. util.suggest(m.kind, M.KIND_NAMES) ..
      "; expected one of " .. table.concat(M.KIND_NAMES, ", "))
    return
  end
  local unknown = false
  for k in pairs(m) do
    if k ~= "kind" and not util.contains(spec.fields, k) then unknown = true end
  end
  if unknown then
    local allowed = { "kind" }
    for _, f in ipairs(spec.fields) do allowed[#allowed + 1] = f end
    c:keys(m, path, allowed)
  end
  for _, f in ipairs(spec.required) do
    if m[f] == nil then c:fail(path .. "." .. f, "missing required field '" .. f .. "' of a " .. m.kind .. " mount") end
  end
  if m.src ~= nil then check_path(c, m.src, path .. ".src", "host path") end
  if m.dst ~= nil then check_path(c, m.dst, path .. ".dst", "path inside the sandbox") end
  if m.optional ~= nil then c:type(m.optional, path .. ".optional", "boolean") end
  if m.mode ~= nil then check_mode(c, m.mode, path .. ".mode") end
  if m.size ~= nil and not (type(m.size) == "string" and m.size:match("^%d+[kKmMgG%%]?$")) then
    c:fail(path .. ".size", "expected a size like \"64M\", \"1G\" or \"10%\", got " ..
      (type(m.size) == "string" and ("'" .. m.size .. "'") or type(m.size)))
  end
  if m.content ~= nil then c:type(m.content, path .. ".content", "string") end
  if m.template ~= nil and c:type(m.template, path .. ".template", "string") and m.content ~= nil then
    c:fail(path .. ".template", "a file has content or a template, not both")
  end
  if m.target ~= nil and c:type(m.target, path .. ".target", "string") and m.target == "" then
    c:fail(path .. ".target", "expected a non-empty symlink target")
  end
  if m.kind == "overlay" then
    if m.lower ~= nil and c:list(m.lower, path .. ".lower", "host paths") then
      if #m.lower == 0 then c:fail(path .. ".lower", "expected at least one lower directory") end
      for i, l in ipairs(m.lower) do
        local lp = path .. ".lower[" .. i .. "]"
        check_path(c, l, lp, "host path")
        if type(l) == "string" and l:find("[:,]") then c:fail(lp, "overlay paths may not contain ':' or ','") end
      end
    end
    if (m.upper == nil) ~= (m.work == nil) then
      c:fail(path .. (m.upper and ".work" or ".upper"), "upper and work go together (both on the same host filesystem)")
    end
    for _, f in ipairs({ "upper", "work" }) do
      if m[f] ~= nil then
        check_path(c, m[f], path .. "." .. f, "host path")
        if type(m[f]) == "string" and m[f]:find("[:,]") then c:fail(path .. "." .. f, "overlay paths may not contain ':' or ','") end
      end
    end
  end
  if (m.kind == "proc") and not ns.pid then
    -- Not an error as root, but the sandbox would see every process of the host.
    c:fail(path, "a fresh proc needs the pid namespace (add \"pid\" to namespaces)")
  end
  if m.kind == "mqueue" and not ns.ipc then
    c:fail(path, "an mqueue mount needs the ipc namespace (add \"ipc\" to namespaces)")
  end
end

-- a: the area context (lunshare.areas).
function M.check(c, p, a)
  local ns = a.ns
  if p.root ~= nil and c:type(p.root, "root", "table") then
    c:keys(p.root, "root", { "mode", "size", "readonly" })
    if p.root.mode ~= nil then check_mode(c, p.root.mode, "root.mode") end
    if p.root.size ~= nil and not (type(p.root.size) == "string" and p.root.size:match("^%d+[kKmMgG%%]?$")) then
      c:fail("root.size", "expected a size like \"64M\"")
    end
    if p.root.readonly ~= nil then c:type(p.root.readonly, "root.readonly", "boolean") end
    if p.mounts == nil then c:fail("root", "a root is built only from a mounts list; add mounts") end
  end
  if p.mounts == nil then return end
  if not c:list(p.mounts, "mounts", "mounts") then return end
  if not ns.mount then
    c:fail("mounts", "mounts need the mount namespace (add \"mount\" to namespaces)")
  end
  for i, m in ipairs(p.mounts) do check_mount(c, m, "mounts[" .. i .. "]", ns) end
  mount_targets.check(c, p)
end

-- ---- plan -----------------------------------------------------------------------------

-- The depth of a target as it is mounted: its "." components count for nothing ("/h/./."
-- is "/h", which must go before a tmpfs on "/h/.ssh", not after it and over it).
local function depth(path)
  local n = 0
  for c in path:gmatch("[^/]+") do
    if c ~= "." then n = n + 1 end
  end
  return n
end

-- A mode string from the profile ("0755") as the integer the executor takes.
local function octal(s) return s and tonumber(s, 8) or nil end

local clean = util.clean_path

-- The step for one mount.
local function mount_step(m, profile)
  local k = m.kind
  local dst, src = clean(m.dst or m.src), clean(m.src)
  if k == "bind" or k == "ro_bind" or k == "dev_bind" then
    return { op = "bind", src = src, dst = dst, readonly = k == "ro_bind", dev = k == "dev_bind",
      optional = m.optional == true }
  elseif k == "tmpfs" then
    return { op = "tmpfs", dst = dst, size = m.size, mode = octal(m.mode or M.TMPFS_MODE) }
  elseif k == "proc" then
    return { op = "proc", dst = dst, readonly = M.PROC_READONLY }
  elseif k == "dev" then
    local d = M.DEV
    return { op = "dev", dst = dst, nodes = M.DEV_NODES, links = d.links, mode = octal(d.mode), size = d.size,
      ptmxmode = octal(d.ptmxmode), pts_mode = octal(d.pts_mode), shm_mode = octal(d.shm_mode) }
  elseif k == "mqueue" then
    return { op = "mqueue", dst = dst }
  elseif k == "overlay" then
    return { op = "overlay", dst = dst, lower = m.lower, upper = m.upper, work = m.work }
  elseif k == "symlink" then
    return { op = "symlink", dst = dst, target = m.target }
  elseif k == "dir" then
    return { op = "dir", dst = dst, mode = octal(m.mode) }
  elseif k == "file" then
    local content = m.content
    if m.template then
      local name = type(profile.hostname) == "string" and profile.hostname or "localhost"
      content = m.template:gsub("{hostname}", function() return name end)
    end
    return { op = "file", dst = dst, content = content or "", mode = octal(m.mode) }
  elseif k == "remount_ro" then
    return { op = "remount_ro", dst = dst }
  end
  error("unknown mount kind " .. tostring(k))
end

-- The mounts in the order they are applied: parents before children (by the depth of
-- the target, stable, so mounts on the same path keep the profile's order), and the
-- read-only remounts after everything they could cover.
-- Returns the mounts and, beside, the index each had in the profile.
function M.ordered(mounts)
  local list = {}
  for i, m in ipairs(mounts) do
    list[i] = { m = m, i = i, d = depth(m.dst or m.src), last = m.kind == "remount_ro" }
  end
  table.sort(list, function(a, b)
    if a.last ~= b.last then return b.last end
    if a.d ~= b.d then return a.d < b.d end
    return a.i < b.i
  end)
  local out, index = {}, {}
  for i, e in ipairs(list) do out[i], index[i] = e.m, e.i end
  return out, index
end

-- The host path a mount reads from, as the caller's planner resolves it (a.caller.resolve:
-- core.resolve): every symlink followed only where no other user could have put or
-- changed it, so `bind("/tmp/shared/src")` cannot be turned into the caller's home by
-- whoever owns /tmp/shared. The step carries the resolved path, which the executor opens
-- following no symlink at all: one swapped in since is refused, not followed. A missing
-- path stays as it is (the executor says so, or skips an optional bind), except for an
-- entry of the command line (--bind): the caller's own path on this machine, refused
-- here so that check says what run would. A profile's may be checked on another machine
-- than the one it runs on: the caller's `missing(field, path)`, when it has one, hears of
-- each one not optional (check warns of them: run fails here, exit 1).
local ENOENT = core.errno.ENOENT
local function host_path(a, path, field, optional)
  local resolve = a.caller and a.caller.resolve
  if not resolve or path == nil then return path end
  local r, msg, errno = resolve(path)
  if r then return r end
  if errno == ENOENT and (optional or a.origin(field) ~= util.CMDLINE_ORIGIN) then
    if not optional and a.caller.missing then a.caller.missing(field, path) end
    return path
  end
  -- Raw: the line is escaped once, where it is printed.
  if errno == ENOENT then msg = path .. " does not exist on the host" end
  return nil, a.origin(field) .. ": " .. (a.own and a.own(field) or field) .. ": " .. msg, msg
end

-- The step's host paths resolved (host_path), or nil and why.
local function resolve_step(s, a, field)
  local err
  if s.op == "bind" then
    s.src, err = host_path(a, s.src, field .. ".src", s.optional)
    if not s.src then return nil, err end
  elseif s.op == "overlay" then
    local lower = {}
    for j, l in ipairs(s.lower) do
      lower[j], err = host_path(a, clean(l), field .. ".lower[" .. j .. "]")
      if not lower[j] then return nil, err end
    end
    s.lower = lower
    for _, k in ipairs({ "upper", "work" }) do
      if s[k] then
        s[k], err = host_path(a, clean(s[k]), field .. "." .. k)
        if not s[k] then return nil, err end
      end
    end
  end
  return s
end
M.host_path = host_path

-- The bind step of a mount added to a running sandbox (lunshare plug): exactly the step the
-- same mount in a profile plans (nosuid, nodev unless a dev_bind, read-only for ro_bind),
-- its source resolved as a command-line --bind's (a missing one is an error). resolve: the
-- caller's core.resolve. Returns the step, or nil and why.
function M.plug_step(m, resolve)
  local a = { caller = { resolve = resolve }, origin = function() return util.CMDLINE_ORIGIN end,
    own = function() return "bind" end }
  return resolve_step(mount_step(m, {}), a, "bind")
end

-- The host's /etc/resolv.conf, read-only, for a sandbox on the host's network: its source
-- resolved as every bind's is (it is often a symlink into /run), since the child follows
-- no symlink.
local function host_resolv_conf(a)
  return resolve_step({ op = "bind", src = "/etc/resolv.conf", dst = "/etc/resolv.conf", readonly = true,
    optional = true, origin = a.origin("namespaces") }, a, "namespaces")
end

function M.plan(profile, add, a)
  local ns = a.ns
  if not ns.mount then return true end
  if profile.mounts == nil then
    -- A mount namespace alone still must not share mount events with the host.
    add("mounts", { op = "mount_private", path = "/", origin = a.origin("namespaces") })
    return true
  end
  local root = profile.root or {}
  local o = a.origin(profile.root and "root" or "mounts")
  add("mounts", { op = "rootfs", size = root.size, mode = octal(root.mode or M.TMPFS_MODE),
    scratch_mode = octal(M.SCRATCH_MODE), origin = o })
  local mo = a.origin("mounts")
  local list = profile.mounts
  -- User-mode networking answers DNS at an address of its own (lunshare.usernet).
  local user_resolv = usernet.resolv_conf(profile)
  if user_resolv then
    list = { table.unpack(profile.mounts) }
    list[#list + 1] = { kind = "file", dst = "/etc/resolv.conf", content = user_resolv }
  end
  local ordered, index = M.ordered(list)
  -- Only a root with an /etc of its own (default's) gets one; a root without is left as
  -- the profile wrote it.
  local resolv, etc = false, false
  for _, m in ipairs(ordered) do
    local t = clean(m.dst or m.src)
    if t == "/etc/resolv.conf" or t == "/etc" then resolv = true end
    if t:sub(1, 5) == "/etc/" then etc = true end
  end
  if not etc then resolv = true end
  for i, m in ipairs(ordered) do
    -- With the host's network the sandbox can resolve names as the host does: it gets the
    -- host's /etc/resolv.conf (read-only, when there is one), before the remounts.
    if m.kind == "remount_ro" and not ns.net and not resolv then
      local s, err = host_resolv_conf(a)
      if not s then return nil, err end
      add("mounts", s)
      resolv = true
    end
    local path = index[i] <= #profile.mounts and ("mounts[" .. index[i] .. "]") or "network"
    local s, err = resolve_step(mount_step(m, profile), a, path)
    if not s then return nil, err end
    s.origin = a.origin(path)
    add("mounts", s)
  end
  if not ns.net and not resolv then
    local s, err = host_resolv_conf(a)
    if not s then return nil, err end
    add("mounts", s)
  end
  add("mounts", { op = "pivot", readonly = root.readonly == true, origin = o })
  -- A process with CAP_SYS_ADMIN over the sandbox's mount namespace could remount a
  -- read-only bind read-write. The security area drops every capability by default, which
  -- forbids that; a profile that keeps sys_admin gets its mounts locked instead: moving
  -- into a nested user namespace with the same ids makes the kernel refuse to change their
  -- flags or unmount them. Locking takes the capabilities over the other namespaces away,
  -- so it comes after everything that configures them, first among the privilege steps.
  local proc
  for _, m in ipairs(profile.mounts) do
    if m.kind == "proc" and not proc then proc = clean(m.dst) end
  end
  if ns.user and proc and a.keeps("sys_admin") then
    add("privileges", { op = "lock_mounts", proc = proc, origin = mo })
  end
  return true
end

M.clean = clean

-- The field path of the first mount through which the sandbox writes to a host path (a
-- bind or dev_bind not read-only, an overlay's upper dir), or nil. Idmapped or not: what
-- is made there is on the host either way. A sandbox with no mount namespace or no mounts
-- keeps the host's tree as the caller has it (grants warns of that whole tree): it makes
-- nothing there the caller could not, and its filter stays the profile's.
function M.writable_host(profile, ns)
  if not ns.mount or type(profile.mounts) ~= "table" then return nil end
  for i, m in ipairs(profile.mounts) do
    if type(m) == "table" and (m.kind == "bind" or m.kind == "dev_bind" or (m.kind == "overlay" and m.upper)) then
      return "mounts[" .. i .. "]"
    end
  end
  return nil
end

-- What the filesystem view grants in effect, as items of the grants summary
-- (lunshare.grants): visible, the host paths the sandbox sees; writable, those it can
-- write through; devices, where the host's device nodes are usable; made, what exists only
-- inside; root, its own tmpfs. An item is { text, srcs = { host paths, one spelling each },
-- path = the profile field }. Without a mount namespace, or with one and no mounts, the
-- sandbox keeps the host's whole tree, writable wherever its ids may write, devices too.
function M.grants(profile, a)
  local ns = a.ns
  local g = { visible = {}, writable = {}, devices = {}, made = {}, root = {} }
  local function put(list, text, srcs, path) list[#list + 1] = { text = text, srcs = srcs, path = path } end
  if not ns.mount or type(profile.mounts) ~= "table" then
    local why = ns.mount and "a mount namespace without mounts" or "no mount namespace"
    put(g.visible, "/ (the host's whole file tree: " .. why .. ")", { "/" }, "namespaces")
    put(g.writable, "/ (the host's whole file tree: " .. why .. ")", { "/" }, "namespaces")
    put(g.devices, "the host's /dev (the whole file tree: " .. why .. ")", { "/dev" }, "namespaces")
    return g
  end
  -- Each host path in both spellings: as the profile writes it and as the planner resolves
  -- it (/bin is /usr/bin on a merged-/usr host), so that a rule over the summary sees what
  -- is reached, not how it is spelled. A source the planner would refuse is listed too.
  g.refused = {}
  local function spellings(p, field)
    local list = { p }
    local r, _, why = host_path(a, p, field)
    if r and r ~= p then list[2] = r end
    if not r then g.refused[#g.refused + 1] = { text = why, path = field, why = why } end
    return list
  end
  local function add_all(into, from)
    for _, x in ipairs(from) do into[#into + 1] = x end
    return into
  end
  for i, m in ipairs(profile.mounts) do
    local kind, path = m.kind, "mounts[" .. i .. "]"
    local dst = clean(m.dst or m.src)
    if kind == "bind" or kind == "ro_bind" or kind == "dev_bind" then
      local src = clean(m.src)
      local srcs = spellings(src, path .. ".src")
      local text = dst .. " from the host's " .. src .. (srcs[2] and (" (" .. srcs[2] .. ")") or "") ..
        (m.optional and " (if it exists)" or "")
      put(g.visible, text, srcs, path)
      if kind ~= "ro_bind" then put(g.writable, text .. (kind == "dev_bind" and ", devices usable" or ""), srcs, path) end
      if kind == "dev_bind" then put(g.devices, text, srcs, path) end
    elseif kind == "overlay" then
      local lower, all = {}, {}
      for j, l in ipairs(m.lower) do
        lower[j] = clean(l)
        add_all(all, spellings(lower[j], path .. ".lower[" .. j .. "]"))
      end
      put(g.visible, dst .. " from the host's " .. table.concat(lower, ":") .. " (overlay)", all, path)
      if m.upper then
        local up = add_all(spellings(clean(m.upper), path .. ".upper"), spellings(clean(m.work), path .. ".work"))
        put(g.writable, dst .. " into the host's " .. clean(m.upper), up, path)
      end
    elseif kind ~= "remount_ro" then
      put(g.made, dst .. " (" .. kind .. ")", nil, path)
    end
  end
  local r = type(profile.root) == "table" and profile.root or {}
  put(g.root, "a tmpfs, mode " .. (r.mode or "0755") .. (r.size and (", size " .. r.size) or "") ..
    (r.readonly and ", read-only once built" or ", writable"), nil, profile.root and "root" or "mounts")
  for _, list in pairs(g) do table.sort(list, function(a, b) return a.text < b.text end) end
  return g
end

return M
