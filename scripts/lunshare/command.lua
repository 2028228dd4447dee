-- What every subcommand of the CLI shares (scripts/lunshare/cmd/*.lua, one file per
-- command): the way a person's error ends the command (one line, an exit status), the
-- usage errors, `--set KEY=VALUE`, loading a profile under the bounds. What check,
-- explain and diff warn about is lunshare.warnings (which `run` never loads).
local evaluator = require "lunshare.evaluator"
local lunshare = require "lunshare"

local M = {}

M.EXIT_RUNTIME, M.EXIT_USAGE = 1, 2

-- A user error: carried by error() as a table so that cli.main prints it. msg is one
-- line, or a list of lines (a profile's errors).
function M.fail(code, msg)
  error({ lunshare_exit = code, msg = msg }, 0)
end

function M.usage_error(msg)
  M.fail(M.EXIT_USAGE, msg .. " (see 'lunshare help')")
end

-- Runs fn(...) within the bounds on work with profile data (evaluator.bounded), for the
-- profiles named by label; a bound reached is a profile error.
function M.bounded(label, fn, ...)
  local res = table.pack(evaluator.bounded(label, fn, ...))
  if not res[1] then M.fail(M.EXIT_USAGE, label .. ": " .. res[2]) end
  return table.unpack(res, 2, res.n)
end

-- Parses `--set key=value` (or `--set=key=value`) at args[i] into set; returns the next
-- index. cmd names the command in a usage error.
function M.parse_set(args, i, set, cmd)
  local a = args[i]
  local kv = a:match("^%-%-set=(.*)$")
  if not kv then
    kv = args[i + 1]
    i = i + 1
  end
  if not kv then M.usage_error(cmd .. ": --set needs KEY=VALUE") end
  local k, v = kv:match("^([^=]+)=(.*)$")
  if not k then M.usage_error(cmd .. ": --set needs KEY=VALUE, got '" .. kv .. "'") end
  set[k] = v
  return i + 1
end

function M.is_set(a) return a == "--set" or a:match("^%-%-set=") ~= nil end

-- The profile name (loaded and checked) with parameters set, or a profile error.
function M.load_profile(name, set)
  local p, errs = lunshare.load(name, { set = set })
  if not p then M.fail(M.EXIT_USAGE, errs) end
  return p
end

return M
