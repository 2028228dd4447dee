-- The default seccomp filter, by behaviour and rule by rule: every call the default profile
-- refuses is made inside a real sandbox by the syscall probe (tests/containment/syscall.c)
-- and must fail with the rule's errno without reaching the kernel; with that one rule
-- lifted (`seccomp = { allow = { NAME } }`) the same call must get through to the kernel.
-- The expected errno is the rule table's own (lunshare.security.DEFAULT_SECCOMP), and the
-- table must hold every call issue 9 names, so a rule taken out of the table fails here.
-- As root and rootless. #integration #seccomp
local H = require "helpers"
local core = require "lunshare.core"
local security = require "lunshare.security"

-- Every call the filter must refuse, written here apart from the table, with the errno
-- the design gives it: EPERM, but ENOSYS for clone3 (so that libc falls back to clone,
-- whose flags the filter can read) and EINVAL for a personality other than PER_LINUX.
local REQUIRED = {
  { "clone", "EPERM" }, { "unshare", "EPERM" }, { "clone3", "ENOSYS" },
  { "perf_event_open", "EPERM" }, { "userfaultfd", "EPERM" }, { "bpf", "EPERM" },
  { "io_uring_setup", "EPERM" }, { "io_uring_enter", "EPERM" }, { "io_uring_register", "EPERM" },
  { "process_vm_readv", "EPERM" }, { "process_vm_writev", "EPERM" }, { "ptrace", "EPERM" },
  { "keyctl", "EPERM" }, { "add_key", "EPERM" }, { "request_key", "EPERM" },
  { "personality", "EINVAL" },
  { "kexec_load", "EPERM" }, { "kexec_file_load", "EPERM" },
  { "init_module", "EPERM" }, { "finit_module", "EPERM" }, { "delete_module", "EPERM" },
  { "mount", "EPERM" }, { "umount2", "EPERM" }, { "pivot_root", "EPERM" }, { "open_tree", "EPERM" },
  { "move_mount", "EPERM" }, { "fsopen", "EPERM" }, { "fsconfig", "EPERM" }, { "fsmount", "EPERM" },
  { "fspick", "EPERM" }, { "mount_setattr", "EPERM" },
  { "open_by_handle_at", "EPERM" },
  { "ioctl:TIOCSTI", "EPERM" }, { "ioctl:TIOCLINUX", "EPERM" },
  { "iopl", "EPERM" }, { "ioperm", "EPERM" },
  { "clock_settime", "EPERM" }, { "settimeofday", "EPERM" }, { "clock_adjtime", "EPERM" }, { "adjtimex", "EPERM" },
  { "swapon", "EPERM" }, { "swapoff", "EPERM" }, { "reboot", "EPERM" }, { "syslog", "EPERM" }, { "acct", "EPERM" },
  -- @setid-files (issue 10): no setuid or setgid mode, by each call that sets a mode
  { "chmod:suid", "EPERM" }, { "chmod:sgid", "EPERM" }, { "fchmod:suid", "EPERM" }, { "fchmod:sgid", "EPERM" },
  { "fchmodat:suid", "EPERM" }, { "fchmodat:sgid", "EPERM" }, { "creat:suid", "EPERM" }, { "creat:sgid", "EPERM" },
  { "open:creat:suid", "EPERM" }, { "open:creat:sgid", "EPERM" }, { "open:tmpfile:suid", "EPERM" },
  { "open:tmpfile:sgid", "EPERM" }, { "openat:creat:suid", "EPERM" }, { "openat:creat:sgid", "EPERM" },
  { "openat:tmpfile:suid", "EPERM" }, { "openat:tmpfile:sgid", "EPERM" },
  { "mknod:suid", "EPERM" }, { "mknod:sgid", "EPERM" }, { "mknodat:suid", "EPERM" }, { "mknodat:sgid", "EPERM" },
  { "openat2", "ENOSYS" },
}

-- The terminal requests the ioctl rules name, by the value in their condition.
local IOCTLS = { ["0x5412"] = "TIOCSTI", ["0x541c"] = "TIOCLINUX" }

-- Calls the kernel itself refuses to an unprivileged caller with EPERM before it looks at
-- the arguments (a capability of the initial namespace, or dmesg_restrict): lifted, they
-- fail with the same errno as under the filter, and only the probe's "reached" tells the
-- two apart. Every other call must also give a different result once lifted.
local KERNEL_EPERM = {
  kexec_load = true, kexec_file_load = true, init_module = true, finit_module = true,
  delete_module = true, pivot_root = true, move_mount = true, fsopen = true, fsmount = true,
  fspick = true, open_by_handle_at = true, acct = true, swapoff = true, reboot = true, syslog = true,
}

