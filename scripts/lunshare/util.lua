-- Small pure helpers the policy modules share.
local M = {}

-- Levenshtein distance, for "did you mean" suggestions.
function M.distance(a, b)
  local la, lb = #a, #b
  if la == 0 then return lb end
  if lb == 0 then return la end
  local prev, cur = {}, {}
  for j = 0, lb do prev[j] = j end
  for i = 1, la do
    cur[0] = i
    local ca = a:byte(i)
    for j = 1, lb do
      local cost = (ca == b:byte(j)) and 0 or 1
      cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
    end
    prev, cur = cur, prev
  end
  return prev[lb]
end

-- The candidate nearest to name, if it is near enough to be a likely misspelling.
function M.nearest(name, candidates)
  local best, bestd
  for _, c in ipairs(candidates) do
    local d = M.distance(name:lower(), c:lower())
    if not bestd or d < bestd then best, bestd = c, d end
  end
  if best and bestd <= math.max(2, #name // 3) then return best end
  return nil
end

-- " (did you mean 'x'?)" or "".
function M.suggest(name, candidates)
  local n = type(name) == "string" and M.nearest(name, candidates)
  return n and (" (did you mean '" .. n .. "'?)") or ""
end

-- At most this much of any file lunshare reads whole: a profile, a file a profile names,
-- a topology.
M.FILE_MAX = 1 << 20

-- The whole content of a file, or nil, "PATH: why" and the errno. Every file that someone
-- else may have chosen (a profile, what it extends, its seccomp rules, a topology, and any
-- file a later field names) is read through here: only a regular file is read, its open
-- never blocks (a FIFO fails at once), and past max bytes (1 MiB) it is refused with
-- "PATH: larger than 1 MiB". A message names the file, never its content.
function M.read_file(path, max)
  return require("lunshare.core").read_file(path, max or M.FILE_MAX)
end

function M.sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  return keys
end

function M.contains(list, v)
  for _, x in ipairs(list or {}) do
    if x == v then return true end
  end
  return false
end

-- Quotes a word for a shell command line, only when it needs it.
function M.shell_quote(s)
  s = tostring(s)
  if s ~= "" and not s:find("[^%w%-%./_=:,+@%%]") then return s end
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

function M.shell_join(list)
  local out = {}
  for i, w in ipairs(list) do out[i] = M.shell_quote(w) end
  return table.concat(out, " ")
end

return M
