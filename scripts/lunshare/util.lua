-- Small pure helpers the policy modules share; all but read_file work without
-- lunshare.core.
local has_core, core = pcall(require, "lunshare.core")

local M = {}

-- The origin of the command line's one-off additions (lunshare.cmdline_layer), where an
-- entry's file:line would be.
M.CMDLINE_ORIGIN = "command line"

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

-- Suggestions are for misspellings of short names: a longer name, or a list of
-- candidates longer than this, gets none (both can come from a profile).
M.SUGGEST_LENGTH, M.SUGGEST_CANDIDATES = 64, 1000

-- The candidate nearest to name, if it is near enough to be a likely misspelling.
function M.nearest(name, candidates)
  if #name > M.SUGGEST_LENGTH or #candidates > M.SUGGEST_CANDIDATES then return nil end
  local most = math.max(2, #name // 3)
  local best, bestd
  local lname = name:lower()
  for _, c in ipairs(candidates) do
    -- Names whose lengths differ by more than `most` are farther than that apart.
    if type(c) == "string" and math.abs(#c - #name) <= most then
      local d = M.distance(lname, c:lower())
      if not bestd or d < bestd then best, bestd = c, d end
    end
  end
  if best and bestd <= most then return best end
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
-- file a later field names) is read through here: the name is opened with O_PATH and only
-- a regular file outside the kernel's filesystems (proc, sysfs, debugfs, …) is then opened
-- for reading (opening a device is an action; reading /proc/kmsg takes the kernel's
-- messages), that open never blocks (a FIFO is refused before it), and past max bytes
-- (1 MiB) it is refused with "PATH: larger than 1 MiB". A message names the file, never
-- its content.
-- M.pinned, when a table (install sets it): each file is read once, and every later
-- read of the same path (and bound) answers from those bytes, so what is checked, shown,
-- hashed and written is one version of the file, whatever replaces it meanwhile.
M.pinned = nil

local function pin_key(path, max)
  return (path:gsub("/%./", "/"):gsub("^%./", ""):gsub("//+", "/")) .. "\0" .. tostring(max)
end

function M.read_file(path, max)
  if not has_core then error("util.read_file needs lunshare.core: " .. tostring(core), 2) end
  local pins = M.pinned
  if pins and type(path) == "string" then
    local key = pin_key(path, max or M.FILE_MAX)
    local hit = pins[key]
    if hit then return table.unpack(hit, 1, hit.n) end
    local r = table.pack(core.read_file(path, max or M.FILE_MAX))
    if r[1] then pins[key] = r end
    return table.unpack(r, 1, r.n)
  end
  return core.read_file(path, max or M.FILE_MAX)
end

-- A kernel file lunshare itself names (/proc/PID/stat, /proc/sys/…, /sys/fs/cgroup/…),
-- read as read_file reads, on proc and sysfs too. Never for a name a profile or a
-- topology gives.
function M.read_kernel(path, max)
  if not has_core then error("util.read_kernel needs lunshare.core: " .. tostring(core), 2) end
  return core.read_file(path, max or M.FILE_MAX, "kernel")
end

-- The path of the entry under key k of the table at path: "mounts[3]", "env.set",
-- 'seccomp.deny["x y"]', for messages; the one spelling of a field path (the evaluator's
-- check_data paths too, hence the library's own functions, taken when this loads).
local smatch, sformat, tostr = string.match, string.format, tostring
function M.sub_path(path, k)
  if type(k) == "string" and smatch(k, "^[%a_][%w_]*$") then
    return path == "" and k or (path .. "." .. k)
  end
  if type(k) ~= "string" then return path .. "[" .. tostr(k) .. "]" end
  return path .. "[" .. sformat("%q", k) .. "]"
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

-- ---- printing what a profile controls ----------------------------------------------

-- Characters that move the cursor, erase, or reorder what a terminal shows: C0 controls
-- and DEL (as bytes), C1 controls U+0080-U+009F (a terminal may take one for ESC [), and
-- the bidirectional marks and overrides (U+061C, U+200E-F, U+202A-E, U+2066-9) that make
-- text read in another order than it is; line and paragraph separators too.
local function hidden(cp)
  return cp < 0x20 or (cp >= 0x7f and cp < 0xa0) or cp == 0x61c or cp == 0x200e or cp == 0x200f or
    (cp >= 0x2028 and cp <= 0x202e) or (cp >= 0x2066 and cp <= 0x2069)
end

local UTF8_MIN = { [2] = 0x80, [3] = 0x800, [4] = 0x10000 }

-- The code point of the UTF-8 sequence starting at s[i] and its length, or nil when
-- the byte there does not start one (overlong forms and surrogates are not UTF-8).
local function decode(s, i)
  local c = s:byte(i)
  local n = (c >= 0xc2 and c <= 0xdf and 2) or (c >= 0xe0 and c <= 0xef and 3) or
    (c >= 0xf0 and c <= 0xf4 and 4) or nil
  if not n then return nil end
  local cp = c & (0x7f >> n)
  for k = 1, n - 1 do
    local d = s:byte(i + k)
    if not d or d < 0x80 or d > 0xbf then return nil end
    cp = (cp << 6) | (d & 0x3f)
  end
  if cp < UTF8_MIN[n] or cp > 0x10ffff or (cp >= 0xd800 and cp <= 0xdfff) then return nil end
  return cp, n
end

-- s with every control character (as hidden() says) and every byte that is not part of
-- UTF-8 text written by the functions given: char(cp) for a character, byte(b) for a
-- stray byte. The rest of s passes unchanged; a string with nothing to escape costs one
-- search.
function M.escape_with(s, char, byte)
  if not s:find("[%c\128-\255]") then return s end
  return (s:gsub("[%c\128-\255][\128-\191]*", function(run)
    local out, i = {}, 1
    while i <= #run do
      local c = run:byte(i)
      if c < 0x80 then
        out[#out + 1], i = char(c), i + 1
      else
        local cp, n = decode(run, i)
        if not cp then
          out[#out + 1], i = byte(c), i + 1
        else
          out[#out + 1], i = hidden(cp) and char(cp, run:sub(i, i + n - 1)) or run:sub(i, i + n - 1), i + n
        end
      end
    end
    return table.concat(out)
  end))
end

local NAMED = { [9] = "\\t", [10] = "\\n", [13] = "\\r" }

-- s cut to max bytes, and what says how much was left out ("" when nothing was).
local function cut(s, max)
  s = tostring(s)
  if max and #s > max then return s:sub(1, max), "...[" .. (#s - max) .. " more bytes]" end
  return s, ""
end

local function control_escapes(s)
  return M.escape_with(s, function(cp)
    if cp < 0x80 then return NAMED[cp] or string.format("\\x%02x", cp) end
    return string.format("\\u{%x}", cp)
  end, function(b) return string.format("\\x%02x", b) end)
end

-- A string a profile controls (a path, a description, a field name, a value), made safe
-- to print: \n, \t, \r, \xNN for other control bytes and DEL, \u{NNNN} for C1 and
-- bidirectional controls, \xNN for bytes that are not UTF-8. A backslash stays as it is,
-- so escaping twice changes nothing more. With max, a longer string is cut there and
-- says how much was left out.
function M.escape(s, max)
  local shown, more = cut(s, max)
  return control_escapes(shown) .. more
end

-- Untrusted text in a message, made safe and unambiguous to print: escape()'s escapes, and
-- a backslash of the text as \\, so that a profile cannot write text that reads as one of
-- those escapes (a name holding backslash and n is printed \\n, a real newline \n). Not
-- idempotent, so applied exactly once, where a message is laid out for the terminal
-- (schema.format_error, check's lines, explain, diff): a message is built of the raw text.
function M.text(s, max)
  local shown, more = cut(s, max)
  return control_escapes((shown:gsub("\\", "\\\\"))) .. more
end

-- Each line of a text the tool laid out in lines, escaped (the newlines stay).
function M.escape_lines(s)
  return (tostring(s):gsub("[^\n]+", M.escape))
end

-- A value of a profile in a message: a string in double quotes (raw: the message is
-- escaped once, by text(), where it is printed), a number or boolean as it is, and
-- anything else by its type ("a table"): tostring of a table or function prints a heap
-- address, which says nothing to a person and something to an attacker.
function M.value_text(v)
  local t = type(v)
  if t == "string" then return '"' .. v .. '"' end
  if t == "number" or t == "boolean" or t == "nil" then return tostring(v) end
  return "a " .. t
end

-- One word quoted for any POSIX sh, always: '…', with ' as '\''. For a command a shell
-- runs (the REPL's sandbox hands its words to the sandbox's /bin/sh, and dash has no
-- $'…'); shell_quote is for people reading a command line.
function M.posix_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

-- Quotes a word for a shell command line, only when it needs it. A word with
-- characters escape() would escape is quoted as $'…', whose escapes the shell reads
-- back to the same bytes.
function M.shell_quote(s)
  s = tostring(s)
  if s ~= "" and not s:find("[^%w%-%./_=:,+@%%]") then return s end
  if M.escape(s) ~= s then
    local function hex(str) return (str:gsub(".", function(b) return string.format("\\x%02x", b:byte()) end)) end
    local body = s:gsub("[\\']", "\\%0")
    body = M.escape_with(body, function(cp, raw)
      if cp < 0x80 then return NAMED[cp] or string.format("\\x%02x", cp) end
      return hex(raw)
    end, function(b) return string.format("\\x%02x", b) end)
    return "$'" .. body .. "'"
  end
  return M.posix_quote(s)
end

function M.shell_join(list)
  local out = {}
  for i, w in ipairs(list) do out[i] = M.shell_quote(w) end
  return table.concat(out, " ")
end

-- "//a/./b/" is "/a/b": the executor and `explain` see one spelling of each path (the
-- one mountinfo shows; ".." is refused by check()).
function M.clean_path(path)
  if not path then return nil end
  local parts = {}
  for part in path:gmatch("[^/]+") do
    if part ~= "." then parts[#parts + 1] = part end
  end
  return "/" .. table.concat(parts, "/")
end

-- A CIDR "10.0.0.1/24" or "fd00::1/64"; false and a reason otherwise.
function M.valid_cidr(s, need_prefix)
  if type(s) ~= "string" then return false end
  local host, len = s:match("^([^/]+)/(%d+)$")
  if not host then
    if need_prefix then return false end
    host = s
  end
  if host:find(":") then
    return host:match("^[%x:%.]+$") ~= nil and (not len or tonumber(len) <= 128)
  end
  local a, b, c, d = host:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  if not a then return false end
  for _, x in ipairs({ a, b, c, d }) do if tonumber(x) > 255 then return false end end
  return not len or tonumber(len) <= 32
end

return M
