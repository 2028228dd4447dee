-- Writable binds for a root caller. Root's sandbox runs as an unprivileged range (root
-- inside is, say, host uid 2000000000), so a plain bind of a directory that a host user
-- owns would be read-only in effect: root inside owns nothing there. Such a bind (and an
-- overlay's upper directory) becomes an idmapped mount instead: the supervisor, still root,
-- clones the host's tree with a mapping in which the directory's owner is seen as the
-- sandbox's user, so that what the sandbox finds there is its own and what it makes belongs
-- on the host to that owner. The sandbox's other ids (with a range: user.map = "subid" or
-- a list) are mapped too, each host id of the sandbox's own range to itself: a file the
-- sandbox chowns to uid 1000 inside (tar x does) is owned on the host by the sandbox's
-- host id for 1000 (2000001000 with the fallback range), an unprivileged id of root's
-- sandboxes that belongs to no host user, never by host uid 1000. Other owners' files stay
-- out of reach (seen as nobody), and nothing else of the host becomes writable. Rootless
-- callers write as themselves and need none of it.
local M = {}

-- The host ids of one map text's ranges ("inside outside count" lines) as { first, count }
-- when they form one contiguous range on the host (root's maps do), else nil.
local function host_range(text)
  local first, last
  for _, b, n in text:gmatch("(%d+) (%d+) (%d+)") do
    b, n = tonumber(b), tonumber(n)
    if last and b ~= last then return nil end
    first, last = first or b, b + n
  end
  if first then return { first, last - first } end
end

-- The host uid and gid the sandbox's user runs as when the caller is root and the sandbox
-- has ids of its own (a user namespace whose maps the planner made: uid_map and gid_map
-- text, how = "root"), else nil; then the sandbox's host uid and gid ranges ({ first,
-- count }, or nil for a map that is not one contiguous range). A map that keeps host root
-- inside needs nothing.
function M.sandbox_ids(profile, uid_map, gid_map, how)
  if how ~= "root" or not uid_map then return nil end
  local u = type(profile.user) == "table" and profile.user or {}
  local function outside(text, inside)
    for a, b, n in text:gmatch("(%d+) (%d+) (%d+)") do
      a, b, n = tonumber(a), tonumber(b), tonumber(n)
      if inside >= a and inside < a + n then return b + inside - a end
    end
  end
  local uid, gid = outside(uid_map, u.uid or 0), outside(gid_map, u.gid or 0)
  if not uid or not gid or uid == 0 then return nil end
  local ur, gr = host_range(uid_map), host_range(gid_map)
  -- Host root is never mapped as itself: a range that holds host id 0 adds nothing.
  if ur and ur[1] == 0 then ur = nil end
  if gr and gr[1] == 0 then gr = nil end
  return uid, gid, ur, gr
end

-- The deepest directory holding both a and b ("/x/up", "/x/work" -> "/x").
function M.common_dir(a, b)
  local pa, pb = {}, {}
  for p in a:gmatch("[^/]+") do pa[#pa + 1] = p end
  for p in b:gmatch("[^/]+") do pb[#pb + 1] = p end
  local out = {}
  for i = 1, math.min(#pa, #pb) do
    if pa[i] ~= pb[i] then break end
    out[i] = pa[i]
  end
  return "/" .. table.concat(out, "/")
end

-- Turns the mount steps of a root caller's writable binds and overlay uppers into
-- idmapped ones: for each, an idmap_tree step for the supervisor (added to the prepare
-- phase) whose number the mount step names. steps: the mount phase's steps, in order;
-- uid_map, gid_map, how: the user namespace's maps as the planner made them.
function M.plan(profile, steps, add, uid_map, gid_map, how)
  local uid, gid, ur, gr = M.sandbox_ids(profile, uid_map, gid_map, how)
  if not uid then return end
  -- The sandbox's other ids, each as itself (see the top); one id maps only the owner.
  local range = {
    uid_first = ur and ur[2] > 1 and ur[1] or nil, uid_count = ur and ur[2] > 1 and ur[2] or nil,
    gid_first = gr and gr[2] > 1 and gr[1] or nil, gid_count = gr and gr[2] > 1 and gr[2] or nil }
  local n = 0
  for _, s in ipairs(steps) do
    -- dev_bind is for device nodes, whose mode grants access; idmapping /dev (devtmpfs)
    -- is refused anyway.
    if s.op == "bind" and not s.readonly and not s.dev then
      n = n + 1
      add("prepare", { op = "idmap_tree", src = s.src, uid = uid, gid = gid,
        uid_first = range.uid_first, uid_count = range.uid_count,
        gid_first = range.gid_first, gid_count = range.gid_count,
        optional = s.optional or nil, origin = s.origin })
      s.idmapped = n
    elseif s.op == "overlay" and s.upper then
      n = n + 1
      local base = M.common_dir(s.upper, s.work)
      add("prepare", { op = "idmap_tree", src = base, owner = s.upper, uid = uid, gid = gid,
        uid_first = range.uid_first, uid_count = range.uid_count,
        gid_first = range.gid_first, gid_count = range.gid_count, origin = s.origin })
      s.idmapped, s.base = n, base
    end
  end
end

return M
