-- Where lunshare keeps what outlives one command, and the only way to it.
--
-- State lives in private directories, one per area ("net" for topologies, "netns" for a
-- rootless topology's namespace pins; named sandboxes, a plan cache and sockets take theirs
-- the same way):
--   root     /run/lunshare/AREA
--   a user   $XDG_RUNTIME_DIR/lunshare/AREA, or /tmp/lunshare-UID/lunshare/AREA without it
-- Every component lunshare makes beneath the trusted root (/run, $XDG_RUNTIME_DIR, /tmp) is
-- created 0700 and verified before use (a directory, not a symlink, owned by the caller,
-- writable by no one else: core.statedir); a directory another user prepared is refused
-- with one line naming it. Files are then opened relative to the verified directory, never
-- through a symlink, created with O_EXCL, replaced by a write aside and a rename. State is
-- data: read whole up to a cap and decoded by the bounded JSON decoder, never run.
--
--   local state = require "lunshare.state"
--   local dir = assert(state.open("net"))             -- made when missing
--   dir:append_json("t.state", { add = "hosts", x = "h1" })
--   local records, err = dir:read_json_lines("t.state") -- nil, nil: no such file
--   assert(dir:lock())                               -- one command at a time
--   dir:remove("t.state"); dir:close(); state.prune("net")
local core = require "lunshare.core"
local json = require "lunshare.json"

local M = {}

M.MAX_SIZE = 1 << 20
-- Values in one state file, all lines together: a topology of a few thousand objects.
M.MAX_ITEMS = 200000

local ENOENT = core.errno.ENOENT

-- The trusted root and the path beneath it, decided once from the real uid: a rootless
-- command that entered its holder's user namespace (uid 0 there) keeps its place. Root's
-- /run/lunshare; a user's $XDG_RUNTIME_DIR/lunshare; else /tmp/lunshare-UID/lunshare. In
-- C (core.state_base), because a plan cache hit needs it before any script is loaded.
--
-- /tmp is shared by every user: another one may have made /tmp/lunshare-UID first, and
-- then it is refused (owned by someone else, or open to others), never used.
local base_root, base_path
function M.base()
  if base_root == nil then base_root, base_path = core.state_base() end
  return base_root, base_path
end

-- Where a run's helper state goes (state nobody finds again by name: the run holds its
-- directory, and a later run under the same base sweeps it): M.base() when it is usable;
-- else, for a user without XDG_RUNTIME_DIR whose /tmp/lunshare-UID another user made first
-- (or left open to others), a fresh /tmp/lunshare-UID-RANDOM of the user's own, made 0700 and
-- verified like any other, never a name someone else could choose. The foreign directory
-- is refused, never written. The choice is core's (lsh_statedir_open_run), made when a run
-- starts its helpers: a plan names only M.base(), so planning (check, explain) makes no
-- directory. This makes one, for a run's own use. Returns root, path; nil and why.
function M.run_base()
  local root, path = M.base()
  local fd, used, errno = core.statedir(root, path, true, "run")
  if not fd then return nil, used, errno end
  fd:close()
  return root, used
end

-- Whether the caller is a user rather than root (state and namespaces kept rootless).
function M.rootless()
  local root = M.base()
  return root ~= "/run"
end

local function check_area(area)
  if type(area) ~= "string" or not area:match("^[%w_%-]+$") then
    error("state area must be a plain name, got " .. tostring(area), 3)
  end
end

local Dir = {}
Dir.__index = Dir

-- Opens the verified directory of an area, making it (and what is missing above it, down
-- from the trusted root) unless opts.create is false. Returns the directory; nil when it
-- is missing and create is false; nil and a one-line message when it is refused.
function M.open(area, opts)
  check_area(area)
  local create = not (opts and opts.create == false)
  local root, path = M.base()
  local fd, msg, errno = core.statedir(root, path .. "/" .. area, create)
  if not fd then
    if errno == ENOENT and not create then return nil end
    return nil, msg, errno
  end
  return setmetatable({ fd = fd, area = area, path = root .. "/" .. path .. "/" .. area }, Dir)
end

