-- What every subcommand of the CLI shares (scripts/lunshare/cmd/*.lua, one file per
-- command): the way a person's error ends the command (one line, an exit status), the
-- usage errors, `--set KEY=VALUE`, loading a profile under the bounds. What check,
-- explain and diff warn about is lunshare.warnings (which `run` never loads). The part
-- that reads no profile (exit statuses, fail, usage errors, options, --help) is
-- lunshare.command_line, which the dispatcher and a plan cache hit load alone.
local cmdline_layer = require "lunshare.cmdline_layer"
local command_line = require "lunshare.command_line"
local evaluator = require "lunshare.evaluator"
local lunshare = require "lunshare"
local schema = require "lunshare.schema"

local M = {}

M.EXIT_RUNTIME, M.EXIT_USAGE = command_line.EXIT_RUNTIME, command_line.EXIT_USAGE
M.fail, M.usage_error = command_line.fail, command_line.usage_error
M.options, M.help_for = command_line.options, command_line.help_for

-- Runs fn(...) within the bounds on work with profile data (evaluator.bounded), for the
-- profiles named by label; a bound reached is a profile error.
function M.bounded(label, fn, ...)
  local res = table.pack(evaluator.bounded(label, fn, ...))
  if not res[1] then M.fail(M.EXIT_USAGE, label .. ": " .. res[2]) end
  return table.unpack(res, 2, res.n)
end

-- The command line's layer (lunshare.cmdline_layer) for parsed options o
-- (lunshare.options), as the loader takes it.
function M.layer_of(o)
  if not o or #o.layer == 0 then return nil end
  return function(p) return cmdline_layer.build(o.layer, p) end
end

-- The profile name (loaded and checked) with parameters set and the command line's
-- layer over it (o: parsed options, may be nil), or a profile error. placeholders: a
-- required parameter without a value stands as "/<name>" (explain, so that a recipe can
-- be read before its paths are chosen; never run).
function M.load_profile(name, set, o, placeholders)
  local p, errs = lunshare.load(name, { set = set, layer = M.layer_of(o), placeholders = placeholders })
  if not p then M.fail(M.EXIT_USAGE, errs) end
  return p
end

-- Profiles may set fields whose mechanics come with later areas; run (and a sandbox the
-- REPL starts) refuses them.
function M.refuse_unbuilt(p)
  local why = schema.unbuilt(p)
  if why then M.fail(M.EXIT_USAGE, why) end
end

-- A planner's error as a person reads it: prefixed with the profile's file, unless it
-- names its own origin (a file:line, of this file or a parent, or the command line).
function M.plan_error(p, err)
  if err:sub(1, #p._file + 1) == p._file .. ":" or err:match("^[^:]+:%d+: ") or
      err:sub(1, #cmdline_layer.ORIGIN + 2) == cmdline_layer.ORIGIN .. ": " then
    return err
  end
  return p._file .. ": " .. err
end

return M