-- What the probe makes of a rule: labels it knows ("ioctl:TIOCSTI" and its high-bit form).
local function labels_of(rule)
  if rule.group == "@setid-files" and rule[2] ~= "openat2" then
    -- The mode's bit is the last condition; open's flag before it.
    local function value(cond) return tonumber(cond:match("==(0x%x+)$")) end
    local label = rule[2]
    if #rule > 3 then label = label .. (value(rule[3]) == core.O_TMPFILE and ":tmpfile" or ":creat") end
    return { label .. (value(rule[#rule]) == core.S_ISUID and ":suid" or ":sgid") }
  end
  if rule[2] == "ioctl" then
    -- (an unmasked condition is read too, so that the high-bit form shows what it misses)
    local cond = rule[3] or ""
    local req = cond:match("^a1&0xffffffff==(0x%x+)$") or cond:match("^a1==(0x%x+)$")
    local name = IOCTLS[req]
    if not name then return nil end
    return { "ioctl:" .. name, "ioctl:" .. name .. ":high" }
  end
  return { rule[2] }
end

local function label_of(rule)
  local l = labels_of(rule)
  return l and l[1]
end

-- The table's rule for a label, or nil.
local function rule_for(label)
  for _, r in ipairs(security.DEFAULT_SECCOMP) do
    if label_of(r) == label then return r end
  end
end

-- "keyctl errno=1 reached" lines → { [label] = { result = "errno=1", reached = true } }
local function parse(out)
  local t = {}
  for line in out:gmatch("[^\n]+") do
    line = line:gsub("\r", ""):gsub("^%s+", "")
    local label, rest = line:match("^(%S+) (.*)$")
    if label and rest:match("^skip:") then
      t[label] = { skip = rest }
    elseif label then
      t[label] = { result = rest:match("^%S+"), reached = rest:match(" reached$") ~= nil, line = line }
    end
  end
  return t
end

-- The probe travels on stdin, so the sandbox's root need not show the build directory.
local INSIDE = 'p=$(mktemp) && cat > "$p" && chmod 700 "$p" && "$p" "$@"; rc=$?; rm -f "$p"; exit $rc'

local probe -- a copy anyone may read, in the suite's temporary directory

setup(function()
  probe = os.tmpname()
  assert(H.sh("cp " .. H.quote(H.probes .. "/syscall") .. " " .. probe .. " && chmod 755 " .. probe).code == 0)
end)

teardown(function()
  if probe then os.remove(probe) end
end)

describe("the default seccomp filter's table", function()
  it("holds a rule for every call the sandbox must not make, with its errno", function()
    for _, want in ipairs(REQUIRED) do
      local r = rule_for(want[1])
      assert.truthy(r, "no default rule refuses " .. want[1])
      assert.equal(want[2], r[1], want[1])
    end
    -- The terminal rules look at the low 32 bits only: the kernel drops the others.
    for _, r in ipairs(security.DEFAULT_SECCOMP) do
      if r[2] == "ioctl" then assert.truthy(r[3]:find("^a1&0xffffffff=="), r[3]) end
    end
  end)

  it("has a probe for every rule", function()
    for _, r in ipairs(security.DEFAULT_SECCOMP) do
      assert.truthy(labels_of(r), "the syscall probe knows no call for the rule " .. table.concat(r, " "))
    end
  end)
end)

for _, mode in ipairs(H.modes) do
  describe("the default seccomp filter (" .. mode .. ")", function()
    -- Runs the probe for labels inside a profile; with the terminal, in a pty of its own
    -- that is the command's controlling terminal (the profile keeps the caller's session).
    local function run_probe(profile, labels, tty)
      local cmd = "timeout -k 5 60 " .. H.quote(H.bin) .. " run " .. H.quote(profile) .. " -- sh -c " ..
        H.quote(INSIDE) .. " probe " .. H.join(labels) .. " < " .. probe
      if tty then cmd = "timeout -k 5 90 script -qec " .. H.quote(cmd) .. " /dev/null" end
      local r = H.sh(cmd, { mode = mode })
      return parse(r.out), r
    end

    local tty_profile = H.profile('return { extends = "default", terminal = true }\n')

    -- Under the default profile: every label at once (the terminal ones in their pty).
    local filtered
    local function under_default()
      if filtered then return filtered end
      local plain, tty = {}, {}
      for _, r in ipairs(security.DEFAULT_SECCOMP) do
        for _, l in ipairs(labels_of(r) or {}) do
          local list = r[2] == "ioctl" and tty or plain
          list[#list + 1] = l
        end
      end
      plain[#plain + 1] = "personality:linux"
      local a, ra = run_probe("default", plain)
      local b, rb = run_probe(tty_profile, tty, true)
      filtered = { raw = ra.out .. ra.err .. rb.out .. rb.err }
      for k, v in pairs(a) do filtered[k] = v end
      for k, v in pairs(b) do filtered[k] = v end
      return filtered
    end

    for _, rule in ipairs(security.DEFAULT_SECCOMP) do
      local name = rule[2]
      local labels = labels_of(rule)
      local what = name .. (rule[3] and (" " .. table.concat(rule, " ", 3)) or "")
      it("refuses " .. what .. " with " .. rule[1] .. ", and lets it reach the kernel once lifted", function()
        assert.truthy(labels, "no probe for " .. what)
        local want = "errno=" .. assert(security.ERRNO[rule[1]], rule[1])
        local f = under_default()
        local tty = name == "ioctl"
        local lifted = H.profile(string.format('return { extends = "default", terminal = %s, seccomp = { allow = { %q } } }\n',
          tostring(tty), name))
        local l, lr = run_probe(lifted, labels, tty)
        for _, label in ipairs(labels) do
          local got = f[label]
          assert.truthy(got, label .. ": no answer from the probe under the filter: " .. f.raw)
          if got.skip then
            pending(label .. ": " .. got.skip)
            return
          end
          assert.equal(want, got.result, label .. " under the default filter: " .. tostring(got.line))
          assert.is_false(got.reached, label .. " reached the kernel under the default filter")
          local free = l[label]
          assert.truthy(free, label .. ": no answer from the probe with the rule lifted: " .. lr.out .. lr.err)
          assert.is_true(free.reached, label .. " did not reach the kernel with " .. name .. " allowed: " .. free.line)
          if not KERNEL_EPERM[name] then
            assert.not_equal(want, free.result, label .. " fails the same way with the rule lifted")
          end
        end
      end)
    end

    it("lets personality(PER_LINUX) through the default filter", function()
      local got = under_default()["personality:linux"]
      assert.truthy(got, under_default().raw)
      assert.equal("ok", got.result, got.line)
      assert.is_true(got.reached, got.line)
    end)
  end)
end
