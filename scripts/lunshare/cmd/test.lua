-- `lunshare test NAME|FILE [--set K=V]…`: runs a recipe's checks (lunshare.checks) on this
-- machine and prints one line for each, then a summary. Exit 0 when every check holds,
-- 1 when one does not, 2 for a profile or usage error.
--
-- Each check loads the recipe again with its own parameters (the declaration's `test`
-- value, then --set, then the check's `set`), the scratch files and directories it asks
-- for made in a private directory that is removed at the end. A check runs only when
-- nothing its sandbox can write on the host lies outside that directory: testing a
-- recipe never hands it the caller's files. Isolation checks run lunshare-probe inside
-- the sandbox, bound read-only at /.lunshare-probe; each command has a time limit.
local checks = require "lunshare.checks"
local command = require "lunshare.command"
local core = require "lunshare.core"
local evaluator = require "lunshare.evaluator"
local grants = require "lunshare.grants"
local installed = require "lunshare.installed"
local mounts = require "lunshare.mounts"
local planner = require "lunshare.plan"
local profile = require "lunshare.profile"
local schema = require "lunshare.schema"
local scratch = require "lunshare.scratch"
local security = require "lunshare.security"
local util = require "lunshare.util"
-- Where an installed lunshare put the probe: the executable knows (lunshare.embedded), a
-- stock lua5.4 reads lunshare.paths; neither in a build tree.
local has_embedded, embedded = pcall(require, "lunshare.embedded")
local has_paths, paths = pcall(require, "lunshare.paths")

local EXIT_RUNTIME, EXIT_USAGE = command.EXIT_RUNTIME, command.EXIT_USAGE

local M = {}
local PROBE_AT = "/.lunshare-probe"
-- How long a probe's connect waits.
local CONNECT_MS = 2000
-- What of a failed command's output the report shows.
local SHOWN_LINES = 4


local function parse(args)
  local o = command.options("test", args)
  if o.help then return nil end
  if #o.positional > 1 or o.dashdash then command.usage_error("test: one profile at a time") end
  local name = o.positional[1]
  if not name then command.usage_error("test: expected a profile") end
  return name, o.set
end

-- Where lunshare-probe is: the installed one beside an installed lunshare, else beside
-- this executable (a build tree), else where paths.lua says.
local function find_probe()
  local candidates = {}
  if has_embedded and embedded.probe then candidates[#candidates + 1] = embedded.probe end
  local self = core.readlink("/proc/self/exe")
  if self then candidates[#candidates + 1] = self:match("^(.*)/[^/]*$") .. "/lunshare-probe" end
  if has_paths and paths.probe then candidates[#candidates + 1] = paths.probe end
  for _, c in ipairs(candidates) do
    if core.kind(c) == "file" then return c end
  end
  return nil, "lunshare-probe is not installed (looked at " .. table.concat(candidates, ", ") .. ")"
end

local function load(name, set, placeholders)
  local p, errs = profile.load(name, { set = set, placeholders = placeholders })
  if p then return p end
  local lines = {}
  for _, e in ipairs(errs) do lines[#lines + 1] = schema.format_error(e) end
  return nil, lines
end

local function tostr(v)
  if type(v) == "boolean" then return v and "true" or "false" end
  return tostring(v)
end

-- The host ids the command runs as: for a root caller, the unprivileged ids of its
-- sandbox (a writable scratch directory is given to them: until writable binds are
-- idmapped, root inside cannot write a directory root owns); for others, their own.
local function command_ids(p, ctx)
  local uid_map, gid_map = planner.id_maps(p, ctx)
  local u = type(p.user) == "table" and p.user or {}
  local function host(map, inside)
    for a, b, c in (map or ""):gmatch("(%d+) (%d+) (%d+)") do
      a, b, c = tonumber(a), tonumber(b), tonumber(c)
      if inside >= a and inside < a + c then return b + inside - a end
    end
    return nil
  end
  return host(uid_map, u.uid or 0), host(gid_map, u.gid or 0)
end

-- The mount points of the sandbox's own filesystems in a plan: what is written there
-- stays in the sandbox.
local function private_mounts(plan)
  local out = {}
  for _, s in ipairs(plan.steps) do
    if s.op == "rootfs" then out[#out + 1] = "/"
    elseif s.op == "tmpfs" or s.op == "mqueue" then out[#out + 1] = s.dst
    elseif s.op == "overlay" and not s.upper then out[#out + 1] = s.dst
    elseif s.op == "dev" then
      out[#out + 1] = s.dst
      out[#out + 1] = s.dst .. "/pts"
    elseif s.op == "proc" then
      -- proc itself, and the read-only binds of its own files over it.
      for _, sub in ipairs({ "", "/sys", "/sysrq-trigger", "/irq", "/bus" }) do out[#out + 1] = s.dst .. sub end
    end
  end
  return out
end

local function has_own_root(p)
  return util.contains(type(p.namespaces) == "table" and p.namespaces or {}, "mount") and type(p.mounts) == "table"
end

-- Whether the caller can read path outside any sandbox: a check that the sandbox cannot
-- read what nobody can read here proves nothing. Asked of the kernel, never by opening
-- it (a recipe's name may be a FIFO, a device or /proc/kmsg: core.readable); what is
-- neither a regular file nor a directory is no file to hide, and its check is skipped.
local readable_outside = core.readable

local function matches(text, want)
  if type(want) == "string" then return text:find(want, 1, true) ~= nil end
  -- A pattern from a recipe on output of up to 1 MiB: its worst case is bounded first.
  local steps = evaluator.pattern_steps(#text, want.pattern, true)
  if steps > evaluator.PATTERN_LIMIT then return nil, "the pattern is too much work on this output" end
  return text:find(want.pattern) ~= nil
end

local function want_text(want)
  return type(want) == "string" and string.format("%q", want) or ("the pattern " .. string.format("%q", want.pattern))
end

-- The last lines of an output, escaped, for the report.
local function tail(label, text)
  if not text or text == "" then return {} end
  local lines = {}
  for l in text:gmatch("[^\n]+") do lines[#lines + 1] = l end
  local out = {}
  for i = math.max(1, #lines - SHOWN_LINES + 1), #lines do
    out[#out + 1] = "     " .. label .. "| " .. util.escape(lines[i], 200)
  end
  return out
end

-- Judges a command check from its outcome; returns nil (it holds) or why not.
local function judge_run(e, p, r)
  local code, out, err = r.code, r.out, r.err
  if e.killed_by then
    local sig = code > 128 and code - 128 or nil
    local how = sig and ("signal " .. sig) or ("exit " .. code)
    if e.killed_by == "memory" then
      if not r.oom then return "expected the memory limit to kill it; it ended with " .. how end
    elseif e.killed_by == "cpu" then
      local ok = sig == core.signals.XCPU or (sig == core.signals.KILL and not r.oom)
      if not ok then return "expected the cpu limit to kill it (SIGXCPU or SIGKILL); it ended with " .. how end
    elseif e.killed_by == "fsize" then
      if sig ~= core.signals.XFSZ then return "expected the fsize limit to kill it (SIGXFSZ); it ended with " .. how end
    end
  elseif e.fails then
    if code == 0 then return "expected it to fail; it exited 0" end
  elseif e.exit ~= nil then
    if code ~= e.exit then return "expected exit " .. e.exit .. ", got " .. code end
  elseif code ~= 0 then
    return "exited " .. code .. (r.oom and " (killed by the memory limit)" or "")
  end
  for _, f in ipairs({ { "prints", out, "stdout" }, { "stderr", err, "stderr" } }) do
    local want = e[f[1]]
    if want ~= nil then
      local ok, why = matches(f[2], want)
      if why then return why end
      if not ok then return "expected " .. want_text(want) .. " on " .. f[3] end
    end
  end
  return nil
end

-- Whether src is, or lies beneath, one of the host paths in visible (a set).
local function shown(visible, src)
  local p = src
  while p and p ~= "" do
    if visible[p] then return true end
    p = p:match("^(.*)/[^/]*$")
  end
  return visible["/"] == true
end

-- Runs one check; returns "ok" | "fail" | "skip" and a reason, and lines of output.
local function run_check(ctx, i, e)
  local scratch, base = ctx.scratch, "c" .. i
  local cdir <close> = scratch:dir(base)
  -- The parameters: declarations' test values, then --set, then the check's own.
  local values, made = {}, {}
  for k, d in pairs(ctx.decls) do
    if type(d.decl) == "table" and d.decl.test ~= nil then values[k] = d.decl.test end
  end
  for k, v in pairs(ctx.set) do values[k] = v end
  for k, v in pairs(e.set or {}) do values[k] = v end
  local set = {}
  for _, k in ipairs(util.sorted_keys(values)) do
    local v = values[k]
    if type(v) == "table" then
      set[k] = scratch:make(base .. "/" .. k, v)
      made[#made + 1] = { rel = base .. "/" .. k, path = set[k] }
    else
      set[k] = tostr(v)
    end
  end
  local p, errs = load(ctx.name, set)
  if not p then return "fail", "the recipe does not load with this check's parameters: " .. (errs[1] or "?") end
  -- An installed recipe's check runs with no more than install showed, as run does (before
  -- the probe this command adds).
  local over = installed.over_consent(p, mounts.clean)
  if over then
    return "fail", over.missing and "the manifest holds no record of what install showed for it; install it again" or
      (over.dropped and ("it lacks " .. over.category .. ": " .. over.item .. ", which install showed it keeping; " ..
        "run 'lunshare verify'")
        or ("it grants " .. over.category .. ": " .. over.item .. ", which install did not show; run 'lunshare verify'"))
  end

  -- Everything the sandbox can write on the host must be scratch.
  local summary = grants.summary(p, ctx.gctx)
  for _, item in ipairs(summary.writable or {}) do
    for _, src in ipairs(item.srcs or {}) do
      if not scratch:holds(src) then
        return "fail", "not run: its sandbox could write the host's " .. util.escape(src) ..
          " (lunshare test runs a check only when what it can write is the check's own scratch directory)"
      end
    end
  end
  -- A check's own parameter values come from the recipe, not from the person testing: they
  -- may show the host no more than the recipe does with its defaults and --set (what show
  -- lists), beyond the check's scratch files (set = { input = "~/.ssh/id_rsa" } and a
  -- failing check would print the key).
  for _, item in ipairs(summary.visible or {}) do
    for _, src in ipairs(item.srcs or {}) do
      if not scratch:holds(src) and not shown(ctx.visible, src) then
        return "fail", "not run: its parameters show the sandbox the host's " .. util.escape(src) ..
          ", which the recipe does not show with its defaults (a check's values may name only its own scratch files)"
      end
    end
  end
  for _, item in ipairs(summary.devices or {}) do
    if item.srcs then
      return "fail", "not run: its sandbox could use the host's devices (" .. util.escape(item.text) .. ")"
    end
  end

  local argv, listener, probe_kind
  local own_root = has_own_root(p)
  local probe = own_root and PROBE_AT or ctx.probe
  for _, k in ipairs(checks.PROBES) do
    if e[k] ~= nil then probe_kind = k end
  end
  if probe_kind then
    if not ctx.probe then return "fail", ctx.probe_why end
    if own_root then
      local mounts = {}
      for j, m in ipairs(p.mounts) do mounts[j] = m end
      mounts[#mounts + 1] = { kind = "ro_bind", src = ctx.probe, dst = PROBE_AT }
      p.mounts = mounts
    end
    if probe_kind == "cannot_read" then
      local path = e.cannot_read
      if path == "~" or path:sub(1, 2) == "~/" then
        local home = os.getenv("HOME")
        if not home or home:sub(1, 1) ~= "/" then return "skip", "$HOME is not set to a path here" end
        path = home .. path:sub(2)
      end
      local readable, kind = readable_outside(path)
      if kind then
        return "skip", util.escape(path) .. " is " .. kind .. ", not a file or a directory: nothing was opened, " ..
          "and a check of it proves nothing"
      end
      if not readable then
        if core.kind(path) == nil then
          return "skip", util.escape(path) .. " does not exist here, so this proves nothing here"
        end
        return "skip", util.escape(path) .. " cannot be read outside the sandbox either (by uid " ..
          core.ids().uid .. "), so this proves nothing here"
      end
      -- What the sandbox reads there counts only if it is the host's file (a bind).
      argv = { probe, "read", path, core.file_id(path) }
    elseif probe_kind == "cannot_reach" then
      local host, port = checks.parse_target(e.cannot_reach)
      if not port then
        local fd, p_or_msg = core.tcp_listen(host, 0)
        if not fd then return "fail", "cannot listen on the host's " .. host .. ": " .. tostring(p_or_msg) end
        listener, port = fd, p_or_msg
      end
      argv = { probe, "connect", host, tostring(port), tostring(CONNECT_MS) }
    else
      argv = { probe, "writes", e.cannot_write_outside }
    end
  else
    argv = e.run
  end

  -- The check's time limit is the caller's (as run's --timeout), within the profile's own.
  local pctx = planner.context(argv)
  local limit_ms = checks.seconds(e.timeout or checks.DEFAULT_TIMEOUT) * 1000
  local own_ms = type(p.limits) == "table" and p.limits.time and security.time_ms(p.limits.time)
  pctx.timeout_ms = own_ms and math.min(own_ms, limit_ms) or limit_ms
  local plan, perr = planner.build(p, pctx)
  if not plan then
    if listener then listener:close() end
    return "fail", "the recipe does not plan: " .. tostring(perr)
  end
  if probe_kind == "cannot_write_outside" then
    for _, m in ipairs(private_mounts(plan)) do argv[#argv + 1] = m end
    plan.steps[#plan.steps].argv = argv
  end

  -- A root caller's sandbox runs as an unprivileged host id: what it must write is its.
  if ctx.root and #made > 0 then
    local uid, gid = command_ids(p, ctx.gctx)
    for _, m in ipairs(made) do
      for _, item in ipairs(summary.writable or {}) do
        for _, src in ipairs(item.srcs or {}) do
          if uid and (src == m.path or src:sub(1, #m.path + 1) == m.path .. "/") then scratch:chown(m.rel, uid, gid) end
        end
      end
    end
  end

  local out_path = scratch:file(base .. "-out", "")
  local err_path = scratch:file(base .. "-err", "")
  local in_path = e.stdin and scratch:file(base .. "-in", e.stdin) or "/dev/null"
  local stdin = assert(io.open(in_path, "r"))
  local stdout = assert(io.open(out_path, "w"))
  local stderr = assert(io.open(err_path, "w"))
  local code, msg, oom, timed_out = core.spawn(plan, { stdin = stdin, stdout = stdout, stderr = stderr })
  stdin:close()
  stdout:close()
  stderr:close()
  if listener then listener:close() end
  local out = core.read_file(out_path) or ""
  local err = core.read_file(err_path) or ""
  local shown = {}
  for _, l in ipairs(tail("out", out)) do shown[#shown + 1] = l end
  for _, l in ipairs(tail("err", err)) do shown[#shown + 1] = l end
  if not code then return "fail", "could not run: " .. util.escape_lines(tostring(msg)), shown end
  if timed_out then return "fail", "timed out after " .. limit .. " s", shown end
  if probe_kind then
    local said = util.escape((out:match("[^\n]+") or ""), 300)
    if code == 1 then return "ok", said end
    if code == 0 then
      local lines = {}
      for l in out:gmatch("[^\n]+") do lines[#lines + 1] = util.escape(l, 200) end
      return "fail", table.concat(lines, "; ")
    end
    if code == 126 or code == 127 then return "fail", "the probe could not run in the sandbox (exit " .. code .. ")", shown end
    return "fail", "the probe could not tell (exit " .. code .. "): " .. said, shown
  end
  local why = judge_run(e, p, { code = code, out = out, err = err, oom = oom })
  if why then return "fail", why, shown end
  return "ok"
end

function M.main(args)
  local name, set = parse(args)
  if not name then return command.help_for("test") end
  -- The checks and declarations, read once with placeholders for what a check supplies.
  local p, errs = load(name, set, true)
  if not p then command.fail(EXIT_USAGE, errs) end
  -- An installed recipe is tested as what install wrote, or not at all (as run refuses).
  local refused = installed.refusal(p)
  if refused then command.fail(EXIT_RUNTIME, "test: " .. refused) end
  local list = type(p.checks) == "table" and p.checks or {}
  if #list == 0 then command.fail(EXIT_USAGE, util.escape(p._file) .. ": declares no checks (see checks in lunshare-profile(5))") end
  local probe, probe_why = find_probe()
  local scratch, serr = scratch.new()
  if not scratch then command.fail(EXIT_RUNTIME, serr) end
  local ids = core.ids()
  local ctx = { name = name, set = set, decls = p._param_decls or {}, scratch = scratch, probe = probe,
    probe_why = probe_why, root = (ids.euid or ids.uid) == 0, gctx = grants.context(), visible = {} }
  for _, item in ipairs(grants.summary(p, ctx.gctx).visible or {}) do
    for _, src in ipairs(item.srcs or {}) do ctx.visible[src] = true end
  end
  local counts = { ok = 0, fail = 0, skip = 0 }
  local ok, res = pcall(function()
    for i, e in ipairs(list) do
      -- Loading and planning are bounded as for run; the run of the check is the recipe's.
      local status, why, shown = run_check(ctx, i, e)
      counts[status] = counts[status] + 1
      local label = util.escape(e[1])
      if status == "ok" then io.stdout:write("ok   ", label, "\n")
      elseif status == "skip" then io.stdout:write("skip ", label, ": ", why, "\n")
      else
        io.stdout:write("FAIL ", label, ": ", why, "\n")
        for _, l in ipairs(shown or {}) do io.stdout:write(l, "\n") end
      end
      io.stdout:flush()
    end
  end)
  local _, cerr = scratch:close()
  if not ok then error(res, 0) end
  local parts = { counts.ok .. " ok" }
  if counts.fail > 0 then parts[#parts + 1] = counts.fail .. " failed" end
  if counts.skip > 0 then parts[#parts + 1] = counts.skip .. " skipped" end
  io.stdout:write(util.escape(name), ": ", #list, " check", #list == 1 and "" or "s", ", ",
    table.concat(parts, ", "), "\n")
  -- A tree left behind is a failure of the run, whatever the checks said.
  if cerr then io.stderr:write("lunshare: ", cerr, "\n") end
  return (counts.fail > 0 or cerr) and EXIT_RUNTIME or 0
end

return M