-- Another user's area, for root to read (never to write): beneath the trusted root
-- (that user's $XDG_RUNTIME_DIR, or /tmp) at path, every component verified to be uid's
-- and private. nil when missing; nil and a message when refused.
function M.open_of(root, path, area, uid)
  check_area(area)
  local fd, msg, errno = core.statedir_of(root, path .. "/" .. area, uid)
  if not fd then
    if errno == ENOENT then return nil end
    return nil, msg, errno
  end
  return setmetatable({ fd = fd, area = area, path = root .. "/" .. path .. "/" .. area, foreign = true }, Dir)
end

-- Removes the area's directory and those above it that lunshare made, each once empty
-- (a non-empty one stays, with everything above it).
function M.prune(area)
  check_area(area)
  local root, path = M.base()
  return core.statedir_prune(root, path .. "/" .. area)
end

-- The display path of a file in the directory (for messages only: never opened).
function Dir:file(name) return self.path .. "/" .. name end

-- core names the file in its messages by the name alone: give the whole path.
function Dir:_say(name, msg)
  if msg:sub(1, #name + 1) == name .. ":" then return self.path .. "/" .. msg end
  return self:file(name) .. ": " .. msg
end

function Dir:_result(name, ok, msg, errno)
  if ok == nil then return nil, self:_say(name, msg), errno end
  return ok
end

-- The whole file (at most max bytes, 1 MiB by default); nil when there is none; nil and
-- a message when it is not a regular file of the caller's, or too large.
function Dir:read(name, max)
  local text, msg, errno = core.state_read(self.fd, name, max or M.MAX_SIZE, self.foreign and "any" or "own")
  if text then return text end
  if errno == ENOENT then return nil end
  return nil, self:_say(name, msg), errno
end

-- A new file (never over an existing one).
function Dir:create(name, text) return self:_result(name, core.state_write(self.fd, name, text, "create")) end
function Dir:append(name, text) return self:_result(name, core.state_write(self.fd, name, text, "append")) end
-- The whole file replaced at once: written aside, renamed over.
function Dir:replace(name, text) return self:_result(name, core.state_write(self.fd, name, text, "replace")) end
-- As replace, only while the file exists (swapped in, so that one another process
-- removed stays removed): nil and a message naming ENOENT otherwise.
function Dir:update(name, text) return self:_result(name, core.state_write(self.fd, name, text, "update")) end
-- true when removed, false when there was none.
function Dir:remove(name) return self:_result(name, core.state_remove(self.fd, name)) end
function Dir:list() return self:_result("", core.state_list(self.fd)) end
function Dir:close() self.fd:close() end
-- Takes the area's lock, so that two commands never work on it at once (two `net up`
-- of one topology would both make its objects): waits up to opts.wait seconds (10 by
-- default) for another command to finish, then refuses with one line. Held until the
-- directory is closed, or the process ends.
function Dir:lock(opts)
  local wait = opts and opts.wait or 10
  local deadline = os.time() + wait
  while true do
    local ok, msg, errno = core.state_lock(self.fd)
    if ok == nil then return nil, self.path .. ": " .. msg, errno end
    if ok then return true end
    if os.time() >= deadline then
      return nil, self.path .. ": another lunshare command is using it (waited " .. wait .. " s); try again when it ends"
    end
    core.sleep(0.05)
  end
end

-- The directory's handle, for core calls that work relative to it (netns pins).
function Dir:handle() return self.fd end

-- ---- JSON lines ------------------------------------------------------------------------

local function encode_line(v) return json.encode(v) .. "\n" end

function Dir:append_json(name, value) return self:append(name, encode_line(value)) end

function Dir:replace_json_lines(name, values)
  local out = {}
  for i, v in ipairs(values) do out[i] = encode_line(v) end
  return self:replace(name, table.concat(out))
end

function Dir:update_json_lines(name, values)
  local out = {}
  for i, v in ipairs(values) do out[i] = encode_line(v) end
  return self:update(name, table.concat(out))
end

-- The values of a file of JSON lines, in order, and the line number of each; nil when
-- there is no file; nil and "PATH: not a valid state file (line N: expected … at byte M)"
-- when any line is not JSON, or the file is over the bounds. The file's text is never
-- quoted.
function Dir:read_json_lines(name)
  local text, err, errno = self:read(name)
  if not text then return nil, err, errno end
  local out, lines, n, left = {}, {}, 0, M.MAX_ITEMS
  for line in text:gmatch("([^\n]*)\n?") do
    n = n + 1
    if line ~= "" then
      local v, why = json.decode(line, { max_items = left })
      if v == nil then
        return nil, self:file(name) .. ": not a valid state file (line " .. n .. ": " .. why .. ")"
      end
      out[#out + 1] = v
      lines[#out] = n
      local function count(x)
        left = left - 1
        if type(x) == "table" then for _, y in pairs(x) do count(y) end end
      end
      count(v)
    end
  end
  return out, lines
end

return M
