-- What the dispatcher and every subcommand need before any profile is read: the exit
-- statuses, the way a person's error ends the command, the usage errors, option parsing
-- and `COMMAND --help`. Kept apart from lunshare.command (which loads profiles, and so
-- needs the loader, the evaluator and the schema) so that a plan cache hit of `run`
-- loads none of those: start-up speed (issue #14).
local options = require "lunshare.options"

local M = {}

M.EXIT_RUNTIME, M.EXIT_USAGE = 1, 2

-- A user error: carried by error() as a table so that cli.main prints it. msg is one
-- line, or a list of lines (a profile's errors).
function M.fail(code, msg)
  error({ lunshare_exit = code, msg = msg }, 0)
end

-- msg begins "COMMAND: " when a command's words are wrong (every command's errors are
-- so): it points at that command's usage, as an unknown option does; the dispatcher's
-- own (no command, an unknown one) and help's point at the general usage.
function M.usage_error(msg)
  local cmd = msg:match("^(%w+): ")
  local see = (cmd and cmd ~= "help" and options.COMMANDS[cmd]) and ("lunshare " .. cmd .. " --help") or "lunshare help"
  M.fail(M.EXIT_USAGE, msg .. " (see '" .. see .. "')")
end

-- Parses a command's arguments (lunshare.options.parse).
function M.options(cmd, args, stop_at_command) return options.parse(cmd, args, stop_at_command) end

-- `COMMAND --help`: its usage on stdout; exit 0.
function M.help_for(cmd)
  io.stdout:write(options.usage(cmd), "\n")
  return 0
end

return M
