-- The lunshare command line: one function per subcommand. Every error a person can cause
-- becomes one line on stderr and exit status 2; a failure of the run itself exits 1;
-- otherwise lunshare exits with the sandboxed command's status.
local util = require "lunshare.util"

local M = {}

local EXIT_RUNTIME, EXIT_USAGE = 1, 2

local USAGE = [[
usage: lunshare COMMAND [ARGS]

  run PROFILE [--set K=V]... [--pty|--no-pty] [--timeout DURATION] [-- CMD ARGS...]
                                 run a command in the sandbox PROFILE describes
  check [--strict] [--set K=V]... PROFILE...
                                 validate profiles; print ok or every error, and
                                 warn about risky grants (--strict: warnings are errors)
  explain PROFILE [--json] [--set K=V]...
                                 print the plan run would execute, step by step
  diff [--set K=V]... OLD NEW    print what two profiles grant, marking what differs
                                 (exit 1 if they differ)
  net up|status|down FILE        build, compare or remove a network topology file
  doctor                         check what this kernel and machine allow, with fixes
  repl                           an interactive Lua prompt with the lunshare API
  version                        print the version
  help                           print this help

A PROFILE is a name found on the profile path (see lunshare-profile(5)) or a file path.]]

-- A user error: carried by error() as a table so that main() prints it. msg is one
-- line, or a list of lines (a profile's errors).
local function fail(code, msg)
  error({ lunshare_exit = code, msg = msg }, 0)
end
M.fail = fail

-- Runs fn(...) within the bounds on work with profile data (evaluator.bounded), for the
-- profiles named by label; a bound reached is a profile error.
local function bounded(label, fn, ...)
  local res = table.pack(require("lunshare.evaluator").bounded(label, fn, ...))
  if not res[1] then fail(EXIT_USAGE, label .. ": " .. res[2]) end
  return table.unpack(res, 2, res.n)
end

local function usage_error(msg)
  fail(EXIT_USAGE, msg .. " (see 'lunshare help')")
end

-- Parses `--set key=value` (or `--set=key=value`) at args[i]; returns the next index.
local function parse_set(args, i, set, cmd)
  local a = args[i]
  local kv = a:match("^%-%-set=(.*)$")
  if not kv then
    kv = args[i + 1]
    i = i + 1
  end
  if not kv then usage_error(cmd .. ": --set needs KEY=VALUE") end
  local k, v = kv:match("^([^=]+)=(.*)$")
  if not k then usage_error(cmd .. ": --set needs KEY=VALUE, got '" .. kv .. "'") end
  set[k] = v
  return i + 1
end

local function is_set(a) return a == "--set" or a:match("^%-%-set=") ~= nil end

local function load_profile(name, set)
  local lunshare = require "lunshare"
  local p, errs = lunshare.load(name, { set = set })
  if not p then fail(EXIT_USAGE, errs) end
  return p
end

-- Profiles may set fields whose mechanics come with later areas; run refuses them.
local function refuse_unbuilt(p)
  local schema = require "lunshare.schema"
  for _, f in ipairs(util.sorted_keys(schema.NOT_BUILT)) do
    if p[f] ~= nil then
      fail(EXIT_USAGE, string.format("%s: %s: this version of lunshare cannot apply '%s' yet; remove it to run",
        require("lunshare.profile").origin(p, f), f, f))
    end
  end
end

-- Why an EPERM usually happens when a user namespace is involved.
local function hint(step, errno)
  local E = require("lunshare.core").errno
  local EPERM, EACCES, ENOSPC, EINVAL = E.EPERM, E.EACCES, E.ENOSPC, E.EINVAL
  local op = step and step.op
  if op == "clone" and util.contains(step.namespaces, "user") and
      (errno == EPERM or errno == EACCES or errno == ENOSPC or errno == EINVAL) then
    return " (creating a user namespace was refused; run 'lunshare doctor' to see why and how to allow it)"
  end
  if op == "pty" and errno == E.ENOENT then
    return " (the sandbox has no /dev/ptmx: add dev \"/dev\" to its mounts, or run with --no-pty)"
  end
  if (op == "uid_map" or op == "gid_map" or op == "setgroups") and (errno == EPERM or errno == EACCES) then
    return " (this id map is not allowed for this user; run 'lunshare doctor')"
  end
  return ""
end

local function describe_failure(plan, msg, errno, step_index)
  local step = step_index and plan.steps[step_index]
  if step then
    -- Most messages from the executor already begin with what failed ("exec x: …").
    local named = msg:sub(1, #step.op + 1) == step.op .. ":" or msg:sub(1, #step.op + 1) == step.op .. " "
    return string.format("%s: %s%s%s", step.origin or plan.profile or "?", named and "" or (step.op .. ": "),
      msg, hint(step, errno))
  end
  return msg
end

-- run's own options besides --set: --pty, --no-pty, --timeout DURATION (or
-- --timeout=DURATION). Returns the next index, or nil when args[i] is none of them.
local function parse_run_option(args, i, opts)
  local a = args[i]
  if a == "--pty" or a == "--no-pty" then
    opts.pty = a == "--pty"
    return i + 1
  end
  local v = a:match("^%-%-timeout=(.*)$")
  if a == "--timeout" then v, i = args[i + 1], i + 1 end
  if not v and a ~= "--timeout" then return nil end
  local ms, err = require("lunshare.security").time_ms(math.tointeger(tonumber(v or "")) or v)
  if not ms then usage_error("run: --timeout: " .. (v and err or "expected a duration like 30s")) end
  opts.timeout, opts.timeout_ms = v, ms
  return i + 1
end

local function run_options(args, i, set, opts)
  while args[i] do
    local nxt = is_set(args[i]) and parse_set(args, i, set, "run") or parse_run_option(args, i, opts)
    if not nxt then break end
    i = nxt
  end
  return i
end

-- How the command's end reads for a person, when a limit caused it: a wall-clock limit
-- (exit 124, as timeout(1)), a resource limit's signal. Returns the exit status.
local function report_end(p, code, oom, timed_out, opts)
  local origin = require("lunshare.plan").origin(p, "limits")
  local limits = type(p.limits) == "table" and p.limits or {}
  local function say(fmt, ...) io.stderr:write("lunshare: ", string.format(fmt, ...), "\n") end
  if timed_out then
    if opts.timeout then
      say("the command ran longer than --timeout %s: the sandbox was ended", util.escape(opts.timeout))
    else
      say("%s: the command ran longer than limits.time = %s: the sandbox was ended", origin, tostring(limits.time))
    end
    return 124
  end
  if oom then
    say("%s: out of memory: the command reached limits.memory = %s and was killed", origin, tostring(limits.memory))
    return code
  end
  local sig = require("lunshare.core").signals
  -- The signals the kernel sends at an rlimit, and the limit behind each. RLIMIT_CPU's
  -- hard limit kills with SIGKILL, which is where a single value puts it.
  local by_signal = { [sig.XFSZ] = "fsize", [sig.XCPU] = "cpu", [sig.KILL] = "cpu" }
  local limit = code > 128 and by_signal[code - 128]
  if limit and limits[limit] ~= nil then
    local what = limit == "fsize" and "a file it wrote reached" or "it used all the CPU time of"
    local v = limits[limit]
    say("%s: the command was killed (SIG%s): %s limits.%s = %s", origin, code - 128 == sig.XFSZ and "XFSZ" or
      (code - 128 == sig.KILL and "KILL" or "XCPU"), what, limit, type(v) == "table" and "{…}" or tostring(v))
  end
  return code
end

function M.run(args)
  local set, argv, opts = {}, {}, {}
  local i = 1
  -- Options may come before the profile too, as for check and diff.
  i = run_options(args, i, set, opts)
  local name = args[i]
  if not name then usage_error("run: expected a profile") end
  if name:sub(1, 1) == "-" then usage_error("run: unknown option '" .. name .. "'") end
  i = i + 1
  i = run_options(args, i, set, opts)
  if args[i] == "--" then i = i + 1 end
  for j = i, #args do argv[#argv + 1] = args[j] end
  local planner = require "lunshare.plan"
  -- Loading and planning are bounded; the run itself is what the profile asked for.
  local p, plan = bounded(name, function()
    local p = load_profile(name, set)
    refuse_unbuilt(p)
    local ctx = planner.context(argv)
    -- A terminal of its own when the caller's stdin and stdout are terminals and the run
    -- is in their foreground, unless the profile shares the caller's (terminal = true);
    -- --pty and --no-pty decide instead.
    local core = require "lunshare.core"
    ctx.pty = opts.pty
    if ctx.pty == nil then
      ctx.pty = p.terminal ~= true and core.isatty(0) and core.isatty(1) and core.foreground(0)
    end
    ctx.timeout_ms = opts.timeout_ms
    local plan, err = planner.build(p, ctx)
    if not plan then fail(EXIT_USAGE, p._file .. ": " .. err) end
    return p, plan
  end)
  -- For tests: the very plan handed to the executor, as `explain --json` prints plans.
  local dump = os.getenv("LUNSHARE_DUMP_PLAN")
  if dump and dump ~= "" then
    local f = assert(io.open(dump, "w"))
    f:write(require("lunshare.json").encode(plan, true), "\n")
    f:close()
  end
  local core = require "lunshare.core"
  local code, msg, errno, step = core.spawn(plan)
  if not code then
    -- A command that cannot run: 127 when it is not found, 126 when it is found but
    -- cannot be executed (as env, timeout and the shells answer).
    local failed = step and plan.steps[step]
    local exit = EXIT_RUNTIME
    if failed and failed.op == "exec" then
      exit = errno == core.errno.ENOENT and 127 or 126
    end
    fail(exit, describe_failure(plan, msg, errno, step))
  end
  -- spawn's third and fourth results on success: the run's memory cgroup killed a
  -- process; the wall-clock limit ended the sandbox.
  return report_end(p, code, errno == true, step == true, opts)
end

-- What check, explain and diff warn about for a loaded profile: the loader's warnings and
-- the risks of what it grants in effect for this caller (lunshare.grants).
local function warnings_of(p)
  local out = {}
  for _, w in ipairs(p._warnings or {}) do out[#out + 1] = w end
  for _, w in ipairs(require("lunshare.grants").warnings(p, require("lunshare.grants").context())) do
    out[#out + 1] = w
  end
  return out
end

-- Each line once: `diff P P` lists P's grants, and its warnings once.
local function print_warnings(...)
  local schema = require "lunshare.schema"
  local seen = {}
  for _, p in ipairs({ ... }) do
    for _, w in ipairs(warnings_of(p)) do
      local line = schema.format_error(w)
      if not seen[line] then io.stderr:write(line, "\n") end
      seen[line] = true
    end
  end
end

-- Prints "NAME: ok" on stdout (and its warnings on stderr), or every error on stderr.
-- With --strict a warning is an error too: for recipe CI.
function M.check(args)
  local set, names, strict = {}, {}, false
  local i = 1
  while i <= #args do
    if is_set(args[i]) then i = parse_set(args, i, set, "check")
    elseif args[i] == "--strict" then
      strict = true
      i = i + 1
    elseif args[i]:sub(1, 1) == "-" and args[i] ~= "-" then usage_error("check: unknown option '" .. args[i] .. "'")
    else
      names[#names + 1] = args[i]
      i = i + 1
    end
  end
  if #names == 0 then usage_error("check: expected at least one profile") end
  local profile = require "lunshare.profile"
  local schema = require "lunshare.schema"
  local bad = false
  local evaluator = require "lunshare.evaluator"
  for _, name in ipairs(names) do
    local ok, res = evaluator.bounded(name, function()
      local p, errs = profile.load(name, { set = set })
      local lines = {}
      if not p then
        for _, e in ipairs(errs) do lines[#lines + 1] = schema.format_error(e) end
        return { ok = false, lines = lines }
      end
      local ws = warnings_of(p)
      for _, w in ipairs(ws) do
        if strict then w = { file = w.file, line = w.line, path = w.path, msg = "error (--strict): " .. w.msg } end
        lines[#lines + 1] = schema.format_error(w)
      end
      return { ok = not (strict and #ws > 0), lines = lines }
    end)
    if not ok then res = { ok = false, lines = { util.escape(name) .. ": " .. res } } end
    for _, l in ipairs(res.lines) do io.stderr:write(l, "\n") end
    if res.ok then io.stdout:write(util.escape(name), ": ok\n") else bad = true end
  end
  return bad and EXIT_USAGE or 0
end

function M.explain(args)
  local name, json
  local argv, set = {}, {}
  local i = 1
  while i <= #args do
    local a = args[i]
    if a == "--json" then
      json = true
      i = i + 1
    elseif is_set(a) then
      i = parse_set(args, i, set, "explain")
    elseif a == "--" then
      for j = i + 1, #args do argv[#argv + 1] = args[j] end
      break
    elseif a:sub(1, 1) == "-" then usage_error("explain: unknown option '" .. a .. "'")
    elseif name then usage_error("explain: one profile at a time")
    else
      name = a
      i = i + 1
    end
  end
  if not name then usage_error("explain: expected a profile") end
  local text = bounded(name, function()
    local p = load_profile(name, set)
    -- What check would warn about, including fields run cannot apply yet, so a plan is
    -- never read without its caveats.
    print_warnings(p)
    local planner = require "lunshare.plan"
    local plan, err = planner.build(p, planner.context(argv))
    if not plan then fail(EXIT_USAGE, p._file .. ": " .. err) end
    return json and (require("lunshare.json").encode(plan, true) .. "\n") or require("lunshare.explain").text(plan, p)
  end)
  io.stdout:write(text)
  return 0
end

-- Compares what two profiles grant; exit 0 when equal, 1 when they differ.
function M.diff(args)
  local set, names = {}, {}
  local i = 1
  while i <= #args do
    if is_set(args[i]) then i = parse_set(args, i, set, "diff")
    elseif args[i]:sub(1, 1) == "-" then usage_error("diff: unknown option '" .. args[i] .. "'")
    else
      names[#names + 1] = args[i]
      i = i + 1
    end
  end
  if #names ~= 2 then usage_error("diff: expected two profiles, OLD and NEW") end
  local text, differ = bounded(names[1] .. ", " .. names[2], function()
    local old = load_profile(names[1], set)
    local new = load_profile(names[2], set)
    print_warnings(old, new)
    local diff = require "lunshare.diff"
    local ctx = require("lunshare.grants").context()
    return diff.text(diff.grants(old, ctx), diff.grants(new, ctx), names[1], names[2])
  end)
  io.stdout:write(text)
  return differ and 1 or 0
end

function M.doctor(args)
  if #args > 0 then usage_error("doctor: takes no arguments") end
  return require("lunshare.doctor").main()
end

function M.repl(args)
  if #args > 0 then usage_error("repl: takes no arguments") end
  return require("lunshare.repl").main()
end

function M.net(args)
  return require("lunshare.topology").main(args, fail)
end

function M.version(args)
  if #args > 0 then usage_error("version: takes no arguments") end
  io.stdout:write("lunshare ", require("lunshare.core").version, " (", _VERSION, ")\n")
  return 0
end

function M.help(args)
  if #args > 0 then usage_error("help: takes no arguments") end
  io.stdout:write(USAGE, "\n")
  return 0
end

local COMMANDS = { "run", "check", "explain", "diff", "doctor", "repl", "version", "help", "net" }

-- Returns the process exit status.
function M.main(arg)
  local args = {}
  for i = 1, #arg do args[i] = arg[i] end
  local cmd = table.remove(args, 1)
  if cmd == "--help" or cmd == "-h" then cmd = "help" end
  if cmd == "--version" then cmd = "version" end
  local ok, res = xpcall(function()
    if cmd == nil then usage_error("expected a command") end
    if not util.contains(COMMANDS, cmd) then
      usage_error("unknown command '" .. cmd .. "'" .. util.suggest(cmd, COMMANDS))
    end
    return M[cmd](args)
  end, function(e)
    if type(e) == "table" then return e end
    return debug.traceback(tostring(e), 2)
  end)
  if ok then
    io.stdout:flush()
    return res or 0
  end
  if type(res) == "table" and res.lunshare_exit then
    io.stdout:flush()
    -- The one place errors reach the terminal: what a profile put in them is escaped.
    local text
    if type(res.msg) == "table" then
      local lines = {}
      for i, l in ipairs(res.msg) do lines[i] = util.escape(l) end
      text = table.concat(lines, "\n")
    else
      text = util.escape_lines(res.msg)
    end
    io.stderr:write("lunshare: ", text, "\n")
    return res.lunshare_exit
  end
  error(util.escape_lines(tostring(res)), 0)
end

return M
