-- Loading profiles: find them on the profile path, evaluate them safely (evaluator.lua),
-- follow `extends` (compose.lua), resolve parameters, remember where every entry came
-- from (source_map.lua) and check the result against the schema. Loading only builds
-- data: nothing here writes, and nothing a profile does can reach the system.
local areas = require "lunshare.areas"
local cmdline_layer = require "lunshare.cmdline_layer"
local compose = require "lunshare.compose"
local core = require "lunshare.core"
local evaluator = require "lunshare.evaluator"
local params = require "lunshare.params"
local requires = require "lunshare.requires"
local schema = require "lunshare.schema"
local source_map = require "lunshare.source_map"
local util = require "lunshare.util"

-- The executable's shipped profiles and install directory (lunshare.embedded, which
-- bindings/main.c preloads); a stock lua5.4 has only the install directory, from the
-- lunshare.paths that `cmake --install` writes, or nothing in a checkout.
local has_embedded, embedded = pcall(require, "lunshare.embedded")
if not has_embedded then
  local has_paths, paths = pcall(require, "lunshare.paths")
  embedded = has_paths and paths or nil
end

local M = {}

local in_line_order
local named_error

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
  if embedded and embedded.profile_dir then dirs[#dirs + 1] = embedded.profile_dir end
  return dirs
end

local read_file = util.read_file
local E = core.errno

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
  if has_embedded and embedded.profiles then
    shipped_cache = embedded.profiles
    return shipped_cache
  end
  -- Without the executable (lua5.4 and require "lunshare"): the source tree's profiles/
  -- (LUNSHARE_ROOT), or the installed ones (lunshare.paths).
  local dir
  local root = os.getenv("LUNSHARE_ROOT")
  if root and root ~= "" then dir = root .. "/profiles"
  elseif embedded and embedded.profile_dir then dir = embedded.profile_dir end
  local out = {}
  if dir then
    local names = core.dir_list(dir) or {}
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

-- The directory the shipped profiles are installed in (the last of the search path), or
-- nil in a build tree.
function M.shipped_dir() return embedded and embedded.profile_dir or nil end

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

-- Whether path is where a shipped profile is (as the chain names one reached by
-- builtin:NAME or from another shipped profile) and bytes, what was read there, are the
-- shipped text: a file at that path on disk that differs is somebody's own.
function M.is_shipped(path, bytes)
  local n = shipped_name_of(path)
  return n ~= nil and shipped()[n].source == bytes
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

local quotable = evaluator.quotable

-- Finds a profile by name or path. A name with a slash (or ending in .lua) is a file,
-- relative to the directory of `from` when a profile extends it. Returns its source text,
-- a display path, whether its text may be quoted and the real path of what was opened
-- (false when unknown, nil for a shipped one), or nil and a message.
function M.find(name, from)
  if name:sub(1, #M.BUILTIN) == M.BUILTIN then
    local n = name:sub(#M.BUILTIN + 1)
    local ship = shipped()
    if ship[n] then return ship[n].source, ship[n].path, true end
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
    return src, path, quotable(err), err
  end
  if not name:match("^[%w_%-%.]+$") then
    return nil, "bad profile name '" .. name .. "'"
  end
  for _, dir in ipairs(M.search_path()) do
    local path = dir .. "/" .. name .. ".lua"
    local src, err, errno = read_file(path)
    if src then return src, path, quotable(err), err end
    -- Missing or out of reach here: look further. A file there that cannot be a
    -- profile (a FIFO, a directory, one over the cap) is an error, not a reason to take
    -- the next one.
    if errno == E.EISDIR or errno == E.EINVAL or errno == E.EFBIG then
      return nil, "cannot read profile " .. path .. ": " .. cause(path, err)
    end
  end
  local ship = shipped()
  if ship[name] then return ship[name].source, ship[name].path, true end
  local names = util.sorted_keys(ship)
  return nil, "no profile named '" .. name .. "'" .. util.suggest(name, names) ..
    " (looked in " .. table.concat(M.search_path(), ", ") .. " and the shipped profiles)"
end

local plain

-- The constructors of profiles (ro_bind, veth, without, …): plain data makers, which the
-- REPL offers as globals too.
function M.constructors()
  local names = areas.constructors()
  names.without = compose.without
  return names
end

-- The names a profile sees besides the pure helpers.
local function names_for(file, map, L)
  local names = M.constructors()
  names.params = params.declarer({ file = file, node = map and map.calls.params, set = L.set,
    errors = L.errors, declared = L.declared, values = L.values, decls = L.decls,
    placeholder = L.placeholder })
  return names
end

local split_origin = source_map.split_origin
M.split_origin = split_origin

local NOT_SHOWN, not_a_profile = evaluator.NOT_SHOWN, evaluator.not_a_profile

-- What an evaluation error of a named file says: that it is not a profile, and the line, no
-- word of Lua's message (whose "near 'x'", "'=' expected" and "global 'x'" are the file's
-- first tokens: an oracle on /etc/shadow or ~/.bashrc in a CI log). The bounds' messages
-- quote nothing and stay. `lunshare check FILE` of the file itself shows Lua's message.
function named_error(e)
  local msg = tostring(e.msg)
  if msg:match("^profile runs too long") or msg:match("^profile uses too much memory") then return msg end
  local what = msg:match("^syntax error") and "syntax error" or "evaluating it failed"
  return "not a lunshare profile (" .. what .. (e.line and (" at line " .. e.line) or "") .. ")"
end

-- A message about a named file's entries, without its values. One that quotes nothing of
-- the file, or only a name it gives to extends or a path lunshare was asked to read (the
-- prefixes below), stays: "db_password: unknown field; expected one of …" is how a person
-- fixes a base profile. One that holds a string or a number of the file's values, or quotes
-- ('…' or "…") a piece of one, gives way to NAMED_HIDDEN: the rule looks at the values
-- themselves, not at how each checker happens to spell a value.
local NAMED_KEEP = { "cannot read ", "no profile named ", "no shipped profile named ",
  "extends cycle", "extends goes deeper", "not a lunshare profile", "not a profile",
  "a profile must return a table", "a profile is at most", "profile runs too long",
  "profile uses too much memory", "a string holds a NUL byte" }
M.NAMED_HIDDEN = "does not check (the values of a file named by path through extends are not shown: check it by itself)"

-- The strings and numbers among the values of t (plain data of a bounded size: checked).
local function values_of(t, out, seen)
  if seen[t] then return out end
  seen[t] = true
  for _, v in next, t do
    if type(v) == "table" then values_of(v, out, seen)
    elseif type(v) == "string" and v ~= "" then out[#out + 1] = v
    elseif type(v) == "number" then out[#out + 1] = tostring(v) end
  end
  return out
end

-- The string keys of t at any depth that are not a profile's top-level fields: a named
-- file's own words (a secret.lua's { ["ghp_…"] = true }), as { [key] = true }.
local FIELD = {}
for _, f in ipairs(schema.FIELDS) do FIELD[f] = true end
local function keys_of(t, out, seen)
  if seen[t] then return out end
  seen[t] = true
  for k, v in next, t do
    if type(k) == "string" and not FIELD[k] then out[k] = true end
    if type(v) == "table" then keys_of(v, out, seen) end
  end
  return out
end

-- A named file's field path with each of its own keys (keys_of) shown as "…": the path of
-- a top-level field and the list positions stay, which is where a person looks.
local function without_keys(path, keys)
  if not path or path == "" then return path end
  local out = {}
  for _, k in ipairs(source_map.split_path(path)) do
    if type(k) == "number" then out[#out + 1] = "[" .. k .. "]"
    else out[#out + 1] = (#out > 0 and "." or "") .. (keys[k] and "…" or k) end
  end
  return table.concat(out)
end

local function without_values(msg, values, keys)
  msg = tostring(msg)
  for _, k in ipairs(NAMED_KEEP) do
    if msg:sub(1, #k) == k then return msg end
  end
  for _, v in ipairs(values) do
    if msg:find(v, 1, true) then return M.NAMED_HIDDEN end
  end
  for _, q in ipairs({ "'([^']+)'", '"([^"]+)"' }) do
    for piece in msg:gmatch(q) do
      if keys and keys[piece] then return M.NAMED_HIDDEN end
      for _, v in ipairs(values) do
        if v:find(piece, 1, true) then return M.NAMED_HIDDEN end
      end
    end
  end
  return msg
end

-- Whether value is plain data of bounded size (evaluator.check_data); if not, the error
-- names the entry where it stops being so.
function plain(value, file, map, L)
  local ok, keys, why = evaluator.check_data(value)
  if ok then return true end
  L.errors[#L.errors + 1] = { file = file, line = map and source_map.line_of(map, keys),
    path = evaluator.path_text(keys), msg = why }
  return false
end

local chain

-- Evaluates one file of the chain and, through `extends`, its parents; returns the
-- merged profile or nil (the reasons are in L.errors). A table (the API's
-- `lunshare.run{ … }`) stands for a file's value: it has no source to evaluate, and from
-- there on it goes the way every file's value goes.
local function load_chain(name, from, stack, L)
  if type(name) == "table" then return chain(name, L.table_file, nil, nil, stack, L) end
  local src, file, quote, real = M.find(name, from and from.file)
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
  if #src > evaluator.SOURCE_LIMIT then
    L.errors[#L.errors + 1] = { file = file, path = "",
      msg = string.format("a profile is at most %d bytes (1 MiB)", evaluator.SOURCE_LIMIT) }
    return nil
  end
  -- The source map is read before the profile runs (its lines serve the errors of
  -- `params`), within the loader's bounds; a source it cannot map still loads.
  local okmap, map = pcall(source_map.parse, src)
  if not okmap then map = nil end
  local ctor_lines = setmetatable({}, { __mode = "k" })
  -- A file another names by path (through extends) outside the directory of the profile
  -- on the command line, not one found by name on the profile path, not a shipped one, may
  -- be anybody's: the caller's ~/.bashrc, a 0700 directory's secret.lua.
  -- An error of its evaluation says only that and where (named_error), and its field
  -- errors show no string value (L.named, in hide).
  -- Files in the directory tree of the profile on the command line came with it (a
  -- stranger's repository): theirs to read, as the profile is.
  if from == nil and type(real) == "string" then L.tree = real:match("^(.*)/[^/]*$") end
  local named = from ~= nil and (name:find("/") or name:match("%.lua$")) ~= nil and not M.is_shipped(file, src) and
    not (type(real) == "string" and L.tree and real:sub(1, #L.tree + 1) == L.tree .. "/")
  local value, err, soft = evaluator.evaluate(src, file, names_for(file, map, L), ctor_lines)
  for _, e in ipairs(soft or {}) do
    if named then
      L.errors[#L.errors + 1] = { file = file, path = "", msg = named_error(e) }
      return nil
    end
    L.errors[#L.errors + 1] = { file = file, line = e.line, path = "", msg = quote and e.msg or not_a_profile(e.msg) }
  end
  if value == nil and err then
    if named then
      L.errors[#L.errors + 1] = { file = file, path = "", msg = named_error(err) }
      return nil
    end
    local msg = err.msg
    if not quote then msg = not_a_profile(msg) end
    L.errors[#L.errors + 1] = { file = file, line = err.line, path = "", msg = msg }
    return nil
  end
  if type(value) ~= "table" then
    L.errors[#L.errors + 1] = { file = file, path = "",
      msg = "a profile must return a table, got " .. type(value) }
    return nil
  end
  L.sources[file] = src
  L.chain[#L.chain + 1] = file
  L.via[file] = name
  if not quote then L.hidden[file] = true end
  if named then L.named[file] = value end
  return chain(value, file, map, ctor_lines, stack, L)
end

-- The rest of the chain from a file's value (or a table): its data checked, its origins
-- noted, its parent loaded and merged under it.
function chain(value, file, map, ctor_lines, stack, L)
  -- Everything after this walks the value: it must be plain data of a bounded size.
  if not plain(value, file, map, L) then return nil end
  -- Provenance is a help, never a reason to fail: without it errors name the file only.
  local mapped = map and pcall(source_map.annotate, value, map, file, L.origins, ctor_lines)
  if not mapped then L.origins[value] = L.origins[value] or { [""] = file } end
  -- What this file needs of lunshare and its caller comes first: an older lunshare would
  -- only find fields it does not know.
  local why, field = requires.unmet(value.requires)
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

-- Errors as a person reads the file: each file's in line order (stable, so errors of one
-- line keep the order they were found in), the files in the order they first appear.
function in_line_order(errors)
  local file_rank, keyed = {}, {}
  for i, e in ipairs(errors) do
    local f = tostring(e.file)
    file_rank[f] = file_rank[f] or i
    keyed[i] = { e = e, f = file_rank[f], l = tonumber(e.line) or math.huge, i = i }
  end
  table.sort(keyed, function(a, b)
    if a.f ~= b.f then return a.f < b.f end
    if a.l ~= b.l then return a.l < b.l end
    return a.i < b.i
  end)
  for i, k in ipairs(keyed) do errors[i] = k.e end
  return errors
end

-- What load() puts beside a profile's fields. A loaded profile given back as a table
-- (changed or not) is loaded again without them, and its origins still name its lines.
local LOADER_KEYS = { _file = true, _origins = true, _warnings = true, _params = true, _source = true,
  _param_decls = true, _chain = true, _sources = true, _via = true }

-- What errors call a profile: its name, or for a table opts.file, the file of the profile
-- it was loaded from, or "<table>".
local function label_of(name, opts)
  if type(name) ~= "table" then return name end
  local file = rawget(name, "_file")
  return opts and opts.file or (type(file) == "string" and file) or "<table>"
end

-- A table given to the API, as the value the chain starts from.
local function table_value(t, L)
  local value = {}
  for k, v in next, t do
    if not LOADER_KEYS[k] then value[k] = v end
  end
  local origins = rawget(t, "_origins")
  if type(origins) == "table" then
    setmetatable(L.origins, { __mode = "k", __index = origins })
    L.origins[value] = origins[t]
  end
  return value
end

-- The errors about the entries of a file whose text may not be quoted (L.hidden: it is not
-- a .lua file by what was opened, yet it evaluated to a table) say only that it does not
-- check: a field path or a value in them is text of the file.
-- The errors about the entries of a named file (L.named: reached through extends, not
-- shipped) keep their line, top-level field and message, which is how a person fixes a base
-- profile, without the string values they quote (a secret.lua's password) or the file's
-- own keys (a secret.lua's token as a key: "…" in the path).
local function hide(errors, hidden, named)
  local out, seen, values, keys = {}, {}, {}, {}
  for _, e in ipairs(errors) do
    if hidden[e.file] then
      e = { file = e.file, path = "", msg = "not a profile: its entries do not check" .. NOT_SHOWN }
      if seen[e.file] then e = nil else seen[e.file] = true end
    elseif named[e.file] then
      values[e.file] = values[e.file] or values_of(named[e.file], {}, {})
      keys[e.file] = keys[e.file] or keys_of(named[e.file], {}, {})
      e = { file = e.file, line = e.line, path = without_keys(e.path, keys[e.file]),
        msg = without_values(e.msg, values[e.file], keys[e.file]), warning = e.warning }
    end
    out[#out + 1] = e
  end
  return out
end

-- Loads and checks a profile (M.load, without the bounds).
local load_checked
local function load(name, opts)
  local p, a, b = load_checked(name, opts)
  if p == nil and type(a) == "table" and a.hidden then return nil, hide(a, a.hidden, a.named), b end
  return p, a, b
end

function load_checked(name, opts)
  opts = opts or {}
  local L = { origins = setmetatable({}, { __mode = "k" }), errors = {}, declared = {}, values = {},
    set = opts.set or {}, sources = {}, via = {}, table_file = label_of(name, opts), hidden = {}, named = {}, chain = {}, decls = {},
    placeholder = opts.placeholders }
  L.errors.hidden, L.errors.named = L.hidden, L.named
  if type(name) == "table" then name = table_value(name, L) end
  local p = load_chain(name, nil, {}, L)
  if not p then return nil, L.errors end
  -- The command line's one-off additions, a last layer merged as a child is.
  local layer = opts.layer and opts.layer(p)
  if layer then
    local top = L.origins[p] and L.origins[p][""]
    cmdline_layer.mark(layer, L.origins)
    p = compose.profile(p, layer, { origins = L.origins, fail = function(path, _, msg)
      L.errors[#L.errors + 1] = { file = cmdline_layer.ORIGIN, path = path, msg = msg }
    end })
    -- The profile is still the chain's file; only the layer's entries are the command line's.
    L.origins[p][""] = top
  end
  -- Each file was bounded; what they make together must be too.
  if not plain(p, M.split_origin(L.origins[p] and L.origins[p][""]) or L.table_file, nil, L) then
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
  local file = M.split_origin(L.origins[p] and L.origins[p][""]) or L.table_file
  local errors, warnings = schema.check(p, file, L.origins, L.decls)
  -- A parameter is for the person who runs the profile: `show` prints what it means.
  for _, k in ipairs(util.sorted_keys(L.decls)) do
    local d = L.decls[k]
    if type(d.decl) == "table" and d.decl.description == nil then
      warnings[#warnings + 1] = { file = d.file, line = d.line, path = "params." .. k, warning = true,
        msg = "no description: say what the parameter means (lunshare show prints it for whoever runs the profile)" }
    end
    local seen = {}
    for i, v in ipairs(type(d.decl) == "table" and type(d.decl.values) == "table" and d.decl.values or {}) do
      if seen[v] then
        warnings[#warnings + 1] = { file = d.file, line = d.line, path = "params." .. k .. ".values[" .. i .. "]",
          warning = true, msg = "'" .. tostring(v) .. "' is listed already (values[" .. seen[v] .. "]): remove the duplicate" }
      else
        seen[v] = i
      end
    end
  end
  for _, e in ipairs(errors) do L.errors[#L.errors + 1] = e end
  if #L.errors > 0 then return nil, in_line_order(L.errors), warnings end
  -- Where it came from, for the plan's provenance; not part of the profile's data.
  p._file, p._origins, p._warnings = file, L.origins, warnings
  p._params = L.values
  p._param_decls = L.decls
  p._source = L.sources[file]
  -- The files of the extends chain, the profile's own first, their bytes, and the name
  -- each was reached by (its parent's `extends`, or what was loaded) (install, run).
  p._chain, p._sources, p._via = L.chain, L.sources, L.via
  return p, file
end

-- Loads and checks a profile by name or path, or a table as if a file had returned it
-- (`extends` and all), within the bounds of evaluator.bounded (a command that loads more
-- than one profile may hold one region around them all). opts.set: parameter values by
-- name (from --set); opts.file: what errors call a table (default: the file a loaded
-- profile came from, or "<table>"); opts.placeholders: a required string parameter
-- without a value stands as "/<name>" (true: to show a profile; "test": only those that
-- declare a test value, for check; never to run it). Returns the profile (with _file,
-- _origins and _warnings beside its fields) and its file, or nil and the list of errors
-- ({ file, line, path, msg }).
function M.load(name, opts)
  local label = label_of(name, opts)
  local ok, p, file_or_errors, warnings = evaluator.bounded(label, load, name, opts)
  if not ok then return nil, { { file = label, path = "", msg = p } } end
  return p, file_or_errors, warnings
end

-- For specs and the REPL: evaluates source alone; the value or nil, "file:line: msg".
function M.evaluate(source, chunkname)
  local L = { errors = {}, declared = {}, set = {} }
  local okmap, map = pcall(source_map.parse, source)
  local v, err = evaluator.evaluate(source, chunkname, names_for(chunkname, okmap and map or nil, L))
  if v == nil and err then
    return nil, chunkname .. (err.line and (":" .. err.line) or "") .. ": " .. err.msg
  end
  return v
end

-- The file:line an entry of a loaded profile came from ("mounts[3].source").
M.origin = source_map.origin

-- The line on which a top-level field is set, for callers that only have a source.
function M.field_line(source, field)
  local map = source_map.parse(source)
  local f = map.root and map.root.fields[field]
  return f and f.line
end

return M
