-- `lunshare remove NAME [--system]`: removes a recipe install wrote, and forgets it in
-- the manifest (lunshare.installed). A recipe that another installed one extends stays:
-- removing it would break that one, so remove names it and refuses.
local command = require "lunshare.command"
local core = require "lunshare.core"
local evaluator = require "lunshare.evaluator"
local installed = require "lunshare.installed"
local profile = require "lunshare.profile"
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
  local manifest = {}
  if fd then
    local m, merr = installed.read_manifest(fd)
    if not m then command.fail(EXIT_RUNTIME, "remove: " .. w.display .. "/" .. merr) end
    manifest = m
  end
  if not manifest[file] then
    local names = {}
    for _, k in ipairs(util.sorted_keys(manifest)) do names[#names + 1] = k:gsub("%.lua$", "") end
    command.fail(EXIT_RUNTIME, "remove: no recipe '" .. name .. "' installed in " .. w.display ..
      util.suggest(name, names))
  end
  -- Who extends it, among the others installed: each loaded from the directory.
  local target = w.display .. "/" .. file
  local users = {}
  evaluator.bounded(target, function()
    local saved = profile.first_dirs
    profile.first_dirs = { w.display }
    for _, other in ipairs(util.sorted_keys(manifest)) do
      if other ~= file and other:match("%.lua$") then
        local p = profile.load(w.display .. "/" .. other, { placeholders = true })
        for i, f in ipairs(p and p._chain or {}) do
          if i > 1 and profile.normalize(f) == profile.normalize(target) then users[#users + 1] = other end
        end
      end
    end
    profile.first_dirs = saved
  end)
  if #users > 0 then
    command.fail(EXIT_RUNTIME, "remove: " .. target .. " stays: " .. table.concat(users, ", ") ..
      " extend" .. (#users == 1 and "s" or "") .. " it (remove " .. (#users == 1 and "that" or "those") .. " first)")
  end
  local ok, rerr = core.state_remove(fd, file)
  if ok == nil then command.fail(EXIT_RUNTIME, "remove: " .. target .. ": " .. tostring(rerr)) end
  manifest[file] = nil
  local okm, merr = installed.write_manifest(fd, w, manifest)
  if not okm then command.fail(EXIT_RUNTIME, "remove: " .. w.display .. "/" .. installed.MANIFEST .. ": " .. tostring(merr)) end
  io.stdout:write("removed ", util.escape(target), "\n")
  return 0
end

return M
