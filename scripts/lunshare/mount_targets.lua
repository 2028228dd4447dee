-- What run would refuse about where a profile's mounts go, decided from the profile alone
-- so that check refuses it first (lunshare.mounts calls it):
--   * one target, one entry: a path is mounted or made once. run applies entries parents
--     first and a second one on the same path fails (a file step never rewrites what is
--     there: "File exists") or hides the first. To replace an inherited entry, write
--     `without "PATH"` in the child; remount_ro is the one kind that names a target again.
--   * no target under a symlink the profile makes: targets are created without following
--     symlinks, so run fails there.
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
      list[#list + 1] = { path = path, i = i, kind = m.kind }
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
