-- Installed recipes: the profile directory install writes (the user's, or
-- /etc/lunshare/profiles with --system as root), and its manifest. The directory is opened
-- as a verified state directory (every component owned by this user and writable by no
-- one else, never through a symlink; core.statedir) and every file in it by name
-- relative to that handle. The manifest, .lunshare-manifest, is data in sha256sum's
-- format: a line "HEX  NAME.lua" for each file install wrote, the SHA-256 of what it
-- wrote; verify compares, remove forgets.
--
-- What a recipe grants, and which of that an update widens, is lunshare.grants' summary:
-- WIDENS are the categories where a new item is more for the sandbox (a path, the network,
-- a capability, a system call, a device, an id, a variable of the caller's); a changed
-- command, working directory, limit or clock is shown but asks nothing.
local core = require "lunshare.core"
local grants = require "lunshare.grants"
local profile = require "lunshare.profile"
local util = require "lunshare.util"

local M = {}

M.MANIFEST = ".lunshare-manifest"
M.MAX_MANIFEST = 1 << 20
M.NAME = "^[%w_%-][%w_%-%.]*%.lua$"
-- A file of the manifest: a recipe, or a seccomp rules file one names (any plain name).
M.FILE = "^[%w_%-][%w_%-%.]*$"

M.WIDENS = { "namespaces", "ids", "environment", "visible", "writable", "devices", "root", "network",
  "capabilities", "seccomp", "privileges", "terminal", "fds" }

-- Where recipes are installed: { root, path, display, system }, or nil and why.
function M.where(system)
  if system then
    if core.ids().euid ~= 0 then return nil, "--system installs into /etc/lunshare/profiles: run it as root" end
    return { root = "/etc", path = "lunshare/profiles", display = "/etc/lunshare/profiles", system = true }
  end
  local xdg, home = os.getenv("XDG_CONFIG_HOME"), os.getenv("HOME")
  if xdg and xdg:sub(1, 1) == "/" then
    -- Beneath its parent: the config directory is verified (and made) like the rest.
    xdg = profile.normalize(xdg)
    local parent, last = xdg:match("^(.*)/([^/]+)$")
    if last then
      return { root = parent == "" and "/" or parent, path = last .. "/lunshare/profiles",
        display = xdg .. "/lunshare/profiles" }
    end
  end
  if home and home:sub(1, 1) == "/" then
    return { root = home, path = ".config/lunshare/profiles", display = home .. "/.config/lunshare/profiles" }
  end
  return nil, "neither XDG_CONFIG_HOME nor HOME is an absolute path: there is no profile directory of yours"
end

-- The directory's handle (made when create), or nil and why; nil, nil when it is missing.
function M.open(w, create)
  local fd, msg, errno = core.statedir(w.root, w.path, create, w.system and "readable" or nil)
  if not fd then
    if errno == core.errno.ENOENT and not create then return nil, nil end
    return nil, msg
  end
  return fd
end

-- The manifest: { [name] = hex }, or nil and why.
function M.read_manifest(fd)
  local text, msg, errno = core.state_read(fd, M.MANIFEST, M.MAX_MANIFEST)
  if not text then
    if errno == core.errno.ENOENT then return {} end
    return nil, msg
  end
  return M.parse_manifest(text)
end

function M.parse_manifest(text)
  local out, n = {}, 0
  for line in text:gmatch("([^\n]*)\n?") do
    n = n + 1
    if line ~= "" then
      local hex, name = line:match("^(%x+)  (.+)$")
      if not hex or #hex ~= 64 or not name:match(M.FILE) or name:match("^%.") then
        return nil, M.MANIFEST .. ":" .. n .. ": expected 'SHA256  NAME'"
      end
      out[name] = hex:lower()
    end
  end
  return out
end

function M.write_manifest(fd, w, manifest)
  local lines = {}
  for _, name in ipairs(util.sorted_keys(manifest)) do lines[#lines + 1] = manifest[name] .. "  " .. name .. "\n" end
  return core.state_write(fd, M.MANIFEST, table.concat(lines), "replace", w.system and "readable" or "private")
end

-- The manifest of the installed directory that holds file (the caller's, or the
-- system's), as { w, manifest }, when that directory's manifest names file; nil for a
-- profile install did not write (one of the user's own is theirs to edit). The system's
-- is root's: a user reads it as any root-owned file.
local function dirname(path) return path:match("^(.*)/[^/]*$") or "." end
local function basename(path) return path:match("([^/]*)$") end

function M.installed_of(file)
  if type(file) ~= "string" or file:sub(1, 1) ~= "/" then return nil end
  local dir, name = profile.normalize(dirname(file)), basename(file)
  for _, system in ipairs({ false, true }) do
    local w = system and { root = "/etc", path = "lunshare/profiles", display = "/etc/lunshare/profiles", system = true }
      or M.where(false)
    if w and profile.normalize(w.display) == dir then
      local manifest, why
      if system then
        local text, err, errno = util.read_file(w.display .. "/" .. M.MANIFEST)
        if not text then
          if errno == core.errno.ENOENT then return nil end
          return { w = w, error = tostring(err) }
        end
        manifest, why = M.parse_manifest(text)
      else
        local fd, err = M.open(w, false)
        if not fd then
          if err == nil then return nil end
          return { w = w, error = err }
        end
        manifest, why = M.read_manifest(fd)
        fd:close()
      end
      if not manifest then return { w = w, error = w.display .. "/" .. why } end
      if manifest[name] == nil then return nil end
      return { w = w, manifest = manifest }
    end
  end
  return nil
end

-- Whether every file an installed recipe's loaded chain read (p._chain, p._sources, and
-- the seccomp rules file it names) is the one install recorded: nil when so, or what
-- differs (one line). rules_path: the rules file's path and its bytes as read, if any.
function M.changed(p, inst, rules_path, rules_bytes)
  local dir = profile.normalize(inst.w.display)
  local function check(f, bytes)
    if profile.is_shipped(f, bytes) then return nil end
    local name = basename(f)
    if profile.normalize(dirname(f)) ~= dir then
      return util.escape(f) .. " is not in " .. util.escape(inst.w.display) .. ", where install put the recipe's files"
    end
    if inst.manifest[name] == nil then return util.escape(f) .. " is not one install wrote" end
    if bytes == nil or core.sha256(bytes) ~= inst.manifest[name] then
      return util.escape(f) .. " is not what install wrote (its SHA-256 differs from the manifest's)"
    end
    return nil
  end
  for _, f in ipairs(p._chain or {}) do
    local why = check(f, p._sources[f])
    if why then return why end
  end
  if rules_path then return check(profile.normalize(rules_path), rules_bytes) end
  return nil
end

-- Which items of new are not in old, in the widening categories: { { category, item } }.
-- old and new are grants.lines() tables ({ [heading] = { item, … } }).
function M.widened(old, new)
  local heading = {}
  for _, c in ipairs(grants.CATEGORIES) do heading[c[1]] = c[2] end
  local out = {}
  for _, cat in ipairs(M.WIDENS) do
    local h = heading[cat]
    local had = {}
    for _, x in ipairs(old[h] or {}) do had[x] = true end
    for _, x in ipairs(new[h] or {}) do
      if not had[x] then out[#out + 1] = { category = h, item = x } end
    end
  end
  return out
end

return M
