-- The lunshare command line: a dispatcher. Each subcommand is one file,
-- scripts/lunshare/cmd/NAME.lua, whose main(args) returns the exit status; what they share
-- (errors, --set, bounded loading) is lunshare.command. Every error a person can cause
-- becomes one line on stderr and exit status 2; a failure of the run itself exits 1;
-- otherwise lunshare exits with the sandboxed command's status.
-- A subcommand's module is required when it is named (deliberate lazy loading, for
-- start-up speed): `run` needs none of explain's, diff's or the REPL's.
local command = require "lunshare.command_line"
local util = require "lunshare.util"

local M = {}

M.fail = command.fail

local USAGE = [[
usage: lunshare COMMAND [ARGS]

  run PROFILE [OPTIONS] [--] [CMD ARGS...]
                                 run a command in the sandbox PROFILE describes;
                                 run -- CMD uses default; --pty|--no-pty, --timeout T,
                                 --no-cache (plan afresh, bypassing the plan cache)
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
  complete [--] WORD...          the candidates for the next word (shell completion)
  cache clear                    remove every plan the plan cache holds for you
  net up|status|down FILE        build, compare or remove a network topology file
  net explain|check FILE         print the plan of up (or down), or check the file
  net list | exec FILE HOST CMD  the topologies up; run CMD in a host's netns
  doctor                         check what this kernel and machine allow, with fixes
  ps [--json]                    the named sandboxes that run (root: everyone's)
  stop NAME [--signal SIG] [--timeout T]
                                 end a named sandbox: SIG (TERM), then KILL after T
  enter NAME|PID [-- CMD ARGS...]
                                 run CMD (a shell) in a named sandbox of yours, with
                                 exactly its command's confinement
  plug NAME bind SRC [DST] [--rw]
  plug NAME veth HOSTIF [SBIF] [--address A/N] [--peer-address A/N]
       [--route TO,VIA] [--bridge BR]
  plug NAME veth IF --to OTHER[:IF2] [--address A/N] [--peer-address A/N]
                                 add a bind of the host's SRC (read-only unless --rw),
                                 or a veth pair from the host or from the running named
                                 sandbox OTHER, to a running named sandbox
  unplug NAME OBJECT             take away what plug added (a bind by its target, a veth
                                 by its host end, or by its end in NAME)
  ns [NAME|PID] [--json]         a process's namespaces: ids, own or the host's, sharers
  repl [--name N] [PROFILE [--set K=V]...]
                                 an interactive Lua prompt with the lunshare API; with a
                                 profile, its sandbox runs as sb
  version                        print the version
  help [COMMAND]                 print this help, or COMMAND's (also COMMAND --help)

A PROFILE is a name found on the profile path (see lunshare-profile(5)), builtin:NAME
for the shipped one whatever shadows it, or a file path.]]

-- The subcommands, each "lunshare.cmd." .. name but help, which is the dispatcher's own.
local COMMANDS = { "run", "check", "explain", "diff", "doctor", "repl", "version", "help", "net",
  "test", "profiles", "show", "install", "verify", "remove", "complete", "ps", "stop", "enter", "plug", "unplug", "ns", "cache" }
local MODULES = {
  run = "lunshare.cmd.run", check = "lunshare.cmd.check", explain = "lunshare.cmd.explain",
  diff = "lunshare.cmd.diff", doctor = "lunshare.cmd.doctor", repl = "lunshare.cmd.repl",
  version = "lunshare.cmd.version", net = "lunshare.cmd.net", test = "lunshare.cmd.test",
  profiles = "lunshare.cmd.profiles", show = "lunshare.cmd.show", install = "lunshare.cmd.install",
  verify = "lunshare.cmd.verify", remove = "lunshare.cmd.remove", complete = "lunshare.cmd.complete",
  ps = "lunshare.cmd.ps", stop = "lunshare.cmd.stop", enter = "lunshare.cmd.enter", plug = "lunshare.cmd.plug", unplug = "lunshare.cmd.unplug",
  ns = "lunshare.cmd.ns", cache = "lunshare.cmd.cache",
}

M.COMMANDS = COMMANDS

local function help(args)
  if #args > 1 then command.usage_error("help: takes one COMMAND at most") end
  if args[1] == "--help" or args[1] == "-h" then return command.help_for("help") end
  if args[1] then
    if not util.contains(COMMANDS, args[1]) then
      command.usage_error("help: unknown command '" .. args[1] .. "'" .. util.suggest(args[1], COMMANDS))
    end
    -- net's usage is its own (lunshare.topology.cmd), with its subcommands.
    if args[1] == "net" then return require(MODULES.net).main({ "--help" }) end
    return command.help_for(args[1])
  end
  io.stdout:write(USAGE, "\n")
  return 0
end

-- Returns the process exit status.
function M.main(arg)
  local args = {}
  for i = 1, #arg do args[i] = arg[i] end
  local cmd = table.remove(args, 1)
  if cmd == "--help" or cmd == "-h" then cmd = "help" end
  if cmd == "--version" then cmd = "version" end
  local ok, res = xpcall(function()
    if cmd == nil then command.usage_error("expected a command") end
    if not util.contains(COMMANDS, cmd) then
      command.usage_error("unknown command '" .. cmd .. "'" .. util.suggest(cmd, COMMANDS))
    end
    if cmd == "help" then return help(args) end
    -- net's --help is its own. complete's words after -- are a command line (the bash
    -- completion passes them so), where --help is a word like any other.
    if cmd ~= "net" and (args[1] == "--help" or args[1] == "-h") then return command.help_for(cmd) end
    return require(MODULES[cmd]).main(args)
  end, function(e)
    if type(e) == "table" then return e end
    -- An internal error is one line ("internal error (please report): …", from main.c);
    -- the traceback only with LUNSHARE_DEBUG set, for whoever reports it.
    local debug_on = os.getenv("LUNSHARE_DEBUG")
    if debug_on and debug_on ~= "" then return debug.traceback(tostring(e), 2) end
    return (tostring(e):gsub("\n", " "))
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
