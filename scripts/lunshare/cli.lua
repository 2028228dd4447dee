-- The lunshare command line: one function per subcommand. Every error a person can cause
-- becomes one line on stderr and exit status 2; a failure of the run itself exits 1;
-- otherwise lunshare exits with the sandboxed command's status.
local util = require "lunshare.util"

local M = {}

local EXIT_RUNTIME, EXIT_USAGE = 1, 2

local USAGE = [[
usage: lunshare COMMAND [ARGS]

  run PROFILE [--set K=V]... [-- CMD ARGS...]
                                 run a command in the sandbox PROFILE describes
  check [--strict] [--set K=V]... PROFILE...
                                 validate profiles; print ok or every error, and
                                 warn about risky grants (--strict: warnings are errors)
  explain PROFILE [--json] [--set K=V]...
                                 print the plan run would execute, step by step
  diff [--set K=V]... [--old-set K=V]... [--new-set K=V]... OLD NEW
                                 print what two profiles grant, marking what differs
                                 (exit 1 if they differ); --set is for both sides
  test PROFILE [--set K=V]...    run the profile's checks on this machine
  profiles [--json]              list the profiles on the path, and which are shadowed
  show PROFILE [--set K=V]...    where a profile is, its parameters, checks and grants
  install FILE|DIR [--yes] [--system]
                                 copy a recipe into your profile directory, after
                                 showing what it grants (an update shows what widens)
  verify [--system]              report installed recipes whose files changed
  remove NAME [--system]         remove an installed recipe
  complete WORD...               the candidates for the next word (shell completion)
  net up|status|down FILE        build, compare or remove a network topology file
  doctor                         check what this kernel and machine allow, with fixes
  repl                           an interactive Lua prompt with the lunshare API
  version                        print the version
  help                           print this help

A PROFILE is a name found on the profile path (see lunshare-profile(5)), builtin:NAME
for the shipped one whatever shadows it, or a file path.]]

