-- `lunshare remove NAME [--system]`: removes a recipe install wrote, and forgets it in
-- the manifest (lunshare.installed), with the seccomp rules file it brought when no other
-- installed recipe reads that file. A recipe that another installed one extends stays:
-- removing it would break that one, so remove names it and refuses.
local command = require "lunshare.command"
local core = require "lunshare.core"
local evaluator = require "lunshare.evaluator"
local installed = require "lunshare.installed"
local util = require "lunshare.util"

local EXIT_RUNTIME, EXIT_USAGE = command.EXIT_RUNTIME, command.EXIT_USAGE

local M = {}

function M.main(args)
  local o = command.options("remove", args)
  if o.help then return command.help_for("remove") end
  local system, name = o.system == true, o.positional[1]
  if #o.positional > 1 or o.dashdash then command.usage_error("remove: one recipe at a time") end
  if not name then command.usage_error("remove: expected the name of an installed recipe") end
  local file = name:match("%.lua$") and name or (name .. ".lua")
  if not file:match(installed.NAME) or file:find("/") then
    command.fail(EXIT_USAGE, "remove: '" .. name .. "' is not a recipe name (NAME, as 'lunshare profiles' lists it)")
  end
  local w, why = installed.where(system)
  if not w then command.fail(EXIT_RUNTIME, "remove: " .. why) end
  local fd, err = installed.open(w, false)
  if err then command.fail(EXIT_RUNTIME, "remove: " .. err) end
  local manifest, records = {}, {}
  if fd then
    local m, merr, recs = installed.read_manifest(fd)
    if not m then command.fail(EXIT_RUNTIME, "remove: " .. w.display .. "/" .. merr) end
    manifest, records = m, recs
  end
  if not manifest[file] then
    local names = {}
    for _, k in ipairs(util.sorted_keys(manifest)) do names[#names + 1] = k:gsub("%.lua$", "") end
    command.fail(EXIT_RUNTIME, "remove: no recipe '" .. name .. "' installed in " .. w.display ..
      util.suggest(name, names))
  end
  -- Who reads it, among the others installed; and the files it reads that no other does
  -- and are not recipes themselves (a seccomp rules file it brought), which go with it.
  local target = w.display .. "/" .. file
  local users, along = {}, {}
  evaluator.bounded(target, function()
    local readers = installed.readers(w, manifest)
    for _, r in ipairs(readers[file] or {}) do
      if r ~= file then users[#users + 1] = r end
    end
    for _, n in ipairs(util.sorted_keys(readers)) do
      local rs = readers[n]
      if n ~= file and not n:match("%.lua$") and manifest[n] and #rs == 1 and rs[1] == file then
        along[#along + 1] = n
      end
    end
  end)
  if #users > 0 then
    command.fail(EXIT_RUNTIME, "remove: " .. target .. " stays: " .. table.concat(users, ", ") ..
      " extend" .. (#users == 1 and "s" or "") .. " it (remove " .. (#users == 1 and "that" or "those") .. " first)")
  end
  for _, n in ipairs({ file, table.unpack(along) }) do
    local ok, rerr = core.state_remove(fd, n)
    if ok == nil then command.fail(EXIT_RUNTIME, "remove: " .. w.display .. "/" .. n .. ": " .. tostring(rerr)) end
    manifest[n], records[n] = nil, nil
    if n ~= file then io.stdout:write("removed ", util.escape(w.display .. "/" .. n), " (", util.escape(file), " brought it)\n") end
  end
  local okm, merr = installed.write_manifest(fd, w, manifest, records)
  if not okm then command.fail(EXIT_RUNTIME, "remove: " .. w.display .. "/" .. installed.MANIFEST .. ": " .. tostring(merr)) end
  io.stdout:write("removed ", util.escape(target), "\n")
  return 0
end

return M
