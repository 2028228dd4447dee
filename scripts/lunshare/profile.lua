-- Loading profiles: find them on the profile path, evaluate them safely, and check them
-- against the schema. Loading only builds data: a profile cannot reach io, os, require,
-- load or debug, and a bound on instructions and memory stops one that never ends.
local util = require "lunshare.util"

local M = {}

M.INSTRUCTION_LIMIT = 10000000
M.MEMORY_LIMIT_KB = 64 * 1024

-- Where `extends = "name"` and `lunshare run name` look, in order.
function M.search_path()
  local dirs = {}
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

local function read_file(path)
  local f, err = io.open(path, "r")
  if not f then return nil, err end
  local s = f:read("a")
  f:close()
  return s
end

-- Finds a profile by name or path. Returns its source text and a display path.
function M.find(name)
  if name:find("/") or name:match("%.lua$") then
    local src, err = read_file(name)
    if not src then return nil, "cannot read profile " .. name .. ": " .. err:gsub("^[^:]*: ", "") end
    return src, name
  end
  if not name:match("^[%w_%-%.]+$") then
    return nil, "bad profile name '" .. name .. "'"
  end
  for _, dir in ipairs(M.search_path()) do
    local path = dir .. "/" .. name .. ".lua"
    local src = read_file(path)
    if src then return src, path end
  end
  local ok, embedded = pcall(require, "lunshare.embedded")
  local shipped = ok and embedded.profiles or {}
  if shipped[name] then return shipped[name].source, shipped[name].path end
  local names = {}
  for n in pairs(shipped) do names[#names + 1] = n end
  table.sort(names)
  return nil, "no profile named '" .. name .. "'" .. util.suggest(name, names) ..
    " (looked in " .. table.concat(M.search_path(), ", ") .. " and the shipped profiles)"
end

-- The environment a profile runs in: pure helpers only. Tables are copies, so a profile
-- cannot change the libraries the rest of lunshare uses.
local function copy(t)
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  return c
end

local function sandbox_env(extra)
  local env = {
    string = copy(string), table = copy(table), math = copy(math), utf8 = copy(utf8),
    pairs = pairs, ipairs = ipairs, next = next, select = select, type = type,
    tostring = tostring, tonumber = tonumber, error = error, assert = assert,
    pcall = pcall, rawequal = rawequal, rawlen = rawlen, rawget = rawget,
  }
  env.string.dump = nil
  for _, area in ipairs(require("lunshare.plan").AREAS) do
    for k, v in pairs(require(area).constructors) do env[k] = v end
  end
  for k, v in pairs(extra or {}) do env[k] = v end
  return env
end

-- Evaluates source in the sandbox; returns the value or nil, message.
function M.evaluate(source, chunkname, extra_env)
  local env = sandbox_env(extra_env)
  local fn, perr = load(source, "=" .. chunkname, "t", env)
  if not fn then return nil, perr end

  -- string.rep is reachable through the string metatable too, so cap the real one while
  -- the profile runs; other allocations grow step by step and the hook sees them.
  local real_rep = string.rep
  local limit_bytes = M.MEMORY_LIMIT_KB * 1024
  string.rep = function(s, n, sep)
    if type(n) == "number" and #tostring(s) * n > limit_bytes then
      error("profile uses too much memory (more than " .. M.MEMORY_LIMIT_KB // 1024 .. " MiB)", 2)
    end
    return real_rep(s, n, sep)
  end
  env.string.rep = string.rep

  local base_kb = collectgarbage("count")
  local count, step = 0, 1000
  local co = coroutine.create(fn)
  debug.sethook(co, function()
    count = count + step
    if count > M.INSTRUCTION_LIMIT then
      error("profile runs too long (more than " .. M.INSTRUCTION_LIMIT .. " instructions)", 2)
    end
    if collectgarbage("count") - base_kb > M.MEMORY_LIMIT_KB then
      collectgarbage()
      if collectgarbage("count") - base_kb > M.MEMORY_LIMIT_KB then
        error("profile uses too much memory (more than " .. M.MEMORY_LIMIT_KB // 1024 .. " MiB)", 2)
      end
    end
  end, "", step)
  local ok, res = coroutine.resume(co)
  string.rep = real_rep
  if not ok then
    return nil, tostring(res)
  end
  return res
end

-- The line on which a top-level field is assigned in the source, best effort.
function M.field_line(source, field)
  local n = 0
  for line in (source .. "\n"):gmatch("([^\n]*)\n") do
    n = n + 1
    if line:match("^%s*" .. field .. "%s*=") or line:match("[{,]%s*" .. field .. "%s*=") then
      return n
    end
  end
  return nil
end

-- Loads and checks a profile by name or path. Returns the profile table and its file, or
-- nil and a list of errors ({file, line, path, msg}).
function M.load(name)
  local schema = require "lunshare.schema"
  local source, file = M.find(name)
  if not source then return nil, { { file = name, path = "", msg = file } } end
  local value, err = M.evaluate(source, file)
  if value == nil and err then
    -- "file:line: message" from the compiler or the runtime keeps its own position.
    local f, line, msg = err:match("^(.-):(%d+): (.*)$")
    if f then return nil, { { file = f, line = tonumber(line), path = "", msg = msg } } end
    return nil, { { file = file, path = "", msg = err } }
  end
  local errors = schema.check(value, file, source)
  if #errors > 0 then return nil, errors end
  -- Where it came from, for the plan's provenance; not part of the profile's data.
  value._file, value._source = file, source
  return value, file
end

return M