-- A user error: carried by error() as a table so that main() prints it. msg is one
-- line, or a list of lines (a profile's errors).
local function fail(code, msg)
  error({ lunshare_exit = code, msg = msg }, 0)
end
M.fail = fail

-- Runs fn(...) within the bounds on work with profile data (sandbox.bounded), for the
-- profiles named by label; a bound reached is a profile error.
local function bounded(label, fn, ...)
  local res = table.pack(require("lunshare.sandbox").bounded(label, fn, ...))
  if not res[1] then fail(EXIT_USAGE, label .. ": " .. res[2]) end
  return table.unpack(res, 2, res.n)
end

local function usage_error(msg)
  fail(EXIT_USAGE, msg .. " (see 'lunshare help')")
end

-- Parses `--set key=value` (or `--set=key=value`) at args[i]; returns the next index.
local function parse_set(args, i, set, cmd)
  local a = args[i]
  local kv = a:match("^%-%-[%a%-]*set=(.*)$")
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

-- placeholders: a required parameter without a value stands as "/<name>" (explain, so
-- that a recipe can be read before its paths are chosen; run never).
local function load_profile(name, set, placeholders)
  local lunshare = require "lunshare"
  local p, errs = lunshare.load(name, { set = set, placeholders = placeholders })
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
  local EPERM, EACCES, ENOSPC, EINVAL = 1, 13, 28, 22
  local op = step and step.op
  if op == "clone" and util.contains(step.namespaces, "user") and
      (errno == EPERM or errno == EACCES or errno == ENOSPC or errno == EINVAL) then
    return " (creating a user namespace was refused; run 'lunshare doctor' to see why and how to allow it)"
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

function M.run(args)
  local set, argv = {}, {}
  local i = 1
  -- --set may come before the profile too, as for check and diff.
  while args[i] and is_set(args[i]) do i = parse_set(args, i, set, "run") end
  local name = args[i]
  if not name then usage_error("run: expected a profile") end
  if name:sub(1, 1) == "-" then usage_error("run: unknown option '" .. name .. "'") end
  i = i + 1
  while args[i] and is_set(args[i]) do i = parse_set(args, i, set, "run") end
  if args[i] == "--" then i = i + 1 end
  for j = i, #args do argv[#argv + 1] = args[j] end
  local planner = require "lunshare.plan"
  -- Loading and planning are bounded; the run itself is what the profile asked for.
  local p, plan = bounded(name, function()
    local p = load_profile(name, set)
    refuse_unbuilt(p)
    local plan, err = planner.build(p, planner.context(argv))
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
  if not code then fail(EXIT_RUNTIME, describe_failure(plan, msg, errno, step)) end
  if errno == true then
    -- spawn's third result on success: the run's memory cgroup killed a process.
    io.stderr:write(string.format("lunshare: %s: out of memory: the command reached limits.memory = %s and was killed\n",
      require("lunshare.plan").origin(p, "limits"), tostring(p.limits and p.limits.memory)))
  end
  return code
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
  local sandbox = require "lunshare.sandbox"
  for _, name in ipairs(names) do
    local ok, res = sandbox.bounded(name, function()
      -- A required parameter that declares a test value stands as "/<name>": a recipe
      -- checks without choosing paths for it (run needs them).
      local p, errs = profile.load(name, { set = set, placeholders = "test" })
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

-- The plan as a person reads it. Every string from the profile is escaped here: a step's
-- command is laid out in lines by the planner (the seccomp step's rules), so each of its
-- lines is escaped; everything else is one line.
local function explain_text(plan, p)
  local esc = util.escape
  local out = { string.format("plan for %s\n", esc(plan.profile or "?")) }
  if p and type(p.description) == "string" then out[#out + 1] = "  " .. esc(p.description) .. "\n" end
  local params = p and p._params or {}
  if next(params) then
    local kv = {}
    for _, k in ipairs(util.sorted_keys(params)) do kv[#kv + 1] = esc(k) .. "=" .. esc(tostring(params[k])) end
    out[#out + 1] = "  parameters: " .. table.concat(kv, " ") .. "\n"
  end
  for i, s in ipairs(plan.steps) do
    out[#out + 1] = string.format("%3d  %-10s  %-10s  %s\n       # %s\n", i, s.where, s.op,
      util.escape_lines(s.explain or ""), esc(s.origin or ""))
  end
  return table.concat(out)
end
M.explain_text = explain_text

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
    local p = load_profile(name, set, true)
    -- What check would warn about, including fields run cannot apply yet, so a plan is
    -- never read without its caveats.
    print_warnings(p)
    local planner = require "lunshare.plan"
    local plan, err = planner.build(p, planner.context(argv))
    if not plan then fail(EXIT_USAGE, p._file .. ": " .. err) end
    return json and (require("lunshare.json").encode(plan, true) .. "\n") or explain_text(plan, p)
  end)
  io.stdout:write(text)
  return 0
end

-- Compares what two profiles grant; exit 0 when equal, 1 when they differ.
function M.diff(args)
  -- --set is for both sides, --old-set and --new-set for one (and win over --set).
  local set, old_set, new_set, names = {}, {}, {}, {}
  local i = 1
  local function side(flag) return args[i] == flag or args[i]:match("^" .. flag:gsub("%-", "%%-") .. "=") end
  while i <= #args do
    if is_set(args[i]) then i = parse_set(args, i, set, "diff")
    elseif side("--old-set") then i = parse_set(args, i, old_set, "diff")
    elseif side("--new-set") then i = parse_set(args, i, new_set, "diff")
    elseif args[i]:sub(1, 1) == "-" then usage_error("diff: unknown option '" .. args[i] .. "'")
    else
      names[#names + 1] = args[i]
      i = i + 1
    end
  end
  if #names ~= 2 then usage_error("diff: expected two profiles, OLD and NEW") end
  local text, differ = bounded(names[1] .. ", " .. names[2], function()
    local function with(own)
      local t = {}
      for k, v in pairs(set) do t[k] = v end
      for k, v in pairs(own) do t[k] = v end
      return t
    end
    local old = load_profile(names[1], with(old_set))
    local new = load_profile(names[2], with(new_set))
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

-- Subcommands with a module of their own, scripts/lunshare/cmd/NAME.lua: a function(args)
-- returning the exit status, raising errors with M.fail.
for _, name in ipairs({ "test", "profiles", "show", "install", "verify", "remove", "complete" }) do
  COMMANDS[#COMMANDS + 1] = name
  M[name] = function(args) return require("lunshare.cmd." .. name)(args) end
end
M.COMMANDS = COMMANDS

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
