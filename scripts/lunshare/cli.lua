-- The lunshare command line: one function per subcommand. Every error a person can cause
-- becomes one line on stderr and exit status 2; a failure of the run itself exits 1;
-- otherwise lunshare exits with the sandboxed command's status.
local util = require "lunshare.util"

local M = {}

local EXIT_RUNTIME, EXIT_USAGE = 1, 2

local USAGE = [[
usage: lunshare COMMAND [ARGS]

  run PROFILE [-- CMD ARGS...]   run a command in the sandbox PROFILE describes
  check PROFILE...               validate profiles; print ok or every error
  explain PROFILE [--json]       print the plan run would execute, step by step
  doctor                         check what this kernel and machine allow, with fixes
  repl                           an interactive Lua prompt with the lunshare API
  version                        print the version
  help                           print this help

A PROFILE is a name found on the profile path (see lunshare-profile(5)) or a file path.]]

-- A user error: carried by error() as a table so that main() prints one line.
local function fail(code, msg)
  error({ lunshare_exit = code, msg = msg }, 0)
end
M.fail = fail

local function usage_error(msg)
  fail(EXIT_USAGE, msg .. " (see 'lunshare help')")
end

local function load_profile(name)
  local lunshare = require "lunshare"
  local p, errs = lunshare.load(name)
  if not p then fail(EXIT_USAGE, table.concat(errs, "\n")) end
  return p
end

-- Profiles may set fields whose mechanics come with later areas; run refuses them.
local function refuse_unbuilt(p)
  local schema = require "lunshare.schema"
  for _, f in ipairs(util.sorted_keys(schema.NOT_BUILT)) do
    if p[f] ~= nil then
      local line = require("lunshare.profile").field_line(p._source or "", f)
      fail(EXIT_USAGE, string.format("%s%s: %s: this version of lunshare cannot apply '%s' yet; remove it to run",
        p._file, line and (":" .. line) or "", f, f))
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
    return string.format("%s: %s: %s%s", step.origin or plan.profile or "?", step.op, msg, hint(step, errno))
  end
  return msg
end

function M.run(args)
  local name = args[1]
  if not name or name:sub(1, 1) == "-" then usage_error("run: expected a profile") end
  local argv = {}
  local i = 2
  if args[i] == "--" then i = i + 1 end
  for j = i, #args do argv[#argv + 1] = args[j] end
  local p = load_profile(name)
  refuse_unbuilt(p)
  local planner = require "lunshare.plan"
  local plan, err = planner.build(p, planner.context(argv))
  if not plan then fail(EXIT_USAGE, p._file .. ": " .. err) end
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

function M.check(args)
  if #args == 0 then usage_error("check: expected at least one profile") end
  local lunshare = require "lunshare"
  local bad = false
  for _, name in ipairs(args) do
    local p, errs = lunshare.load(name)
    if p then
      io.stdout:write(name, ": ok\n")
      for _, w in ipairs(require("lunshare.security").warnings(p)) do
        local line = require("lunshare.profile").field_line(p._source or "", w.path:match("^[%a_]+"))
        io.stderr:write(p._file, line and (":" .. line) or "", ": ", w.path, ": warning: ", w.msg, "\n")
      end
    else
      bad = true
      for _, e in ipairs(errs) do io.stderr:write(e, "\n") end
    end
  end
  return bad and EXIT_USAGE or 0
end

local function explain_text(plan)
  local out = { string.format("plan for %s\n", plan.profile or "?") }
  for i, s in ipairs(plan.steps) do
    out[#out + 1] = string.format("%3d  %-10s  %-10s  %s\n       # %s\n", i, s.where, s.op,
      s.explain or "", s.origin or "")
  end
  return table.concat(out)
end
M.explain_text = explain_text

function M.explain(args)
  local name, json
  local argv = {}
  local i = 1
  while i <= #args do
    local a = args[i]
    if a == "--json" then json = true
    elseif a == "--" then
      for j = i + 1, #args do argv[#argv + 1] = args[j] end
      break
    elseif a:sub(1, 1) == "-" then usage_error("explain: unknown option '" .. a .. "'")
    elseif name then usage_error("explain: one profile at a time")
    else name = a end
    i = i + 1
  end
  if not name then usage_error("explain: expected a profile") end
  local p = load_profile(name)
  local planner = require "lunshare.plan"
  local plan, err = planner.build(p, planner.context(argv))
  if not plan then fail(EXIT_USAGE, p._file .. ": " .. err) end
  if json then
    io.stdout:write(require("lunshare.json").encode(plan, true), "\n")
  else
    io.stdout:write(explain_text(plan))
  end
  return 0
end

function M.doctor(args)
  if #args > 0 then usage_error("doctor: takes no arguments") end
  return require("lunshare.doctor").main()
end

function M.repl(args)
  if #args > 0 then usage_error("repl: takes no arguments") end
  return require("lunshare.repl").main()
end

function M.version()
  io.stdout:write("lunshare ", require("lunshare.core").version, " (", _VERSION, ")\n")
  return 0
end

function M.help()
  io.stdout:write(USAGE, "\n")
  return 0
end

local COMMANDS = { "run", "check", "explain", "doctor", "repl", "version", "help" }

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
    io.stderr:write("lunshare: ", res.msg, "\n")
    return res.lunshare_exit
  end
  error(res, 0)
end

return M
