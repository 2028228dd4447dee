-- `lunshare verify [--system]`: compares every file install wrote (the manifest of
-- lunshare.installed) with what is there now, by SHA-256: one line for each that changed
-- or is gone, then a summary. Exit 0 when all are as installed, 1 otherwise. A file in
-- the directory that install did not write is named too, but is not a failure: it is
-- the user's own.
local cli = require "lunshare.cli"
local util = require "lunshare.util"
local installed = require "lunshare.installed"

local EXIT_RUNTIME, EXIT_USAGE = 1, 2

return function(args)
  local system = false
  for _, a in ipairs(args) do
    if a == "--system" then system = true
    else cli.fail(EXIT_USAGE, "verify: unknown argument '" .. a .. "' (see 'lunshare help')") end
  end
  local w, why = installed.where(system)
  if not w then cli.fail(EXIT_RUNTIME, "verify: " .. why) end
  local core = require "lunshare.core"
  local fd, err = installed.open(w, false)
  if not fd then
    if err then cli.fail(EXIT_RUNTIME, "verify: " .. err) end
    io.stdout:write("no recipes installed in ", util.escape(w.display), "\n")
    return 0
  end
  local manifest, merr = installed.read_manifest(fd)
  if not manifest then cli.fail(EXIT_RUNTIME, "verify: " .. w.display .. "/" .. merr) end
  local bad, n = 0, 0
  local LIMIT = require("lunshare.sandbox").SOURCE_LIMIT
  for _, name in ipairs(util.sorted_keys(manifest)) do
    n = n + 1
    local text, rerr, errno = core.state_read(fd, name, LIMIT)
    local path = util.escape(w.display .. "/" .. name)
    if not text then
      bad = bad + 1
      io.stdout:write(errno == 2 and ("missing  " .. path) or ("unreadable  " .. path .. ": " .. util.escape(tostring(rerr))), "\n")
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
