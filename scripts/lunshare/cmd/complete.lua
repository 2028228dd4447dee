-- `lunshare complete [--] WORD…`: the candidates for the next word of a command line whose
-- words so far (after `lunshare`) are WORD…, one a line: what the bash completion
-- (scripts/bash-completion/lunshare) offers. Subcommands, their options, profile names
-- (from the profile path without loading any, and builtin:NAME), a profile's parameters
-- after --set (NAME=, from loading it as check does), installed recipes for remove, the
-- caller's running sandboxes and what is plugged into them for plug and unplug. Two
-- lines ask the shell itself: "@files" (a file name) and "@commands" (a command name).
local core = require "lunshare.core"
local installed = require "lunshare.installed"
local options = require "lunshare.options"
local profile = require "lunshare.profile"
local sandboxes = require "lunshare.sandboxes"
local util = require "lunshare.util"

local M = {}

-- A command's options, as lunshare.options has them (but --help).
local function options_of(cmd)
  local out = {}
  for _, r in ipairs(options.rows(cmd)) do
    if r.name ~= "--help" then out[#out + 1] = r.name end
  end
  return out
end
local TAKES_PROFILE = { run = 1, check = math.huge, explain = 1, diff = 2, test = 1, show = 1 }
-- The options whose value is a parameter (NAME=), and whether an option of cmd takes a
-- value (the next word is its, never a profile).
local SETS = { ["--set"] = true, ["--old-set"] = true, ["--new-set"] = true }
local function takes_value(cmd, word)
  for _, r in ipairs(options.rows(cmd)) do
    if r.name == word then return r.arg ~= nil end
  end
  return false
end

-- Every profile name on the path and builtin:NAME for each shipped one.
function M.profile_names()
  local seen, out = {}, {}
  local function add(n)
    if not seen[n] then seen[n], out[#out + 1] = true, n end
  end
  for _, dir in ipairs(profile.search_path()) do
    for _, f in ipairs(core.dir_list(dir) or {}) do
      local n = f:match("^([%w_%-][%w_%-%.]*)%.lua$")
      if n then add(n) end
    end
  end
  for _, n in ipairs(util.sorted_keys(profile.shipped())) do
    add(n)
    add(profile.BUILTIN .. n)
  end
  table.sort(out)
  return out
end

-- "NAME=" for each parameter of the profile, or nothing when it does not load.
local function params_of(name)
  local ok, res = pcall(function()
    local p = profile.load(name, { placeholders = true })
    return p and util.sorted_keys(p._param_decls or {}) or {}
  end)
  local out = {}
  for _, k in ipairs(ok and res or {}) do out[#out + 1] = k .. "=" end
  return out
end

local function installed_names(system)
  local w = installed.where(system)
  local fd = w and installed.open(w, false)
  local m = fd and installed.read_manifest(fd) or {}
  local out = {}
  for _, k in ipairs(util.sorted_keys(m)) do
    if k:match("%.lua$") then out[#out + 1] = (k:gsub("%.lua$", "")) end
  end
  return out
end

function M.candidates(words)
  local cmd = words[1]
  if not cmd then
    local out = {}
    for _, c in ipairs(util.sorted_keys(options.COMMANDS)) do
      if c ~= "complete" then out[#out + 1] = c end
    end
    table.sort(out)
    return out
  end
  local last = words[#words]
  if #words > 1 and SETS[last] then
    -- The parameters of the profile named so far (the first word that is not an option).
    local i = 2
    while words[i] do
      if takes_value(cmd, words[i]) then i = i + 2
      elseif words[i]:sub(1, 1) == "-" then i = i + 1
      else return params_of(words[i]) end
    end
    return {}
  end
  if cmd == "run" then
    for i = 2, #words do
      if words[i] == "--" then return { "@commands" } end
    end
  end
  if cmd == "net" then
    if #words == 1 then return { "up", "status", "down", "explain", "check", "list", "exec" } end
    return { "@files" }
  end
  if cmd == "install" then
    local out = { "@files" }
    for _, o in ipairs(options_of("install")) do out[#out + 1] = o end
    return out
  end
  if cmd == "plug" or cmd == "unplug" then
    -- NAME (the caller's running sandboxes, as after --to), then bind and host paths, or
    -- what is plugged.
    local pos = {}
    for i = 2, #words do if words[i]:sub(1, 1) ~= "-" then pos[#pos + 1] = words[i] end end
    local list = sandboxes.list() or {}
    if #pos == 0 or (cmd == "plug" and words[#words] == "--to") then
      local out = {}
      for _, rec in ipairs(list) do out[#out + 1] = rec.name end
      return out
    end
    if cmd == "plug" then
      if #pos == 1 then return { "bind", "veth" } end
      if pos[2] == "veth" then return options_of("plug") end
      return { "@files", "--rw" }
    end
    local out = {}
    for _, rec in ipairs(list) do
      if rec.name == pos[1] then
        for _, o in ipairs(rec.plugged) do out[#out + 1] = o.id end
      end
    end
    return out
  end
  if cmd == "remove" then
    local system = false
    for _, w in ipairs(words) do system = system or w == "--system" end
    local out = installed_names(system)
    out[#out + 1] = "--system"
    return out
  end
  local out = {}
  for _, o in ipairs(options_of(cmd)) do out[#out + 1] = o end
  local max = TAKES_PROFILE[cmd]
  if max then
    local named, i = 0, 2
    while words[i] do
      if takes_value(cmd, words[i]) then i = i + 2
      else
        if words[i]:sub(1, 1) ~= "-" then named = named + 1 end
        i = i + 1
      end
    end
    if named < max then
      for _, n in ipairs(M.profile_names()) do out[#out + 1] = n end
      out[#out + 1] = "@files"
    end
  end
  return out
end

function M.main(args)
  -- `complete -- WORD…`: the words are the command line, whatever they look like
  -- (`lunshare --help <TAB>` completes after the word --help); the dispatcher answered
  -- `complete --help` with its usage.
  local words = args
  if args[1] == "--" then words = { table.unpack(args, 2) } end
  for _, c in ipairs(M.candidates(words)) do io.stdout:write(c, "\n") end
  return 0
end

return M
