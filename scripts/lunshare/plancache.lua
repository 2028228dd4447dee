-- The plan cache: `lunshare run` keeps the plan it built, and a later run with the same
-- inputs spawns that plan without loading, checking or planning the profile again.
--
-- A profile is pure data and the planner a pure function, so a plan is a function of its
-- inputs. They are, each with the way the cache covers it:
--
--   lunshare itself         its version and the executable's GNU build id (which changes
--                           with its code and the scripts compiled into it): in the key.
--                           With LUNSHARE_SCRIPTS (scripts from a source tree) there is no
--                           cache at all.
--   the command line        the words of `run` before the command (the profile's name, each
--                           --set, the command-line layer --bind/--setenv/…, --pty/--no-pty,
--                           --timeout, --egress-log) and whether a command was given: in the
--                           key. The command's words are not: they are filled into the exec
--                           step on a hit (the planner puts them nowhere else).
--   the caller              uid, euid, gid, egid and groups (core.ids, all but the pid): in
--                           the key and recorded; where its state directory is (state.base,
--                           from XDG_RUNTIME_DIR: the egress helper's plan names it): in the
--                           key; the caller's passwd entry (core.user: the
--                           name and the home the mounts read) and subordinate ranges
--                           (core.subid over /etc/subuid and /etc/subgid): recorded.
--   the files               every file the loader and the planner read, the profile, its
--                           `extends` chain, the files it names (seccomp rule files, …) and
--                           the directories of the profile path (core.read_file,
--                           core.dir_list): recorded, with the bytes they returned.
--   the environment         the variables the loader reads (os.getenv: LUNSHARE_PROFILE_PATH,
--                           XDG_CONFIG_HOME, HOME, LUNSHARE_ROOT, …): recorded; for the
--                           command's environment, the values of the variables the profile
--                           keeps (env.keep, or the default list), or the whole environment
--                           for env.clear = false: recorded.
--   host facts              how each host path the planner looks at resolves (core.resolve:
--                           optional binds whose source may be missing, /etc/resolv.conf's
--                           symlink, …), file kinds and ids (core.kind, core.file_id,
--                           core.readlink), the kernel (core.uname, core.has_syscall), and
--                           whether stdin and stdout are the caller's foreground terminal
--                           (core.isatty, core.foreground): recorded.
--
-- "Recorded" means: while a run loads and plans on a miss, every function of lunshare.core
-- it calls goes through a recorder, which keeps the call (name, arguments) and a digest of
-- what it returned. Functions that read nothing of the host (core.ops, plan_check, the
-- seccomp tables, the evaluator's bounds) are passed through; a call of any other function
-- (one that acts, or one this list does not know) makes that run's plan uncacheable, so a
-- new input the planner learns to read can never be missed silently. On a hit, every
-- recorded call is made again and must return the same digest, or the entry is a miss.
--
-- The key: SHA-256 over lunshare's version and build id, the uid and the command line as
-- above; the entry named by it holds the recorded calls, the plan (core.plan_encode) and
-- what run reports with (the profile's file, its limits), framed by core.plancache_entry:
-- the format line and a checksum that detects damage (FNV-1a: anyone who can write the
-- private directory could recompute any unkeyed sum; the key and the replayed digests,
-- SHA-256, are what tell a foreign or stale plan).
-- An entry that is not a regular file of the caller's (a symlink, another owner), not of
-- this format, whose checksum or key does not match, whose plan does not decode, or whose
-- plan the executor does not validate (core.plan_decode runs lsh_plan_validate; spawn does
-- again) is ignored: a fresh plan is built and written over it. Entries live in a private
-- directory verified as every state directory is (lunshare.state: 0700, owned, no
-- symlinks, opened relative to the verified fd), and are replaced atomically (written aside
-- and renamed over); M.MAX_ENTRIES bounds how many. LUNSHARE_CACHE_DIR moves the
-- directory's trusted root (tests do).
local core = require "lunshare.core"
local state = require "lunshare.state"

local M = {}

M.FORMAT = core.PLANCACHE_FORMAT
M.AREA = core.PLANCACHE_AREA
-- Entries one directory holds at most: past it, a miss empties it before it writes (each
-- --set value and command line is an entry of its own).
M.MAX_ENTRIES = 256

-- The host readers: recorded here and replayed by core.plancache_load.
local RECORDED = core.PLANCACHE_RECORDED
-- Functions that read nothing of the host: their results depend on lunshare alone.
local PURE = {
  ops = true, plan_check = true, seccomp_check = true, seccomp_syscalls = true, sha256 = true,
  serialize = true, deserialize = true, digest = true, plancache_entry = true,
  -- The state directories' place: from the uid and XDG_RUNTIME_DIR, both in the key.
  state_base = true,
  strerror = true, signum = true, memory_limit = true, memory_exceeded = true, cpu_hold = true,
  cpu_bounded = true, build_id = true,
}

-- ---- a canonical serialization ----------------------------------------------------------
-- Length-prefixed, keys sorted: equal values give equal bytes, so digests compare values.
-- In C (core.serialize, bindings/l_serial.c): a hit serializes its key and every replayed
-- answer and decodes its whole entry, which in Lua was most of a hit's time (issue #14).

M.serialize = core.serialize
-- The value of a serialization, bounded (the text comes from a file); nil and why.
M.deserialize = core.deserialize
-- The SHA-256 of serialize(table.pack(...)), or nil when it cannot be serialized.
local digest = core.digest

-- ---- the recorder ---------------------------------------------------------------------

-- The results of a recorded call as they count: core.ids without the pid (which the
-- planner never reads and which differs every run).
local function settle(name, ...)
  if name == "ids" then
    local ids = ...
    local copy = {}
    for k, v in pairs(ids) do if k ~= "pid" then copy[k] = v end end
    return copy
  end
  return ...
end

-- Runs fn() with every call into lunshare.core (and os.getenv) recorded; returns a
-- recorder { calls = { { name, args, digest }, … }, uncacheable = why or nil, environ =
-- whether the caller's environment was read } and fn's results. Whatever fn raises is
-- raised again, after the functions are put back.
function M.record(fn)
  local rec = { calls = {}, seen = {} }
  local saved = {}
  local function note(name, args, d)
    if d == nil then
      rec.uncacheable = rec.uncacheable or ("core." .. name .. " returned what cannot be compared")
      return
    end
    local ok, a = pcall(M.serialize, args)
    if not ok then
      rec.uncacheable = rec.uncacheable or ("core." .. name .. " took what cannot be replayed")
      return
    end
    local id = name .. "\0" .. a
    if rec.seen[id] then
      if rec.seen[id] ~= d then rec.uncacheable = "core." .. name .. " answered twice differently" end
      return
    end
    rec.seen[id] = d
    rec.calls[#rec.calls + 1] = { name, a, d }
  end
  for name, f in pairs(core) do
    if type(f) == "function" and not PURE[name] then
      saved[name] = f
      if name == "environ" then
        core[name] = function(...)
          rec.environ = true
          return f(...)
        end
      elseif RECORDED[name] then
        core[name] = function(...)
          local args = table.pack(...)
          local res = table.pack(f(...))
          note(name, args, digest(settle(name, table.unpack(res, 1, res.n))))
          return table.unpack(res, 1, res.n)
        end
      else
        core[name] = function(...)
          rec.uncacheable = rec.uncacheable or ("it calls core." .. name)
          return f(...)
        end
      end
    end
  end
  local getenv = os.getenv
  os.getenv = function(k)
    local v = getenv(k)
    local d = digest(v)
    local ok, a = pcall(M.serialize, table.pack(k))
    if ok then
      local id = "getenv\0" .. a
      if not rec.seen[id] then
        rec.seen[id] = d
        rec.calls[#rec.calls + 1] = { "getenv", a, d }
      end
    end
    return v
  end
  local res = table.pack(pcall(fn))
  for name, f in pairs(saved) do core[name] = f end
  os.getenv = getenv
  if not res[1] then error(res[2], 0) end
  return rec, table.unpack(res, 2, res.n)
end

-- The environment variables a plan depends on: those the profile keeps, or all of them.
-- A recorded call of its own, so that a hit compares them like any other.
local function environ_call(p, default_keep)
  local e = type(p.env) == "table" and p.env or {}
  if e.clear == false then return { "environ_all", M.serialize(table.pack()), digest(core.environ()) } end
  local keep = {}
  for _, k in ipairs(e.keep or default_keep) do keep[#keep + 1] = k end
  table.sort(keep)
  local vals = {}
  for _, k in ipairs(keep) do vals[#vals + 1] = os.getenv(k) or false end
  return { "environ_kept", M.serialize(keep), digest(vals) }
end

-- ---- the key and the entries --------------------------------------------------------------

-- The key of a run: nil when there is no cache (LUNSHARE_SCRIPTS, no build id, or a user
-- without XDG_RUNTIME_DIR: a plain run does not make /tmp/lunshare-UID, the state
-- fallback, just to save time). words: the run's arguments before the command;
-- has_command: whether one was given. SHA-256 over the format, lunshare's version and
-- build id, the caller's ids (core.ids without the pid), words, has_command and the state
-- directory's place (the egress helper's plan names it). In C (core.plancache_key), as
-- a hit without scripts computes it (bindings/l_fastrun.c).
function M.key(words, has_command) return core.plancache_key(words, has_command == true) end

local function open_dir(create)
  local root = os.getenv("LUNSHARE_CACHE_DIR")
  if root and root ~= "" then
    local fd, msg, errno = core.statedir(root, M.AREA, create)
    if not fd and errno == core.errno.ENOENT and not create then return nil end
    if not fd then return nil, msg, errno end
    return { fd = fd, close = function(self) self.fd:close() end, path = root .. "/" .. M.AREA }
  end
  return state.open(M.AREA, { create = create })
end

-- The cached entry for key, checked: { plan = …, meta = … }, or nil (a miss) and why. In
-- C (core.plancache_load), which replays every recorded call through lunshare.core.
function M.load(key) return core.plancache_load(key) end

-- Writes the entry for key: the recorder's calls, the plan (without the command's words
-- when they came from the command line) and meta. Returns true, or nil and why not.
function M.store(key, rec, p, plan, meta, default_keep)
  if rec.uncacheable then return nil, rec.uncacheable end
  local calls = rec.calls
  if rec.environ then
    calls = { table.unpack(rec.calls) }
    calls[#calls + 1] = environ_call(p, default_keep)
  end
  local ok, text = pcall(core.plan_encode, plan)
  if not ok or not text then return nil, "the plan does not encode" end
  local body = M.serialize({ key = key, calls = calls, plan = text, meta = meta })
  local dir, msg = open_dir(true)
  if not dir then return nil, msg end
  local names = core.state_list(dir.fd)
  if names and #names >= M.MAX_ENTRIES then
    for _, name in ipairs(names) do core.state_remove(dir.fd, name) end
  end
  local r, err = core.state_write(dir.fd, key, core.plancache_entry(body), "replace")
  dir:close()
  return r, err
end

-- Removes every entry; returns how many, or nil and why.
function M.clear()
  local dir, msg = open_dir(false)
  if not dir then
    if msg then return nil, msg end
    return 0
  end
  local names, err = core.state_list(dir.fd)
  if not names then
    dir:close()
    return nil, err
  end
  local n = 0
  for _, name in ipairs(names) do
    if core.state_remove(dir.fd, name) then n = n + 1 end
  end
  dir:close()
  return n
end

return M
