-- What run would refuse about where a profile's mounts go, decided from the profile alone
-- so that check refuses it first (lunshare.mounts calls it):
--   * one target, one entry: a path is mounted or made once. run applies entries parents
--     first and a second one on the same path fails (a file step never rewrites what is
--     there: "File exists") or hides the first. To replace an inherited entry, write
--     `without "PATH"` in the child; remount_ro is the one kind that names a target again.
--   * no target under a symlink the profile makes: targets are created without following
--     symlinks, so run fails there.
--   * nothing made under a read-only mount: a file or symlink whose nearest mount above it
--     is a read-only bind, an overlay without an upper dir or a fresh proc fails whatever
--     the host holds there (a file step makes a new file: EEXIST or EROFS). A dir there
--     only works where that directory already is (where it does nothing): a
--     warning, as it is for anything under a bind_try, whose source may be missing. A
--     writable mount nearer (a tmpfs, a writable bind) makes it fine.
--   * a cwd the new root has: a target, a directory above one, or a path under a bind or
--     overlay (whose contents are the host's, which check never reads); never a file the
--     profile makes.
local util = require "lunshare.util"

local M = {}

local clean = util.clean_path

local function under(path, dir)
  return dir == "/" and path ~= "/" or path:sub(1, #dir + 1) == dir .. "/"
end

local HOST_CONTENT = { bind = true, ro_bind = true, dev_bind = true, overlay = true }
-- The kinds that mount something on their target (remount_ro only changes a mount's flags,
-- after everything is made), and the steps that make a node in the mount that holds it.
local MOUNTS = { bind = true, ro_bind = true, dev_bind = true, tmpfs = true, proc = true, dev = true,
  mqueue = true, overlay = true }
local MAKES = { dir = true, file = true, symlink = true }

-- How a mount of kind m (an entry) takes no new node, in words, or nil when it takes them.
local function read_only(m)
  if m.kind == "ro_bind" then return "binds read-only"
  elseif m.kind == "overlay" and m.upper == nil then return "mounts as an overlay without an upper dir (read-only)"
  elseif m.kind == "proc" then return "mounts a fresh proc (which takes no new files)" end
  return nil
end

function M.check(c, p)
  local function at(i)
    local f, l = c:where("mounts[" .. i .. "]")
    return f .. (l and (":" .. l) or "")
  end
  local seen, symlinks, list = {}, {}, {}
  for i, m in ipairs(p.mounts) do
    local t = type(m) == "table" and (m.dst or m.src)
    if type(t) == "string" and t:sub(1, 1) == "/" then
      local path = clean(t)
      list[#list + 1] = { path = path, i = i, kind = m.kind, m = m }
      if m.kind ~= "remount_ro" then
        local first = seen[path]
        if first then
          c:fail("mounts[" .. i .. "]", "'" .. path .. "' is already the target of the entry at " ..
            at(first) .. ": a target is mounted or made once (to replace an inherited entry, write without \"" ..
            path .. "\" first)")
        else
          seen[path] = i
        end
      end
      if m.kind == "symlink" then symlinks[#symlinks + 1] = { path = path, i = i } end
    end
  end
  for _, e in ipairs(list) do
    for _, s in ipairs(symlinks) do
      if under(e.path, s.path) then
        c:fail("mounts[" .. e.i .. "]", "'" .. e.path .. "' is under '" .. s.path .. "', a symlink the entry at " ..
          at(s.i) .. " makes: run never follows a symlink to a target; name the path it points to")
      end
    end
  end
  for _, e in ipairs(list) do
    if MAKES[e.kind] then
      -- The nearest mount above the target: the one its parent directory is in.
      local holder
      for _, m in ipairs(list) do
        if MOUNTS[m.kind] and under(e.path, m.path) and (not holder or #m.path > #holder.path) then holder = m end
      end
      local how = holder and read_only(holder.m)
      if how then
        local head = "'" .. e.path .. "' is under '" .. holder.path .. "', which the entry at " .. at(holder.i) ..
          " " .. how
        local fix = "; make it elsewhere, or mount a tmpfs (or a writable bind) over the directory that is to hold it"
        if e.kind == "dir" or holder.m.optional == true then
          c:warn("mounts[" .. e.i .. "]", head .. ": run can make nothing there, so this " .. e.kind ..
            (e.kind == "dir" and (" works only where '" .. e.path .. "' already is a directory (and then does nothing)") or
              " fails wherever the host has " .. clean(type(holder.m.src) == "string" and holder.m.src or holder.path)) .. fix)
        else
          c:fail("mounts[" .. e.i .. "]", head .. ": a " .. e.kind .. " cannot be made there, whatever the host " ..
            "holds (" .. (e.kind == "file" and "a file step makes a new file" or "a symlink is a new node") ..
            ")" .. fix)
        end
      end
    end
  end
  local cwd = p.cwd
  if type(cwd) ~= "string" or cwd:sub(1, 1) ~= "/" then return end
  cwd = clean(cwd)
  if cwd == "/" then return end
  for _, e in ipairs(list) do
    if e.path == cwd and e.kind == "file" then
      c:fail("cwd", "'" .. cwd .. "' is a file, which the entry at " .. at(e.i) .. " makes: expected a directory " ..
        "(the command starts in it)")
      return
    end
  end
  for _, e in ipairs(list) do
    if e.path == cwd or under(e.path, cwd) or (HOST_CONTENT[e.kind] and under(cwd, e.path)) then return end
  end
  c:fail("cwd", "'" .. cwd .. "' is not in the new root: no mount or dir makes it (add dir \"" .. cwd ..
    "\", or bind a directory there)")
end

return M
