-- `lunshare repl PROFILE`: the profile's sandbox, running while the REPL does, as `sb`.
--
-- The sandbox's command is a shell (/bin/sh -s of the sandbox's own root) that reads
-- requests on a pipe from the REPL: every command sb:exec runs is a child of the
-- sandbox's command, so it has exactly the command's confinement (namespaces, root,
-- capabilities, no_new_privs, seccomp filter, cgroup, rlimits, ids, environment), and
-- nothing new is granted to reach it. The supervisor is a child of the REPL in a session
-- of its own, so that Ctrl-C at the REPL's prompt never reaches the sandbox; it tears the
-- sandbox down as `lunshare run` does when the shell ends: at sb:stop(), when the REPL
-- ends, or when the REPL dies (its end of the pipe closes).
local core = require "lunshare.core"
local hotplug = require "lunshare.hotplug"
local naming = require "lunshare.naming"
local sandboxes = require "lunshare.sandboxes"
local util = require "lunshare.util"

local M = {}

local Sandbox = {}
Sandbox.__index = Sandbox

-- One word quoted for the sandbox's /bin/sh, which runs it: POSIX quoting, since dash
-- has no $'…' (util.shell_quote's form, for people reading explain).
local quote = util.posix_quote

local function token()
  local f = io.open("/dev/urandom", "rb")
  local bytes = f and f:read(8) or tostring(os.time()) .. tostring({})
  if f then f:close() end
  return "lsh-done-" .. bytes:gsub(".", function(c) return string.format("%02x", c:byte()) end)
end

local function check_running(sb, what)
  if sb.stopped then
    error("sb:" .. what .. ": the sandbox of " .. sb.profile .. " has stopped" ..
      (sb.status and (" (status " .. sb.status .. ")") or ""), 3)
  end
end

-- Sends a line of shell to the sandbox's shell and reads what it prints up to the end
-- marker: output, status. A request that Ctrl-C interrupted leaves its output behind,
-- which the next request skips (each has a marker of its own).
local EINTR = core.errno.EINTR

local function request(sb, script, hold_interrupts)
  local mark = token()
  local ok, err = sb.input:write(script, "; printf '\\n%s %d\\n' ", mark, ' "$?"\n')
  if ok then ok, err = sb.input:flush() end
  if not ok then
    sb:stop()
    return nil, "the sandbox's shell is gone: " .. tostring(err)
  end
  local out = {}
  while true do
    local line, err, errno = sb.output:read("L")
    if line == nil and errno == EINTR and hold_interrupts then
      line = ""
    elseif line == nil and err then
      error(err, 0) -- Ctrl-C: the REPL's hook raises first
    end
    if line == nil then
      sb:stop()
      return nil, "the sandbox's shell ended" .. (sb.status and (" (status " .. sb.status .. ")") or ""),
        table.concat(out)
    end
    local seen, status = line:match("^(lsh%-done%-%x+) (%d+)\n$")
    if seen == mark then
      -- The newline before the marker is ours.
      local text = table.concat(out):gsub("\n$", "")
      return text, math.tointeger(tonumber(status))
    end
    out[#out + 1] = line
  end
end

-- sb:exec{ "ip", "addr" } -> output, status: the command's standard output and error
-- (together, as a terminal shows them), and its exit status (127: not found).
function Sandbox:exec(argv)
  check_running(self, "exec")
  if type(argv) == "string" then argv = { argv } end
  if type(argv) ~= "table" or #argv == 0 then
    error("sb:exec: expected a command as a list of words, e.g. sb:exec{ \"ip\", \"addr\" }", 2)
  end
  local words = {}
  for i, a in ipairs(argv) do
    if type(a) ~= "string" and math.type(a) ~= "integer" then
      error("sb:exec: word " .. i .. " of the command is a " .. type(a) .. ", not a string", 2)
    end
    words[i] = quote(tostring(a))
  end
  -- exec in a subshell: a word is a program, never a builtin of the server (exit, cd).
  local out, status = request(self, "(exec " .. table.concat(words, " ") .. ") </dev/null 2>&1")
  if out == nil then error("sb:exec: " .. status, 2) end
  return out, status
end

local function first_child(pid)
  local f = io.open(string.format("/proc/%d/task/%d/children", pid, pid))
  local text = f and f:read("a") or ""
  if f then f:close() end
  return math.tointeger(tonumber(text:match("%d+")))
end

-- The record `lunshare enter` would read for this sandbox: its own when it is a named one
-- (a profile's name, repl --name), else the same fields from the plan it was started with.
function Sandbox:record()
  check_running(self, "record")
  if self.name then
    local rec, err = sandboxes.find(self.name)
    if rec then return rec end
    return nil, err or (self.name .. ": no record of it (see 'lunshare ps')")
  end
  local init = first_child(self.supervisor)
  if not init then return nil, "the sandbox has no process" end
  local user = self.user_ns and select(3, core.ns_id(init, "user")) or nil
  return { name = self.profile, path = "the sandbox of " .. self.profile, file = self.profile, pid = init,
    enter = self.enter_data, ns = { user = user } }
end

-- sb:enter([shell]) -> status: a shell in the sandbox on the REPL's terminal, until it
-- exits, through the path of `lunshare enter`: a process joined to the sandbox's command
-- with exactly its confinement, a pty of its own.
function Sandbox:enter(shell)
  check_running(self, "enter")
  if not (core.isatty(0) and core.isatty(1)) then
    error("sb:enter: needs a terminal (use sb:exec to run a command)", 2)
  end
  local rec, err = self:record()
  if not rec then error("sb:enter: " .. err, 2) end
  local plan, perr = hotplug.enter_plan(rec, { shell or "/bin/sh" }, core.foreground(0))
  if not plan then error("sb:enter: " .. perr, 2) end
  io.stdout:flush()
  io.stderr:flush()
  -- Ctrl-C on the shell's terminal is the shell's: the REPL waits for it to exit.
  core.cpu_hold(true)
  local ok, code, msg = pcall(core.spawn, plan)
  core.cpu_hold(false)
  debug.sethook()
  if not ok then error(code, 0) end
  if not code then error("sb:enter: " .. msg, 2) end
  return code
end

-- sb:plug("bind", SRC [, DST] [, { rw = true }]) or sb:plug("veth", HOSTIF [, { name =,
-- address =, host_address =, routes =, bridge = }]) or sb:plug("veth", IF, { to =
-- "OTHER[:IF2]", address =, host_address = (OTHER's end), routes = }) -> the object
-- recorded: added while the sandbox runs, as `lunshare plug NAME bind|veth` adds it (a
-- named sandbox only).
function Sandbox:plug(kind, src, dst, opts)
  check_running(self, "plug")
  if type(dst) == "table" then dst, opts = nil, dst end
  if kind == "veth" then
    if type(src) ~= "string" then error("sb:plug: expected sb:plug(\"veth\", HOSTIF [, { name =, address =, … }])", 2) end
    if not self.name then error("sb:plug: the sandbox has no name (start it with 'lunshare repl --name NAME')", 2) end
    local rec, err = self:record()
    if not rec then error("sb:plug: " .. err, 2) end
    local o = type(opts) == "table" and opts or {}
    local function strings(v) return type(v) == "string" and { v } or v end
    local to, peer
    if o.to ~= nil then
      if type(o.to) ~= "string" then error("sb:plug: to: expected \"OTHER[:IF2]\", a named sandbox of yours", 2) end
      local other, if2 = o.to:match("^([^:]+):(.+)$")
      local orec, oerr = sandboxes.lookup(other or o.to)
      if not orec then error("sb:plug: to: " .. oerr, 2) end
      to, peer = orec, if2
    end
    local obj, perr = hotplug.plug_veth(rec, { host = src, name = o.name, address = strings(o.address),
      host_address = strings(o.host_address), routes = o.routes, bridge = o.bridge, to = to, peer = peer })
    if not obj then error("sb:plug: " .. perr, 2) end
    return obj
  end
  if kind ~= "bind" then error("sb:plug: expected \"bind\" or \"veth\", got " .. tostring(kind), 2) end
  if type(src) ~= "string" or (dst ~= nil and type(dst) ~= "string") then
    error("sb:plug: expected sb:plug(\"bind\", SRC [, DST] [, { rw = true }])", 2)
  end
  if not self.name then error("sb:plug: the sandbox has no name (start it with 'lunshare repl --name NAME')", 2) end
  local rec, err = self:record()
  if not rec then error("sb:plug: " .. err, 2) end
  local obj, perr = hotplug.plug_bind(rec, src, dst, type(opts) == "table" and opts.rw == true)
  if not obj then error("sb:plug: " .. perr, 2) end
  return obj
end

-- sb:unplug(OBJECT) -> true: takes away what sb:plug (or lunshare plug) added.
function Sandbox:unplug(id)
  check_running(self, "unplug")
  if type(id) == "table" then id = id.id end
  if type(id) ~= "string" then error("sb:unplug: expected what was plugged (its target)", 2) end
  if not self.name then error("sb:unplug: the sandbox has no name", 2) end
  local rec, err = self:record()
  if not rec then error("sb:unplug: " .. err, 2) end
  local ok, uerr = hotplug.unplug(rec, id)
  if not ok then error("sb:unplug: " .. uerr, 2) end
  return true
end

-- The pid, outside, of the sandbox's command (the shell): the supervisor's child, or
-- that one's child when it is the sandbox's pid 1 that reaps. The command's namespaces
-- are what a rootless caller may open: pid 1 changed ids without exec, so it is not
-- dumpable, while the command was exec'd in the sandbox's user namespace.
function Sandbox:pid()
  check_running(self, "pid")
  local init = first_child(self.supervisor)
  if not init then return nil end
  return self.reaper and first_child(init) or init
end

-- sb:links() -> the sandbox's links ({ name =, index =, up =, mtu =, mac = }, …) as
-- netlink reports them, read by a child of the REPL that joins the sandbox's user (when
-- it has one) and network namespaces: the REPL itself never changes namespace.
function Sandbox:links()
  check_running(self, "links")
  local pid = self:pid()
  if not pid then error("sb:links: the sandbox has no process", 2) end
  local user, uerr = core.ns_open(pid, "user")
  if not user then error("sb:links: " .. uerr, 2) end
  local net, nerr = core.ns_open(pid, "net")
  if not net then
    user:close()
    error("sb:links: " .. nerr, 2)
  end
  -- Entering one's own user namespace again is refused (EINVAL).
  local join_user = core.ns_id(pid, "user") ~= core.ns_id(0, "user")
  local r, w = assert(core.pipe())
  io.stdout:flush()
  io.stderr:flush()
  local child, pidfd = core.clone({})
  if child == 0 then
    r:close()
    local ok, err = pcall(function()
      if join_user then assert(core.setns(user, "user")) end
      assert(core.setns(net, "net"))
      local nl = assert(core.netlink())
      for _, l in ipairs(assert(nl:links())) do
        w:write(string.format("%d\t%s\t%s\t%d\t%s\n", l.index, l.name, tostring(l.up), l.mtu or 0, l.mac or ""))
      end
    end)
    if not ok then w:write("error\t", tostring(err):gsub("\n", " "), "\n") end
    w:close()
    core._exit(ok and 0 or 1)
  end
  w:close()
  user:close()
  net:close()
  if not child then
    r:close()
    error("sb:links: " .. tostring(pidfd), 2)
  end
  local links = {}
  local failed
  for line in r:lines() do
    local f = {}
    for x in (line .. "\t"):gmatch("(.-)\t") do f[#f + 1] = x end
    if f[1] == "error" then
      failed = f[2]
    else
      links[#links + 1] = { index = math.tointeger(tonumber(f[1])), name = f[2], up = f[3] == "true",
        mtu = math.tointeger(tonumber(f[4])), mac = f[5] ~= "" and f[5] or nil }
    end
  end
  r:close()
  core.wait(pidfd)
  pidfd:close()
  if failed then error("sb:links: " .. failed, 2) end
  return links
end

-- sb:stop([seconds]) -> status: ends the shell (its input closes), then TERM and KILL to
-- the supervisor after `seconds` (5) each; the supervisor removes what the run made.
-- Stopping a stopped sandbox returns its status again.
function Sandbox:stop(seconds)
  if self.stopped then return self.status end
  self.stopped = true
  pcall(self.input.close, self.input)
  local deadline = seconds or 5
  local function wait_for(t)
    local waited = 0
    while waited < t do
      local code = core.wait(self.pidfd, true)
      if code ~= false and code ~= nil then return code end
      core.sleep(0.02)
      waited = waited + 0.02
    end
  end
  local code = wait_for(deadline)
  if not code then
    core.kill(self.pidfd, core.signum("TERM"))
    code = wait_for(deadline)
  end
  if not code then
    core.kill(self.pidfd, core.signum("KILL"))
    code = core.wait(self.pidfd)
  end
  pcall(self.output.close, self.output)
  self.pidfd:close()
  self.status = code
  return code
end

function Sandbox:__tostring()
  return "sandbox " .. self.profile .. (self.stopped and " (stopped)" or (" (supervisor " .. self.supervisor .. ")"))
end

Sandbox.__close = function(self) self:stop() end
Sandbox.__gc = Sandbox.__close

-- The sandbox's command: the shell that serves the requests.
M.COMMAND = { "/bin/sh", "-s" }

-- The methods, by the name lunshare-lua(3) gives them (sb:exec), for help.
M.class = Sandbox

-- Starts the sandbox of a plan made for the command { "/bin/sh", "-s" }: the handle, or
-- nil and why. name: what messages call the profile.
function M.start(plan, name)
  local in_r, in_w = assert(core.pipe())
  local out_r, out_w = assert(core.pipe())
  io.stdout:flush()
  io.stderr:flush()
  local pid, pidfd, errno = core.clone({})
  if pid == 0 then
    in_w:close()
    out_r:close()
    local ok, code = pcall(function()
      assert(core.setsid())
      assert(core.dup2(in_r, 0))
      assert(core.dup2(out_w, 1))
      in_r:close()
      out_w:close()
      local status, msg = core.spawn(plan)
      if not status then
        -- On the pipe the REPL reads: start() says it, as one line.
        io.stdout:write(tostring(msg), "\n")
        return 1
      end
      return status
    end)
    if not ok then io.stderr:write("lunshare: ", name, ": ", tostring(code), "\n") end
    io.stdout:flush()
    io.stderr:flush()
    core._exit(ok and code or 1)
  end
  in_r:close()
  out_w:close()
  if not pid then
    in_w:close()
    out_r:close()
    return nil, "cannot start the supervisor: " .. tostring(pidfd), errno
  end
  in_w:setvbuf("no")
  local reaper = false
  -- pid 1 reaps when the exec step says so (its reaper field).
  for _, step in ipairs(plan.steps) do reaper = reaper or (step.op == "exec" and step.reaper == true) end
  local rec_name, user_ns
  for _, step in ipairs(plan.steps) do
    if step.op == "record" then rec_name = step.name end
    if step.op == "clone" then
      for _, k in ipairs(step.namespaces) do user_ns = user_ns or k == "user" end
    end
  end
  local sb = setmetatable({ supervisor = pid, pidfd = pidfd, input = in_w, output = out_r, profile = name,
    reaper = reaper, name = rec_name, user_ns = user_ns, enter_data = naming.enter_of(plan) }, Sandbox)
  -- The first request says the shell is there, or why not.
  local out, why, said = request(sb, "true")
  if out == nil then
    said = (said or ""):match("([^\n]*)\n?$")
    if said ~= "" then why = said end
    return nil, name .. ": the sandbox did not start: " .. why .. " (sb needs /bin/sh in the sandbox)"
  end
  return sb
end

return M
