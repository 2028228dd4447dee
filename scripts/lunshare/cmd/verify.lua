-- `lunshare verify [--system]`: compares every file install wrote (the manifest of
-- lunshare.installed) with what is there now, by SHA-256: one line for each that changed
-- or is gone, then a summary. Exit 0 when all are as installed, 1 otherwise. A file in
-- the directory that install did not write is named too, but is not a failure: it is
-- the user's own.
local command = require "lunshare.command"
local core = require "lunshare.core"
local evaluator = require "lunshare.evaluator"
local installed = require "lunshare.installed"
local util = require "lunshare.util"

local EXIT_RUNTIME = command.EXIT_RUNTIME

local M = {}

function M.main(args)
  local o = command.options("verify", args)
  if o.help then return command.help_for("verify") end
  if #o.positional > 0 or o.dashdash then
    command.usage_error("verify: unknown argument '" .. (o.positional[1] or "--") .. "'")
  end
  local system = o.system == true
  local w, why = installed.where(system)
  if not w then command.fail(EXIT_RUNTIME, "verify: " .. why) end
  local fd, err = installed.open(w, false)
  if not fd then
    if err then command.fail(EXIT_RUNTIME, "verify: " .. err) end
    io.stdout:write("no recipes installed in ", util.escape(w.display), "\n")
    return 0
  end
  local manifest, merr = installed.read_manifest(fd)
  if not manifest then command.fail(EXIT_RUNTIME, "verify: " .. w.display .. "/" .. merr) end
  local bad, n = 0, 0
  local LIMIT = evaluator.SOURCE_LIMIT
  for _, name in ipairs(util.sorted_keys(manifest)) do
    n = n + 1
    local text, rerr, errno = core.state_read(fd, name, LIMIT)
    local path = util.escape(w.display .. "/" .. name)
    if not text then
      bad = bad + 1
      io.stdout:write(errno == core.errno.ENOENT and ("missing  " .. path) or ("unreadable  " .. path .. ": " .. util.escape(tostring(rerr))), "\n")
    elseif core.sha256(text) ~= manifest[name] then
      bad = bad + 1
      io.stdout:write("changed  ", path, " (its SHA-256 is not what install wrote)\n")
    end
  end
  for _, name in ipairs(core.state_list(fd) or {}) do
    if manifest[name] == nil then
      io.stdout:write("not installed by lunshare  ", util.escape(w.display .. "/" .. name), "\n")
    end
  end
  io.stdout:write(string.format("%s: %d installed, %s\n", util.escape(w.display), n,
    bad == 0 and "all as installed" or (bad .. " changed or missing")))
  return bad == 0 and 0 or EXIT_RUNTIME
end

return M
