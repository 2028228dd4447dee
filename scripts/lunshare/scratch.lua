-- Scratch trees for `lunshare test`: a private directory of its own under $TMPDIR (or
-- /tmp), made new under a random name (never one that was there: O_EXCL, then verified as
-- ours), holding the files and directories the checks ask for, and removed whole at the end
-- without following anything a sandbox left in it. Nothing here touches a path the caller named:
-- every file is written relative to a directory fd this module made.
local checks = require "lunshare.checks"
local core = require "lunshare.core"
local util = require "lunshare.util"

local M = {}

local Scratch = {}
Scratch.__index = Scratch

-- A name no one can guess (another user who made it first would deny the run): 16 random
-- hex digits, as mkdtemp does.
local function random_name()
  local f = io.open("/dev/urandom", "rb")
  local bytes = f and f:read(8)
  if f then f:close() end
  if not bytes or #bytes ~= 8 then return nil end
  return "lunshare-test-" .. bytes:gsub(".", function(c) return string.format("%02x", c:byte()) end)
end

-- A new scratch root. Returns the handle, or nil and a message.
function M.new()
  local tmp = os.getenv("TMPDIR")
  if not tmp or tmp:sub(1, 1) ~= "/" then tmp = "/tmp" end
  -- 0700 for a caller whose sandbox runs as itself; 0755 for root, whose sandbox runs as
  -- an unprivileged host uid that must reach what the checks bind in (only root writes).
  local ids = core.ids()
  local how = (ids.euid or ids.uid) == 0 and "new readable" or "new"
  local last = "no random bytes (/dev/urandom)"
  for _ = 1, 50 do
    local name = random_name()
    if not name then break end
    local fd, msg = core.statedir(tmp, name, true, how)
    if fd then
      return setmetatable({ fd = fd, parent = tmp, name = name, path = tmp .. "/" .. name, n = 0 }, Scratch)
    end
    last = msg
  end
  return nil, "cannot make a scratch directory in " .. tmp .. ": " .. tostring(last)
end

-- A directory rel (slash-separated, beneath the root), made when missing; its handle.
function Scratch:dir(rel)
  local fd, msg = core.statedir(self.path, rel, true, "readable")
  if not fd then error(msg, 0) end
  return fd
end

local function write(dirfd, name, text, mode)
  local how = (mode and tonumber(mode, 8) and (tonumber(mode, 8) & core.S_IXUGO) ~= 0) and "executable" or "readable"
  local ok, msg = core.state_write(dirfd, name, text, "create", how)
  if not ok then error(name .. ": " .. tostring(msg), 0) end
end

-- Makes the scratch value spec (checks.scratch_kind) at rel; returns its absolute path.
function Scratch:make(rel, spec)
  local kind = checks.scratch_kind(spec)
  local parent, base = rel:match("^(.*)/([^/]+)$")
  if not parent then parent, base = nil, rel end
  if kind == "dir" then
    local function fill(dirrel, t)
      local fd <close> = self:dir(dirrel)
      for _, k in ipairs(util.sorted_keys(t)) do
        local e = t[k]
        local ek = checks.scratch_kind(e)
        if type(e) == "string" then write(fd, k, e)
        elseif ek == "file" then write(fd, k, e.file, e.mode)
        elseif ek == "base64" then write(fd, k, assert(checks.base64_decode(e.base64)), e.mode)
        else fill(dirrel .. "/" .. k, e) end
      end
    end
    fill(rel, spec.dir)
  else
    local fd <close> = parent and self:dir(parent) or nil
    local text = kind == "base64" and assert(checks.base64_decode(spec.base64)) or spec.file
    write(fd or self.fd, base, text, spec.mode)
  end
  return self.path .. "/" .. rel
end

-- A file of its own at rel holding text; its absolute path.
function Scratch:file(rel, text)
  return self:make(rel, { file = text })
end

-- Gives rel and everything in it to uid:gid (the sandbox's ids, for a root caller).
function Scratch:chown(rel, uid, gid)
  local ok, msg = core.tree_chown(self.fd, rel, uid, gid)
  if not ok then error(msg, 0) end
end

-- Removes the entry name of the root and all in it.
function Scratch:remove(name)
  local ok, msg = core.tree_remove(self.fd, name)
  if not ok then return nil, msg end
  return true
end

-- Whether host path p is the root or beneath it.
function Scratch:holds(p)
  return p == self.path or p:sub(1, #self.path + 1) == self.path .. "/"
end

-- Removes everything and the root itself.
function Scratch:close()
  if not self.fd then return true end
  local err
  for _, name in ipairs(core.state_list(self.fd) or {}) do
    local ok, msg = self:remove(name)
    if not ok then err = err or msg end
  end
  self.fd:close()
  self.fd = nil
  local _, msg = core.statedir_prune(self.parent, self.name)
  if msg then err = err or msg end
  if err then return nil, "scratch directory " .. self.path .. ": " .. err end
  return true
end

return M
