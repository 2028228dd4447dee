-- Loading profiles: find them on the profile path, evaluate them safely (sandbox.lua),
-- follow `extends` (compose.lua), resolve parameters, remember where every entry came
-- from (source_map.lua) and check the result against the schema. Loading only builds
-- data: nothing here writes, and nothing a profile does can reach the system.
local util = require "lunshare.util"
local sandbox = require "lunshare.sandbox"
local source_map = require "lunshare.source_map"
local compose = require "lunshare.compose"
local params = require "lunshare.params"

local M = {}

M.MAX_DEPTH = 16

-- Where `extends = "name"` and `lunshare run name` look, in order; the shipped profiles
-- compiled into the executable come last.
function M.search_path()
  local dirs = {}
  -- install looks in the recipe's own directory first, so that a recipe and the base it
  -- extends by name are read from the same source (and an installed one from where it is).
  for _, d in ipairs(M.first_dirs or {}) do dirs[#dirs + 1] = d end
  local env = os.getenv("LUNSHARE_PROFILE_PATH")
  if env and env ~= "" then
    for d in env:gmatch("[^:]+") do dirs[#dirs + 1] = d end
  end
  local xdg = os.getenv("XDG_CONFIG_HOME")
  local home = os.getenv("HOME")
  if xdg and xdg ~= "" then
    dirs[#dirs + 1] = xdg .. "/lunshare/profiles"
  elseif home and home ~= "" then
    dirs[#dirs + 1] = home .. "/.config/lunshare/profiles"
  end
  dirs[#dirs + 1] = "/etc/lunshare/profiles"
  -- The executable knows its install directory; a stock lua5.4 learns it from paths.lua.
  local ok, embedded = pcall(require, "lunshare.embedded")
  if not ok then ok, embedded = pcall(require, "lunshare.paths") end
  if ok and embedded.profile_dir then dirs[#dirs + 1] = embedded.profile_dir end
  return dirs
end

local read_file = util.read_file
local EISDIR, EINVAL, EFBIG = 21, 22, 27

-- "PATH: why" from read_file, without the path.
local function cause(path, err)
  err = tostring(err)
  if err:sub(1, #path + 2) == path .. ": " then return err:sub(#path + 3) end
  return err
end

-- The shipped profiles: { [name] = { source =, path = } }. The executable has them
-- compiled in; a stock lua5.4 reads the installed share directory (paths.lua), or the
-- source tree's profiles/ (LUNSHARE_ROOT, for the specs).
local shipped_cache
local function shipped()
  if shipped_cache then return shipped_cache end
  local ok, embedded = pcall(require, "lunshare.embedded")
  if ok and embedded.profiles then
    shipped_cache = embedded.profiles
    return shipped_cache
  end
  local dir
  local okp, paths = pcall(require, "lunshare.paths")
  local root = os.getenv("LUNSHARE_ROOT")
  if root and root ~= "" then dir = root .. "/profiles"
  elseif okp and paths.profile_dir then dir = paths.profile_dir end
  local out = {}
  if dir then
    local okc, core = pcall(require, "lunshare.core")
    local names = okc and core.dir_list and core.dir_list(dir) or { "default.lua" }
    for _, f in ipairs(names) do
      local n = f:match("^([%w_%-%.]+)%.lua$")
      local path = dir .. "/" .. f
      local src = n and read_file(path)
      if src then out[n] = { source = src, path = path } end
    end
  end
  shipped_cache = out
  return out
end
M.shipped = shipped

-- The prefix that names a shipped profile past anything on the path that shadows it:
-- `lunshare run builtin:default`, `extends = "builtin:base"`.
M.BUILTIN = "builtin:"

-- The shipped profile whose display path is path, if any: a shipped profile that
-- extends "./x.lua" means the shipped x, never a file beside the caller's directory.
local function shipped_name_of(path)
  for n, e in pairs(shipped()) do
    if e.path == path then return n end
  end
  return nil
end

-- "a/./b/../c.lua" -> "a/c.lua", so that a cycle through relative paths is seen.
local function normalize(path)
  local abs = path:sub(1, 1) == "/"
  local parts = {}
  for seg in path:gmatch("[^/]+") do
    if seg == ".." and #parts > 0 and parts[#parts] ~= ".." then
      parts[#parts] = nil
    elseif seg ~= "." then
      parts[#parts + 1] = seg
    end
  end
  return (abs and "/" or "") .. table.concat(parts, "/")
end
M.normalize = normalize

-- Finds a profile by name or path. A name with a slash (or ending in .lua) is a file,
-- relative to the directory of `from` when a profile extends it. Returns its source text
-- and a display path, or nil and a message.
function M.find(name, from)
  if name:sub(1, #M.BUILTIN) == M.BUILTIN then
    local n = name:sub(#M.BUILTIN + 1)
    local ship = shipped()
    if ship[n] then return ship[n].source, ship[n].path end
    return nil, "no shipped profile named '" .. n .. "'" .. util.suggest(n, util.sorted_keys(ship))
  end
  if from and (name:find("/") or name:match("%.lua$")) and shipped_name_of(from) then
    local n = name:match("([^/]+)%.lua$") or name:match("([^/]+)$")
    return M.find(M.BUILTIN .. n)
  end
  if name:find("/") or name:match("%.lua$") then
    local path = name
    if from and name:sub(1, 1) ~= "/" and from:find("/") then
      path = from:match("^(.*)/[^/]*$") .. "/" .. name
    end
    path = normalize(path)
    local src, err = read_file(path)
    if not src then return nil, "cannot read profile " .. path .. ": " .. cause(path, err) end
    return src, path
  end
  if not name:match("^[%w_%-%.]+$") then
    return nil, "bad profile name '" .. name .. "'"
  end
  for _, dir in ipairs(M.search_path()) do
    local path = dir .. "/" .. name .. ".lua"
    local src, err, errno = read_file(path)
    if src then return src, path end
    -- Missing or out of reach here: look further. A file there that cannot be a
    -- profile (a FIFO, a directory, one over the cap) is an error, not a reason to take
    -- the next one.
    if errno == EISDIR or errno == EINVAL or errno == EFBIG then
      return nil, "cannot read profile " .. path .. ": " .. cause(path, err)
    end
  end
  local ship = shipped()
  if ship[name] then return ship[name].source, ship[name].path end
  local names = util.sorted_keys(ship)
  return nil, "no profile named '" .. name .. "'" .. util.suggest(name, names) ..
    " (looked in " .. table.concat(M.search_path(), ", ") .. " and the shipped profiles)"
end

local plain

-- The names a profile sees besides the pure helpers.
local function names_for(file, map, L)
  local names = {}
  for _, area in ipairs(require("lunshare.plan").AREAS) do
    for k, v in pairs(require(area).constructors or {}) do names[k] = v end
  end
  names.without = compose.without
  names.params = params.declarer({ file = file, node = map and map.calls.params, set = L.set,
    errors = L.errors, declared = L.declared, values = L.values, decls = L.decls,
    placeholder = L.placeholder })
  return names
end

local function split_origin(o)
  if not o then return nil end
  local f, l = o:match("^(.*):(%d+)$")
  if f then return f, tonumber(l) end
  return o, nil
end
M.split_origin = split_origin

-- Lua's words, which an error may quote without quoting the file.
local LUA_WORDS = {}
for w in ([[and break do else elseif end false for function goto if in local nil not or
  repeat return then true until while]]):gmatch("%a+") do LUA_WORDS[w] = true end

-- What an evaluation error may say about a file reached through `extends` that is not a
-- profile by name (it does not end in .lua): `extends = "/etc/shadow"` must not make its
-- text appear in a message. A syntax error keeps Lua's description and line without the
-- tokens it quotes (its "near '…'", any quoted name); any other error of the evaluation
-- (`KEY=value` reads the name value) says only that it failed. The bounds' own messages
-- quote nothing and stay.
local function not_a_profile(msg)
  if msg:match("^profile runs too long") or msg:match("^profile uses too much memory") then return msg end
  local syntax = msg:match("^syntax error: (.*)$")
  local why = " (its name does not end in .lua, so its text is not shown)"
  if not syntax then return "not a profile: evaluating it failed" .. why end
  syntax = syntax:gsub("%s*near%s.*$", ""):gsub("'([^']*)'", function(t)
    if LUA_WORDS[t] or t:match("^%p+$") then return nil end
    return "'…'"
  end)
  if syntax == "syntax error" or syntax == "" then return "syntax error" .. why end
  return "syntax error: " .. syntax .. why
end

-- Whether value is plain data of bounded size (sandbox.check_data); if not, the error
-- names the entry where it stops being so.
function plain(value, file, map, L)
  local ok, keys, why = sandbox.check_data(value)
  if ok then return true end
  L.errors[#L.errors + 1] = { file = file, line = map and source_map.line_of(map, keys),
    path = sandbox.path_text(keys), msg = why }
  return false
end

-- Evaluates one file of the chain and, through `extends`, its parents; returns the
-- merged profile or nil (the reasons are in L.errors).
local function load_chain(name, from, stack, L)
  local src, file = M.find(name, from and from.file)
  if not src then
    L.errors[#L.errors + 1] = { file = from and from.file or name, line = from and from.line,
      path = from and "extends" or "", msg = file }
    return nil
  end
  for i, f in ipairs(stack) do
    if f == file then
      local cycle = {}
      for j = i, #stack do cycle[#cycle + 1] = stack[j] end
      cycle[#cycle + 1] = file
      L.errors[#L.errors + 1] = { file = from.file, line = from.line, path = "extends",
        msg = "extends cycle: " .. table.concat(cycle, " -> ") }
      return nil
    end
  end
  if #stack >= M.MAX_DEPTH then
    L.errors[#L.errors + 1] = { file = from.file, line = from.line, path = "extends",
      msg = "extends goes deeper than " .. M.MAX_DEPTH .. " profiles" }
    return nil
  end
  -- Whatever read it, a profile is at most the size the evaluator takes: nothing is
  -- tokenized past that.
  if #src > sandbox.SOURCE_LIMIT then
    L.errors[#L.errors + 1] = { file = file, path = "",
      msg = string.format("a profile is at most %d bytes (1 MiB); this one is %d", sandbox.SOURCE_LIMIT, #src) }
    return nil
  end
  -- The source map is read before the profile runs (its lines serve the errors of
  -- `params`), within the loader's bounds; a source it cannot map still loads.
  local okmap, map = pcall(source_map.parse, src)
  if not okmap then map = nil end
  local ctor_lines = setmetatable({}, { __mode = "k" })
  local value, err = sandbox.evaluate(src, file, names_for(file, map, L), ctor_lines)
  if value == nil and err then
    local msg = err.msg
    if from and not file:match("%.lua$") then msg = not_a_profile(msg) end
    L.errors[#L.errors + 1] = { file = file, line = err.line, path = "", msg = msg }
    return nil
  end
  if type(value) ~= "table" then
    L.errors[#L.errors + 1] = { file = file, path = "",
      msg = "a profile must return a table, got " .. type(value) }
    return nil
  end
  -- Everything after this walks the value: it must be plain data of a bounded size.
  if not plain(value, file, map, L) then return nil end
  -- Provenance is a help, never a reason to fail: without it errors name the file only.
  local mapped = map and pcall(source_map.annotate, value, map, file, L.origins, ctor_lines)
  if not mapped then L.origins[value] = L.origins[value] or { [""] = file } end
  L.sources[file] = src
  L.chain[#L.chain + 1] = file
  -- What this file needs of lunshare and its caller comes first: an older lunshare would
  -- only find fields it does not know.
  local why, field = require("lunshare.requires").unmet(value.requires)
  if why then
    local _, line = split_origin(source_map.lookup(L.origins, value, "requires." .. field) or
      source_map.lookup(L.origins, value, "requires"))
    L.errors[#L.errors + 1] = { file = file, line = line, path = "requires." .. field, msg = why }
    return nil
  end
  local parent
  if value.extends ~= nil then
    local o = L.origins[value] and L.origins[value].extends
    local _, line = split_origin(o)
    if type(value.extends) ~= "string" then
      L.errors[#L.errors + 1] = { file = file, line = line, path = "extends",
        msg = "expected the name or path of a profile, got " .. type(value.extends) }
      return nil
    end
    local next_stack = { table.unpack(stack) }
    next_stack[#next_stack + 1] = file
    parent = load_chain(value.extends, { file = file, line = line }, next_stack, L)
    if not parent then return nil end
  end
  local ctx = {
    origins = L.origins,
    fail = function(path, origin, msg)
      local f, l = split_origin(origin)
      L.errors[#L.errors + 1] = { file = f or file, line = l, path = path, msg = msg }
    end,
  }
  return compose.profile(parent, value, ctx)
end

-- The parameter declarations of a profile being checked (by the table load() composed):
-- the schema's areas see the profile's data only, and a check names parameters.
M.param_decls = setmetatable({}, { __mode = "k" })

-- Loads and checks a profile (M.load, without the bounds).
local function load(name, opts)
  opts = opts or {}
  local schema = require "lunshare.schema"
  local L = { origins = setmetatable({}, { __mode = "k" }), errors = {}, declared = {}, values = {},
    set = opts.set or {}, sources = {}, chain = {}, decls = {}, placeholder = opts.placeholders }
  local p = load_chain(name, nil, {}, L)
  if not p then return nil, L.errors end
  -- Each file was bounded; what they make together must be too.
  if not plain(p, M.split_origin(L.origins[p] and L.origins[p][""]) or name, nil, L) then
    return nil, L.errors
  end
  local declared = util.sorted_keys(L.declared)
  for _, k in ipairs(util.sorted_keys(L.set)) do
    if not L.declared[k] then
      local file = M.split_origin(L.origins[p] and L.origins[p][""])
      L.errors[#L.errors + 1] = { file = file, path = "params",
        msg = "--set " .. tostring(k) .. ": unknown parameter" .. util.suggest(k, declared) ..
          (#declared > 0 and ("; this profile takes " .. table.concat(declared, ", "))
            or "; this profile takes no parameters") }
    end
  end
  local file = M.split_origin(L.origins[p] and L.origins[p][""]) or name
  -- The declarations, for the areas that check what names a parameter (checks).
  M.param_decls[p] = L.decls
  local errors, warnings = schema.check(p, file, L.origins)
  -- A parameter is for the person who runs the profile: `show` prints what it means.
  for _, k in ipairs(util.sorted_keys(L.decls)) do
    local d = L.decls[k]
    if type(d.decl) == "table" and d.decl.description == nil then
      warnings[#warnings + 1] = { file = d.file, line = d.line, path = "params." .. k, warning = true,
        msg = "no description: say what the parameter means (lunshare show prints it for whoever runs the profile)" }
    end
  end
  for _, e in ipairs(errors) do L.errors[#L.errors + 1] = e end
  if #L.errors > 0 then return nil, L.errors, warnings end
  -- Where it came from, for the plan's provenance; not part of the profile's data.
  p._file, p._origins, p._warnings = file, L.origins, warnings
  p._params = L.values
  p._param_decls = L.decls
  p._source = L.sources[file]
  -- The files of the extends chain, the profile's own first, and their bytes (install).
  p._chain, p._sources = L.chain, L.sources
  return p, file
end

-- Loads and checks a profile by name or path, within the bounds of sandbox.bounded (a
-- command that loads more than one profile may hold one region around them all).
-- opts.set: parameter values by name (from --set); opts.placeholders: a required string
-- parameter without a value stands as "/<name>" (true: to show a profile; "test": only
-- those that declare a test value, for check; never to run it).
-- Returns the profile (with _file,
-- _origins and _warnings beside its fields) and its file, or nil and the list of errors
-- ({ file, line, path, msg }).
function M.load(name, opts)
  local ok, p, file_or_errors, warnings = sandbox.bounded(name, load, name, opts)
  if not ok then return nil, { { file = name, path = "", msg = p } } end
  return p, file_or_errors, warnings
end

-- For specs and the REPL: evaluates source alone; the value or nil, "file:line: msg".
function M.evaluate(source, chunkname)
  local L = { errors = {}, declared = {}, set = {} }
  local okmap, map = pcall(source_map.parse, source)
  local v, err = sandbox.evaluate(source, chunkname, names_for(chunkname, okmap and map or nil, L))
  if v == nil and err then
    return nil, chunkname .. (err.line and (":" .. err.line) or "") .. ": " .. err.msg
  end
  return v
end

-- The file:line an entry of a loaded profile came from ("mounts[3].source").
function M.origin(profile, path)
  if not profile._origins and type(profile._source) == "string" then
    -- A profile table made without load() (specs, the REPL) but with its source.
    local origins = setmetatable({}, { __mode = "k" })
    if pcall(source_map.annotate, profile, profile._source, profile._file or "profile", origins) then
      profile._origins = origins
    end
  end
  local o = profile._origins and source_map.lookup(profile._origins, profile, path)
  return o or profile._file or "profile"
end

-- The line on which a top-level field is set, for callers that only have a source.
function M.field_line(source, field)
  local map = source_map.parse(source)
  local f = map.root and map.root.fields[field]
  return f and f.line
end

return M
