-- The grants summary and the warnings computed from it: what a profile grants in effect,
-- the same for every spelling of it (extends, namespace edits, parameters, path spellings,
-- seccomp groups, rules files), and each warning naming the file:line responsible. #unit
local profile = require "lunshare.profile"
local schema = require "lunshare.schema"
local grants = require "lunshare.grants"
local diff = require "lunshare.diff"
local H = require "helpers"

-- Callers: root (no /etc/subuid range: the fixed fallback) and alice (a range).
local ROOT = { ids = { uid = 0, gid = 0, euid = 0, user = "root" }, subid = function() return nil end,
  homes = { "/root" } }
local ALICE = { ids = { uid = 1000, gid = 1000, euid = 1000, user = "alice" },
  subid = function() return 100000, 65536 end, homes = { "/home/alice" }, runtime_dir = "/run/user/1000" }

local tmpdir = require "tmpdir"

-- Loads files["p.lua"] (which may extend the others, or "default") and returns the
-- warnings `check` prints for caller ctx, with the directory taken off the file names.
local function warnings(files, ctx, set)
  if type(files) == "string" then files = { ["p.lua"] = files } end
  local dir = tmpdir(files)
  local p, errs = profile.load(dir .. "/p.lua", { set = set })
  local out = {}
  if not p then
    for _, e in ipairs(errs) do out[#out + 1] = "ERROR " .. schema.format_error(e) end
  else
    for _, w in ipairs(grants.warnings(p, ctx or ALICE)) do
      out[#out + 1] = (schema.format_error(w):gsub(dir:gsub("%p", "%%%0") .. "/", ""))
    end
  end
  H.sh("rm -rf " .. dir)
  return out
end

local function lines(files, ctx, set)
  if type(files) == "string" then files = { ["p.lua"] = files } end
  local dir = tmpdir(files)
  local p = assert(profile.load(dir .. "/p.lua", { set = set }))
  H.sh("rm -rf " .. dir)
  return diff.grants(p, ctx or ALICE)
end

-- The warnings of the default profile with one more mount, on line 4 (its mounts[1], as the file counts it).
local function bound(mount, ctx)
  return warnings("return {\n  extends = 'default',\n  mounts = {\n    " .. mount .. ",\n  },\n}\n", ctx)
end

-- The one warning expected, whole.
local function only(expected, got)
  assert.same({ expected }, got)
end

local TTY = "the command shares the caller's terminal (terminal = true, "
local HOST_ROOT = "root inside is host root, so every root-owned host file it can see is its to read and " ..
  "write, and a breakout is a host-root breakout"
local NO_FILTER = "warning: no seccomp filter in effect: the whole kernel interface is reachable (TIOCSTI, " ..
  "keyctl, bpf, ptrace, mount, nested user namespaces, …)"

describe("warnings: the shipped default profile #unit", function()
  it("has none, for root and for a user", function()
    assert.same({}, warnings("return { extends = 'default' }\n", ROOT))
    assert.same({}, warnings("return { extends = 'default' }\n", ALICE))
  end)
end)

describe("warnings: the caller's terminal with TIOCSTI #unit", function()
  it("warns for the issue's profile, naming the seccomp entry and the terminal's line", function()
    only("p.lua:4: seccomp.allow[1]: warning: " .. TTY .. "p.lua:3) and TIOCSTI and TIOCLINUX are not " ..
      "denied: it can type commands into the caller's shell",
      warnings("return {\n  extends = 'default',\n  terminal = true,\n  seccomp = { allow = { '@tty' } },\n}\n"))
  end)

  it("warns however the ioctl is let through", function()
    local function tty(seccomp, extra)
      local dir = tmpdir({ ["x.rules"] = extra or "" })
      local w = warnings({ ["p.lua"] = "return {\n  extends = 'default',\n  terminal = true,\n  seccomp = " ..
        seccomp:gsub("DIR", dir) .. ",\n}\n" })
      H.sh("rm -rf " .. dir)
      return w
    end
    -- by the call's name instead of its group
    assert.truthy(tty("{ allow = { 'ioctl' } }")[1]:find("^p%.lua:4: seccomp%.allow%[1%]: warning: the command shares"))
    -- a rules file whose own ioctl rule replaces the default ones and refuses nothing
    for _, rule in ipairs({ "log ioctl", "allow ioctl", "deny ioctl a1==0x5413" }) do
      local w = tty("{ file = 'DIR/x.rules' }", rule .. "\n")
      assert.equal(1, #w, rule)
      assert.truthy(w[1]:find("^p%.lua:4: seccomp%.file: warning: the command shares the caller's terminal"), w[1])
    end
    -- no filter at all: the no-filter warning, and the terminal one
    local w = tty("false")
    assert.same({ "p.lua:4: seccomp: " .. NO_FILTER, "p.lua:4: seccomp: warning: " .. TTY ..
      "p.lua:3) and TIOCSTI and TIOCLINUX are not denied: it can type commands into the caller's shell" }, w)
    w = tty("{ default = false }")
    assert.equal(2, #w)
    assert.truthy(w[2]:find("^p%.lua:4: seccomp%.default: warning: the command shares"), w[2])
  end)

  it("warns when the terminal and the lifted rule come from different files of the chain", function()
    local w = warnings({
      ["base.lua"] = "return {\n  extends = 'default',\n\n  terminal = true,\n}\n",
      ["p.lua"] = "return {\n  extends = 'base.lua',\n  seccomp = { allow = { 'ptrace', '@tty' } },\n}\n",
    })
    -- (ptrace lifted is a warning of its own)
    assert.same({ "p.lua:3: seccomp.allow[1]: warning: the default filter's @ptrace rules are not in effect, so the " ..
      "sandbox reaches " .. grants.GROUP_RISKS["@ptrace"],
      "p.lua:3: seccomp.allow[2]: warning: " .. TTY .. "base.lua:4) and TIOCSTI and TIOCLINUX are not " ..
      "denied: it can type commands into the caller's shell" }, w)
  end)

  it("does not warn when the ioctl stays refused or the terminal is not shared", function()
    -- The profile's own rule refuses every ioctl, TIOCSTI with them.
    assert.same({}, warnings("return { extends = 'default', terminal = true, seccomp = { allow = { '@tty' }, deny = { 'ioctl' } } }"))
    assert.same({}, warnings("return { extends = 'default', terminal = true, seccomp = { kill = { 'ioctl' } } }"))
    -- A new session: the kernel refuses TIOCSTI on a terminal that is not the caller's own.
    assert.same({}, warnings("return { extends = 'default', seccomp = { allow = { '@tty' } } }"))
    assert.same({}, warnings("return { extends = 'default', terminal = true }"))
  end)
end)

describe("warnings: host root reachable #unit", function()
  local function mapped(map, ctx)
    return warnings("return {\n  extends = 'default',\n  user = {\n    map = " .. map .. ",\n  },\n}\n", ctx)
  end

  it("warns for the issue's map run by root, naming user.map's line", function()
    only("p.lua:4: user.map: warning: host uid 0 is mapped into the sandbox ({0, 0, 1}): " .. HOST_ROOT,
      mapped("{ { 0, 0, 1 } }", ROOT))
  end)

  it("warns for any entry that reaches host uid 0, and for host_root", function()
    only("p.lua:4: user.map: warning: host uid 0 is mapped into the sandbox ({1, 0, 1}): " .. HOST_ROOT,
      mapped("{ { 0, 100000, 1 }, { 1, 0, 1 } }", ROOT))
    only("p.lua:4: user.map: warning: host uid 0 is mapped into the sandbox ({0, 0, 65536}): " .. HOST_ROOT,
      mapped("{ { 0, 0, 65536 } }", ROOT))
    only("p.lua:4: user.map: warning: host uid 0 is mapped into the sandbox ({0, 0, 1}): " .. HOST_ROOT,
      mapped("'host_root'", ROOT))
    -- Named outright, host root is what the profile asks whoever checks it.
    only("p.lua:4: user.map: warning: host uid 0 is mapped into the sandbox ({0, 0, 1}): " .. HOST_ROOT ..
      " (only a root caller can run it)", mapped("'host_root'", ALICE))
    only("p.lua:4: user.map: warning: host uid 0 is mapped into the sandbox ({0, 0, 1}): " .. HOST_ROOT ..
      " (only a root caller can run it)", mapped("{ { 0, 0, 1 } }", ALICE))
  end)

  it("warns for host gid 0 alone", function()
    local w = warnings("return {\n  extends = 'default',\n  user = { map = 'self' },\n}\n",
      { ids = { uid = 1000, gid = 0, euid = 1000 }, subid = function() end })
    assert.same({ "p.lua:3: user.map: warning: host gid 0 is mapped into the sandbox ({0, 0, 1}): files of group " ..
      "root on the host are the sandbox's to read and write where their mode allows the group" }, w)
  end)

  it("follows the caller: root's subordinate range, a parameter, no user namespace", function()
    -- A root whose /etc/subuid range starts at 0 gets host root through "subid".
    local zero = { ids = ROOT.ids, subid = function() return 0, 65536 end }
    assert.truthy(mapped("'subid'", zero)[1]:find("host uid 0 is mapped into the sandbox ({0, 0, 65536})", 1, true))
    assert.same({}, mapped("'subid'", ALICE))
    assert.same({}, mapped("'self'", ROOT))
    local src = "local p = params { map = { values = { 'self', 'host' }, default = 'self' } }\n" ..
      "return {\n  extends = 'default',\n  user = { map = p.map == 'host' and { { 0, 0, 1 } } or 'self' },\n}\n"
    assert.same({}, warnings(src, ROOT))
    assert.truthy(warnings(src, ROOT, { map = "host" })[1]:find("^p%.lua:4: user%.map: warning: host uid 0 is mapped"))
    -- Without a user namespace a root caller's command is host root; a user's is not.
    local w = warnings("return {\n  namespaces = { 'pid', 'mount', 'net' },\n  mounts = { tmpfs '/tmp' },\n}\n", ROOT)
    assert.same("p.lua:2: namespaces: warning: the caller is root and there is no user namespace: " .. HOST_ROOT, w[1])
    w = warnings("return {\n  namespaces = { 'pid', 'mount', 'net' },\n  mounts = { tmpfs '/tmp' },\n}\n", ALICE)
    assert.same({}, w)
  end)
end)

-- The groups whose reach is a warning of its own.
local GROUPS = {}
for g in pairs(grants.GROUP_RISKS) do GROUPS[#GROUPS + 1] = g end
table.sort(GROUPS)

describe("warnings: no seccomp filter #unit", function()
  it("warns for default = false with no rules, naming seccomp.default", function()
    only("p.lua:4: seccomp.default: " .. NO_FILTER,
      warnings("return {\n  extends = 'default',\n  seccomp = {\n    default = false,\n  },\n}\n"))
  end)

  it("warns for every spelling of no filter", function()
    only("p.lua:3: seccomp: " .. NO_FILTER, warnings("return {\n  extends = 'default',\n  seccomp = false,\n}\n"))
    -- Rules that refuse nothing.
    local dir = tmpdir({ ["x.rules"] = "log chown\nallow ptrace\n" })
    only("p.lua:3: seccomp.default: " .. NO_FILTER,
      warnings("return {\n  extends = 'default',\n  seccomp = { default = false,\n file = '" .. dir .. "/x.rules' },\n}\n"))
    H.sh("rm -rf " .. dir)
    -- Every group lifted one by one.
    local groups = {}
    for _, g in ipairs(require("lunshare.security").SECCOMP_GROUPS) do groups[#groups + 1] = "'" .. g .. "'" end
    only("p.lua:3: seccomp.allow: " .. NO_FILTER,
      warnings("return {\n  extends = 'default',\n  seccomp = { allow = { " .. table.concat(groups, ", ") .. " } },\n}\n"))
    -- Inherited from a parent.
    only("base.lua:2: seccomp: " .. NO_FILTER, warnings({ ["base.lua"] = "return {\n  seccomp = false, extends = 'default',\n}\n",
      ["p.lua"] = "return {\n  extends = 'base.lua',\n}\n" }))
  end)

  it("warns when only the profile's own rules are in effect", function()
    local w = warnings("return {\n  extends = 'default',\n  seccomp = { default = false, deny = { 'chown' } },\n}\n")
    assert.equal("p.lua:3: seccomp.default: warning: none of the default seccomp filter's rules is in effect, only the " ..
      "profile's own: TIOCSTI, keyctl, bpf, ptrace, mount and nested user namespaces are reachable", w[1])
    -- and each group that is reachable, below
    assert.equal(1 + #GROUPS, #w, table.concat(w, "\n"))
  end)

  -- What is reachable, not how many rules there are: one harmless rule of the profile's own
  -- must not hide that nested user namespaces, keyctl, ptrace, personality and the mount
  -- API get through (issue #9 review, F4), nor must lifting groups one at a time.
  it("warns for each dangerous group left reachable, however many rules the profile adds", function()
    local w = warnings("return {\n  extends = 'default',\n  seccomp = { default = false, deny = { 'reboot' } },\n}\n")
    assert.equal(#GROUPS, #w, table.concat(w, "\n"))
    for _, g in ipairs(GROUPS) do
      assert.truthy(H.has_line(table.concat(w, "\n"), "p.lua:3: seccomp.default: warning: the default filter's " .. g ..
        " rules are not in effect, so the sandbox reaches " .. grants.GROUP_RISKS[g]), g .. "\n" .. table.concat(w, "\n"))
    end
    only("p.lua:3: seccomp.allow[1]: warning: the default filter's @userns rules are not in effect, so the sandbox " ..
      "reaches " .. grants.GROUP_RISKS["@userns"], warnings("return {\n  extends = 'default',\n  seccomp = { allow = { '@userns' } },\n}\n"))
    -- One call of a group is enough; a profile rule that refuses it again is not a warning.
    only("p.lua:3: seccomp.allow[1]: warning: the default filter's @io_uring rules are not in effect, so the sandbox " ..
      "reaches " .. grants.GROUP_RISKS["@io_uring"], warnings("return {\n  extends = 'default',\n  seccomp = { allow = { 'io_uring_enter' } },\n}\n"))
    assert.same({}, warnings("return {\n  extends = 'default',\n  seccomp = { allow = { '@mount' }, deny = { 'mount', 'umount', " ..
      "'umount2', 'pivot_root', 'open_tree', 'move_mount', 'fsopen', 'fsconfig', 'fsmount', 'fspick', 'mount_setattr' } },\n}\n"))
    -- Lifting most groups, all but one, names each.
    local most = {}
    for _, g in ipairs(require("lunshare.security").SECCOMP_GROUPS) do if g ~= "@system" then most[#most + 1] = "'" .. g .. "'" end end
    w = warnings("return {\n  extends = 'default',\n  seccomp = { allow = { " .. table.concat(most, ", ") .. " } },\n}\n")
    assert.equal(#GROUPS, #w, table.concat(w, "\n"))
  end)
end)

describe("warnings: no_new_privs #unit", function()
  it("warns when it is off, here or in a parent", function()
    local w = warnings("return {\n  extends = 'default',\n  seccomp = false,\n  no_new_privs = false,\n}\n")
    assert.equal("p.lua:4: no_new_privs: warning: no_new_privs is off: setuid and file-capability programs inside " ..
      "can gain privileges", w[2])
    w = warnings({ ["base.lua"] = "return {\n  extends = 'default',\n  capabilities = { 'sys_admin' },\n  no_new_privs = false,\n}\n",
      ["p.lua"] = "return { extends = 'base.lua' }\n" })
    assert.truthy(w[1]:find("^base%.lua:4: no_new_privs: warning: no_new_privs is off"), w[1])
  end)
end)

describe("warnings: capabilities that undo isolation #unit", function()
  it("warns for each, whatever the spelling, at its entry", function()
    local w = warnings("return {\n  extends = 'default',\n  capabilities = {\n    'CAP_SYS_ADMIN',\n    'net_bind_service',\n" ..
      "    'Cap_Sys_Ptrace',\n    'dac_read_search',\n  },\n}\n")
    assert.same({
      "p.lua:7: capabilities[4]: warning: keeps dac_read_search: reads every file of a mapped id, and opens " ..
        "files by handle around the mount view",
      "p.lua:4: capabilities[1]: warning: keeps sys_admin: mounts, namespaces and most of root's powers",
      "p.lua:6: capabilities[3]: warning: keeps sys_ptrace: traces and reads the memory of every process the sandbox can see",
    }, w)
    -- Added through a set edit over a parent.
    w = warnings({ ["base.lua"] = "return {\n  extends = 'default',\n  capabilities = { 'net_raw' },\n}\n",
      ["p.lua"] = "return {\n  extends = 'base.lua',\n  capabilities = { '+NET_ADMIN' },\n}\n" })
    only("p.lua:3: capabilities[1]: warning: keeps net_admin: reconfigures the network it is in (the host's, when it shares it)", w)
  end)

  it("warns for setuid and setgid only with more than one id mapped", function()
    local src = "return {\n  extends = 'default',\n  user = { map = MAP },\n  capabilities = { 'setuid', 'setgid' },\n}\n"
    assert.same({}, warnings((src:gsub("MAP", "'self'"))))
    assert.same({ "p.lua:4: capabilities[2]: warning: keeps setgid: moves between the gids mapped, more than one host gid",
      "p.lua:4: capabilities[1]: warning: keeps setuid: moves between the uids mapped, more than one host uid" },
      warnings((src:gsub("MAP", "'subid'"))))
  end)

  it("warns for net_raw with the host's network, and for any capability root keeps without a user namespace", function()
    local w = warnings("return {\n  namespaces = { 'user', 'mount', 'pid' },\n  mounts = { tmpfs '/tmp' },\n" ..
      "  capabilities = { 'net_raw' },\n}\n")
    assert.truthy(w[1]:find("^p%.lua:4: capabilities%[1%]: warning: keeps net_raw: raw sockets on the host's network"), w[1])
    w = warnings("return {\n  namespaces = { 'mount', 'pid', 'net' },\n  mounts = { tmpfs '/tmp' },\n" ..
      "  capabilities = { 'sys_nice' },\n}\n", ROOT)
    assert.equal("p.lua:4: capabilities[1]: warning: keeps sys_nice over the host's user namespace (no user " ..
      "namespace): a capability over the host's user namespace", w[2])
  end)
end)

describe("warnings: writable host paths #unit", function()
  it("warns for /, /etc, /root, /home and the caller's home, at the mount's line", function()
    local w = bound("bind('/', '/host')")
    assert.equal(2, #w) -- and the sockets in it
    assert.equal("p.lua:4: mounts[1]: warning: the host's / is writable from the sandbox: the host's whole file tree", w[1])
    only("p.lua:4: mounts[1]: warning: the host's /etc is writable from the sandbox: the host's configuration " ..
      "(passwd, sudoers, cron, systemd units)", bound("bind('/etc', '/host-etc')"))
    only("p.lua:4: mounts[1]: warning: the host's /root is writable from the sandbox: root's home", bound("bind '/root'"))
    only("p.lua:4: mounts[1]: warning: the host's /home is writable from the sandbox: every user's home", bound("bind '/home'"))
    only("p.lua:4: mounts[1]: warning: the host's /home/alice is writable from the sandbox: the caller's home",
      bound("bind '/home/alice'"))
    only("p.lua:4: mounts[1]: warning: the host's /home/bob is writable from the sandbox: a user's home",
      bound("bind '/home/bob'"))
  end)

  it("warns whatever the path's spelling, and for what lies under /etc or a home's startup files", function()
    for _, spelling in ipairs({ "/etc/", "//etc", "/./etc", "/etc//", "/etc/." }) do
      local w = bound("bind('" .. spelling .. "', '/e')")
      assert.equal(1, #w, spelling)
      assert.truthy(w[1]:find("the host's /etc is writable", 1, true), w[1])
    end
    only("p.lua:4: mounts[1]: warning: the host's /etc/passwd is writable from the sandbox: the host's " ..
      "configuration (passwd, sudoers, cron, systemd units)", bound("bind('/etc/passwd', '/p')"))
    only("p.lua:4: mounts[1]: warning: the host's /home/alice/.ssh is writable from the sandbox: the caller's " ..
      "startup files and keys", bound("bind '/home/alice/.ssh/'"))
    only("p.lua:4: mounts[1]: warning: the host's /root/.bashrc is writable from the sandbox: root's home",
      bound("bind('/root/.bashrc', '/b')", ROOT))
    -- A parent that holds /var/run.
    local w = bound("bind '/var'")
    assert.equal(2, #w) -- and the sockets in it
    assert.equal("p.lua:4: mounts[1]: warning: the host's /var is writable from the sandbox and holds /var/run: the " ..
      "host's runtime state and daemon sockets", w[1])
    -- An overlay writes into its upper directory.
    only("p.lua:4: mounts[1]: warning: the host's /etc is writable from the sandbox: the host's configuration " ..
      "(passwd, sudoers, cron, systemd units)", bound("overlay { '/x', lower = { '/usr' }, upper = '/etc', work = '/srv/w' }"))
    -- What stays quiet: a project inside the home, a read-only /etc, data elsewhere.
    assert.same({}, bound("bind '/home/alice/project'"))
    assert.same({}, bound("ro_bind('/etc', '/e')"))
    assert.same({}, bound("bind('/srv/data', '/data')"))
  end)

  -- A rule reads the host path a bind reaches, not its spelling (issue #9 review, F5):
  -- /bin is /usr/bin on a merged-/usr host, and any symlink counts the same way.
  it("warns for what a path resolves to on the host: merged /usr, and any symlink", function()
    local core = require "lunshare.core"
    local HOST = setmetatable({ resolve = function(p) return core.resolve(p, 1000) end }, { __index = ALICE })
    for _, p in ipairs({ "/bin", "/sbin", "/lib", "/lib64" }) do
      local real = core.resolve(p)
      if real and real ~= p then
        local w = bound("bind('" .. p .. "', '/x')", HOST)
        assert.equal(1, #w, p .. ": " .. table.concat(w, "\n"))
        assert.truthy(w[1]:find("the host's " .. real .. " is writable from the sandbox: the host's programs and libraries",
          1, true), w[1])
        -- Without the resolution the spelling alone says nothing.
        assert.same({}, bound("bind('" .. p .. "', '/x')"))
      end
    end
    local dir = tmpdir({})
    H.sh("ln -s /etc " .. dir .. "/conf && ln -s ../../../../../../../../root " .. dir .. "/r")
    only("p.lua:4: mounts[1]: warning: the host's /etc is writable from the sandbox: the host's configuration " ..
      "(passwd, sudoers, cron, systemd units)", bound("bind('" .. dir .. "/conf', '/c')", HOST))
    only("p.lua:4: mounts[1]: warning: the host's /root is writable from the sandbox: root's home",
      bound("bind('" .. dir .. "/r', '/c')", HOST))
    H.sh("rm -rf " .. dir)
  end)

  it("warns for the caller's runtime directory and /run", function()
    local w = bound("bind '/run/user/1000'")
    assert.equal("p.lua:4: mounts[1]: warning: the host's /run/user/1000 is writable from the sandbox: the caller's " ..
      "runtime directory and sockets", w[1])
    w = bound("bind '/run'")
    assert.equal("p.lua:4: mounts[1]: warning: the host's /run is writable from the sandbox: the host's runtime " ..
      "state and daemon sockets", w[1])
  end)

  it("warns for the host's whole tree: no mount namespace, or one without mounts", function()
    for _, ns in ipairs({ "'user', 'pid'", "'user', 'pid', 'mount'" }) do
      local w = warnings("return {\n  namespaces = { " .. ns .. ", 'net' },\n}\n")
      assert.truthy(w[1]:find("^p%.lua:2: namespaces: warning: the host's / is writable from the sandbox: the " ..
        "host's whole file tree"), w[1])
    end
  end)
end)

describe("warnings: sockets that hand out the host #unit", function()
  local TAIL = ": a socket that hands out the host (a read-only bind does not stop connect())"

  it("warns for the socket itself, read-only too", function()
    only("p.lua:4: mounts[1]: warning: the sandbox can connect to /run/docker.sock (Docker (root on the host))" .. TAIL,
      bound("ro_bind '/run/docker.sock'"))
    only("p.lua:4: mounts[1]: warning: the sandbox can connect to /var/run/docker.sock (Docker (root on the host))" .. TAIL,
      bound("ro_bind('/var/run/docker.sock/', '/d.sock')"))
    only("p.lua:4: mounts[1]: warning: the sandbox can connect to /run/dbus/system_bus_socket (the D-Bus system " ..
      "bus (systemd, polkit, logind))" .. TAIL, bound("ro_bind '/run/dbus'"))
    only("p.lua:4: mounts[1]: warning: the sandbox can connect to /run/user/1000/bus (the caller's D-Bus session " ..
      "bus (systemd-run --user starts anything))" .. TAIL, bound("ro_bind '/run/user/1000/bus'"))
    only("p.lua:4: mounts[1]: warning: the sandbox can connect to /run/systemd/private (systemd's private " ..
      "socket (starts any unit))" .. TAIL, bound("ro_bind '//run/systemd/'"))
  end)

  it("warns for a directory that holds them", function()
    local w = bound("ro_bind '/var/run'")
    assert.equal(1, #w)
    assert.truthy(w[1]:find("^p%.lua:4: mounts%[1%]: warning: the sandbox can connect to /var/run/docker%.sock"), w[1])
    w = bound("bind '/run'")
    assert.equal(2, #w)
    assert.truthy(w[2]:find("/run/docker.sock (Docker (root on the host)), /run/containerd/containerd.sock", 1, true), w[2])
  end)
end)

describe("warnings: host devices #unit", function()
  local TAIL = " is usable with its devices (dev_bind or the host's tree): disks, /dev/kvm, /dev/mem, other terminals"

  it("warns for dev_bind of /dev, a device in it, or a parent", function()
    local w = bound("dev_bind('/dev', '/hostdev')")
    assert.equal("p.lua:4: mounts[1]: warning: the host's /dev" .. TAIL, w[#w])
    only("p.lua:4: mounts[1]: warning: the host's /dev/kvm" .. TAIL, bound("dev_bind_try '/dev/kvm'"))
    only("p.lua:4: mounts[1]: warning: the host's /dev/dri" .. TAIL, bound("dev_bind '/dev/dri/'"))
    w = bound("dev_bind('/', '/host')")
    assert.equal("p.lua:4: mounts[1]: warning: the host's /dev" .. TAIL, w[#w])
  end)

  it("does not warn for the harmless ones, or without dev_bind", function()
    assert.same({}, bound("dev_bind '/dev/null'"))
    assert.same({}, bound("ro_bind '/dev/kvm'"))
  end)
end)

describe("warnings: the host's namespaces shared #unit", function()
  it("warns for the host's network, removed from a parent or asked for", function()
    only("p.lua:3: namespaces: warning: the host's network is shared: every host interface, services on " ..
      "127.0.0.1 and abstract unix sockets are reachable",
      warnings("return {\n  extends = 'default',\n  namespaces = { '-net' },\n}\n"))
    only("p.lua:4: network: warning: the host's network is shared: every host interface, services on 127.0.0.1 " ..
      "and abstract unix sockets are reachable",
      warnings("return {\n  extends = 'default',\n  namespaces = { '-net' },\n  network = 'host',\n}\n"))
  end)

  it("warns for the host's pid namespace", function()
    -- Without pid, default's proc mount is an error: take it out too.
    only("p.lua:3: namespaces: warning: the host's pid namespace is shared: the sandbox sees the host's " ..
      "processes and can signal those of its ids",
      warnings("return {\n  extends = 'default',\n  namespaces = { '-pid' },\n  mounts = { without '/proc' },\n}\n"))
  end)

  it("does not warn for a joined netns or veths", function()
    assert.same({}, warnings("return { extends = 'default', namespaces = { '-net' }, network = { join = 'x' } }"))
    assert.same({}, warnings("return { extends = 'default', network = { veth { host = 'lsh0', address = '10.0.0.2/24' } } }"))
  end)
end)

describe("warnings: parameters #unit", function()
  it("follow the value --set gives", function()
    local src = "local p = params { home = { values = { 'ro', 'rw' }, default = 'ro' } }\n" ..
      "return {\n  extends = 'default',\n  mounts = {\n    (p.home == 'rw' and bind or ro_bind)('/home/alice'),\n  },\n}\n"
    assert.same({}, warnings(src))
    only("p.lua:5: mounts[1]: warning: the host's /home/alice is writable from the sandbox: the caller's home",
      warnings(src, ALICE, { home = "rw" }))
  end)
end)

describe("grants summary #unit", function()
  it("is the same for every spelling of the same effect", function()
    local a = lines("return {\n  namespaces = { 'user', 'mount', 'net', 'pid' },\n  mounts = { bind('/etc/', '/e'), ro_bind '/usr' },\n" ..
      "  capabilities = { 'CAP_NET_RAW', 'net_raw' },\n  seccomp = { allow = { '@tty' } },\n" ..
      "  env = { keep = { 'TERM', 'LANG' } },\n  limits = { nofile = 64 },\n  keep_fds = { 9, 7 },\n}\n")
    local b = lines({ ["base.lua"] = "return {\n  namespaces = { 'pid', 'net', 'user', 'mount', 'ipc' },\n" ..
        "  mounts = { ro_bind '//usr/' },\n  limits = { RLIMIT_NOFILE = { 64, 64 } },\n}\n",
      ["p.lua"] = "return {\n  extends = 'base.lua',\n  namespaces = { '-ipc' },\n  mounts = { bind('/./etc', '/e') },\n" ..
        "  capabilities = { 'net_raw' },\n  seccomp = { allow = { 'ioctl' } },\n  env = { keep = { 'LANG', 'TERM', 'TERM' } },\n" ..
        "  keep_fds = { 7, 9 },\n}\n" })
    assert.same(a, b)
    local text, differ = diff.text(a, b, "a", "b")
    assert.is_false(differ)
    assert.truthy(text:find("they grant the same\n$"))
  end)

  it("summarises every area: namespaces, ids, environment, paths, network, boundary", function()
    local g = lines("return {\n  namespaces = { 'user', 'mount', 'net' },\n  user = { uid = 0 },\n" ..
      "  mounts = { tmpfs '/tmp', dev_bind '/dev/kvm' },\n  network = { veth { host = 'lsh0', address = '10.0.0.2/24', " ..
      "host_address = '10.0.0.1/24' } },\n  capabilities = { 'chown' },\n  seccomp = { allow = { 'ptrace' }, kill = { 'bpf' } },\n" ..
      "  limits = { memory = '1M', pids = 8 },\n  no_new_privs = true,\n}\n")
    assert.same({ "pid", "ipc", "uts", "cgroup", "time" }, g["namespaces shared with the host"])
    assert.same({ "uid 0 inside is host uid 1000", "gid 0 inside is host gid 1000",
      "the command runs as uid 0 gid 0 inside" }, g.ids)
    assert.same({ "kept from the caller: COLORTERM LANG LC_ALL LC_CTYPE TERM TZ" }, g.environment)
    assert.same({ "/dev/kvm from the host's /dev/kvm" }, g["host paths visible"])
    assert.same({ "/dev/kvm from the host's /dev/kvm, devices usable" }, g["host paths writable"])
    assert.same({ "/dev/kvm from the host's /dev/kvm" }, g["host devices usable"])
    assert.same({ "/tmp (tmpfs)" }, g["paths made inside"])
    assert.same({ "a network namespace of its own, loopback up",
      "veth eth0 to the host's lsh0, address 10.0.0.2/24, host side 10.0.0.1/24" }, g.network)
    assert.same({ "chown" }, g["capabilities kept"])
    assert.same({ "the default filter, less what is allowed below", "allowed beyond the default filter: ptrace (@ptrace)",
      "killed: bpf" }, g["system calls"])
    assert.same({ "no_new_privs on" }, g.privileges)
    assert.same({ "memory 1048576 bytes", "pids 8" }, g.limits)
    assert.same({ "a new session, without the caller's terminal" }, g.terminal)
  end)

  it("sees the host's whole tree without a mount namespace", function()
    local g = lines("return { namespaces = { 'user' } }\n")
    assert.same({ "/ (the host's whole file tree: no mount namespace)" }, g["host paths writable"])
    assert.same({ "the host's network (no network namespace)" }, g.network)
  end)

  it("prints no raw profile data", function()
    -- A field the summary does not know (description) and odd shapes stay out of it.
    local g = lines("return { description = 'secret-ish text', namespaces = { 'user' } }\n")
    for _, items in pairs(g) do
      for _, x in ipairs(items) do assert.falsy(x:find("secret", 1, true), x) end
    end
  end)
end)

describe("diff text #unit", function()
  it("lists every grant, marking what only one side has", function()
    local text, differ = diff.text({ a = { "x", "y" } }, { a = { "y", "z" } }, "old", "new")
    assert.is_true(differ)
    assert.equal("--- old\n+++ new\na:\n  - x\n    y\n  + z\nthey differ\n", text)
    local _, same = diff.text({ a = { "x" } }, { a = { "x" } }, "old", "new")
    assert.is_false(same)
  end)
end)
