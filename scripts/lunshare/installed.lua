-- Installed recipes: the profile directory install writes (the user's, or
-- /etc/lunshare/profiles with --system as root), and its manifest. The directory is opened
-- as a verified state directory (every component owned by this user and writable by no
-- one else, never through a symlink; core.statedir) and every file in it by name
-- relative to that handle. The manifest, .lunshare-manifest, is data: a line
-- "HEX  NAME.lua" for each file install wrote (sha256sum's format), the SHA-256 of what it
-- wrote, which verify compares and remove forgets; then each recipe's consent record, the
-- grants install showed (M.parse_manifest), which every run compares with (M.beyond). One manifest for the directory: recipes share a
-- file by its name (a base.lua, a rules file), so install replaces none that another
-- installed recipe reads (M.readers) unless that one is installed again with it.
--
-- What a recipe grants, and which of that an update widens, is lunshare.grants' summary:
-- WIDENS are the categories where a new item is more for the sandbox (a path, the network,
-- a capability, a system call, a device, an id, a variable of the caller's); CONFINES
-- those where a lost item is (a path made inside, a denied call, a limit); a changed
-- command, working directory, a lowered limit or the clock is shown but asks nothing.
local core = require "lunshare.core"
local grants = require "lunshare.grants"
local profile = require "lunshare.profile"
local schema = require "lunshare.schema"
local util = require "lunshare.util"

local M = {}

M.MANIFEST = ".lunshare-manifest"
M.MAX_MANIFEST = 1 << 20
M.NAME = "^[%w_%-][%w_%-%.]*%.lua$"
-- A file of the manifest: a recipe, or a seccomp rules file one names (any plain name).
M.FILE = "^[%w_%-][%w_%-%.]*$"

M.WIDENS = { "namespaces", "ids", "environment", "visible", "writable", "devices", "root", "network",
  "capabilities", "seccomp", "privileges", "terminal", "fds" }

-- CONFINES are the categories whose items hold the sandbox in (a path made inside hides
-- what a bind shows, a system call denied, a limit): losing one is more for the sandbox
-- too, so consent records the ones every shown evaluation keeps, and a run or an update
-- without one of them is refused like one with an extra grant. A limit is kept when the
-- run has one of its kind no higher (a parameter may lower it, not raise it).
M.CONFINES = { "made", "root", "network", "seccomp", "privileges", "terminal", "limits" }

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

-- The manifest: { [name] = hex } and the consent records, or nil and why. A consent
-- record is what install showed and the person consented to for a recipe (M.record):
-- a line "consent NAME.lua", then "grant NAME.lua KIND CATEGORY ITEM" for each item,
-- KIND "d" for the grants with every parameter at its default (what was printed) and
-- "p" for the same with every free string parameter a placeholder "/<name>" (what a
-- run that gives one a value is compared with), "c" for the confinements every shown
-- evaluation keeps (M.CONFINES; a run must keep each), ITEM percent-encoded. A record
-- written before "c" existed has a bare "consent NAME.lua" line and no confinements
-- (rec.c nil): run refuses it until it is installed again. Run compares every run of the
-- recipe against it (M.beyond); it is never recomputed.
M.MAX_ITEM = 4096

local CAT_ID, CAT_HEADING = {}, {}
for _, c in ipairs(grants.CATEGORIES) do CAT_ID[c[2]], CAT_HEADING[c[1]] = c[1], c[2] end

local function encode(s)
  return (s:gsub("[^%w%-%._~/:=+,@<>%[%]()]", function(ch) return string.format("%%%02X", ch:byte()) end))
end
local function decode(s)
  if s:gsub("%%%x%x", ""):find("%", 1, true) then return nil end
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end
M.encode, M.decode = encode, decode

function M.read_manifest(fd)
  local text, msg, errno = core.state_read(fd, M.MANIFEST, M.MAX_MANIFEST)
  if not text then
    if errno == core.errno.ENOENT then return {}, nil, {} end
    return nil, msg
  end
  return M.parse_manifest(text)
end

function M.parse_manifest(text)
  local out, records, n = {}, {}, 0
  local function bad(what) return nil, M.MANIFEST .. ":" .. n .. ": expected " .. what end
  for line in text:gmatch("([^\n]*)\n?") do
    n = n + 1
    if line:match("^consent ") then
      local name, confines = line:match("^consent (%S+)$"), line:match("^consent (%S+) confines$")
      name = name or confines
      if not name or not name:match(M.NAME) or records[name] then
        return bad("'consent NAME.lua confines', once")
      end
      records[name] = { d = {}, p = {}, c = confines and {} or nil }
    elseif line:match("^grant ") then
      local name, kind, cat, item = line:match("^grant (%S+) ([dpc]) (%S+) (%S+)$")
      local r = name and records[name]
      local h = cat and CAT_HEADING[cat]
      local it = item and #item <= 3 * M.MAX_ITEM and decode(item)
      if not r or not r[kind] or not h or not it then
        return bad("'grant NAME.lua d|p|c CATEGORY ITEM' after 'consent NAME.lua confines'")
      end
      r[kind][h] = r[kind][h] or {}
      table.insert(r[kind][h], it)
    elseif line ~= "" then
      local hex, name = line:match("^(%x+)  (.+)$")
      if not hex or #hex ~= 64 or not name:match(M.FILE) or name:match("^%.") then
        return bad("'SHA256  NAME'")
      end
      out[name] = hex:lower()
    end
  end
  for name in pairs(records) do
    if not out[name] then n = 0 return bad("a consent record only for a file the manifest names") end
  end
  return out, nil, records
end

function M.write_manifest(fd, w, manifest, records)
  local lines = {}
  for _, name in ipairs(util.sorted_keys(manifest)) do lines[#lines + 1] = manifest[name] .. "  " .. name .. "\n" end
  for _, name in ipairs(util.sorted_keys(records or {})) do
    if manifest[name] then
      local rec = records[name]
      lines[#lines + 1] = "consent " .. name .. (rec.c and " confines" or "") .. "\n"
      for _, kind in ipairs({ "d", "p", "c" }) do
        for _, c in ipairs(grants.CATEGORIES) do
          for _, item in ipairs(rec[kind] and rec[kind][c[2]] or {}) do
            lines[#lines + 1] = "grant " .. name .. " " .. kind .. " " .. c[1] .. " " .. encode(item) .. "\n"
          end
        end
      end
    end
  end
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
  -- Where the file really is: reached through a symlinked directory or by a symlink of
  -- another name, an installed recipe is still the installed one (checked, compared).
  local real = core.resolve(file) or file
  local dir, name = profile.normalize(dirname(real)), basename(real)
  for _, system in ipairs({ false, true }) do
    local w = system and { root = "/etc", path = "lunshare/profiles", display = "/etc/lunshare/profiles", system = true }
      or M.where(false)
    if w and (profile.normalize(w.display) == dir or core.resolve(w.display) == dir) then
      local manifest, why, records
      if system then
        local text, err, errno = util.read_file(w.display .. "/" .. M.MANIFEST)
        if not text then
          if errno == core.errno.ENOENT then return nil end
          return { w = w, error = tostring(err) }
        end
        manifest, why, records = M.parse_manifest(text)
      else
        local fd, err = M.open(w, false)
        if not fd then
          if err == nil then return nil end
          return { w = w, error = err }
        end
        manifest, why, records = M.read_manifest(fd)
        fd:close()
      end
      if not manifest then return { w = w, error = w.display .. "/" .. why } end
      if manifest[name] == nil then return nil end
      return { w = w, manifest = manifest, record = records[name] }
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

-- The seccomp rules file a loaded profile names, as its path and its bytes as read (nil
-- when unreadable), or nil.
function M.rules_file(p)
  local s = type(p.seccomp) == "table" and p.seccomp.file
  if type(s) ~= "string" then return nil end
  local naming = profile.split_origin(profile.origin(p, "seccomp.file")) or p._file
  local path = s:sub(1, 1) == "/" and s or (dirname(naming) .. "/" .. s)
  return path, (util.read_file(path))
end

-- Whether loaded profile p, if installed, grants no more than its consent record and
-- keeps every confinement it records: nil, or the refusal's words { missing = true } (no
-- record, or one from before confinements were recorded) or { category, item } (the first
-- grant beyond it; dropped = true: the first confinement it lacks). clean: how a path
-- parameter's value is cleaned (mounts.clean).
function M.over_consent(p, clean)
  local inst = M.installed_of(p._file)
  if not inst or inst.error then return nil end
  if not inst.record or not inst.record.c then return { missing = true } end
  local values = {}
  for _, k in ipairs(M.free_strings(p)) do values[k] = p._params and p._params[k] end
  -- A system recipe's record is root's, who installed it: the id lines follow the caller
  -- (root's sandbox maps 2000000000, a user's maps their own id or subordinate ids), so for
  -- another caller they are not compared; what a user can map is the kernel's and
  -- newuidmap's to bound, not the recipe's.
  local ids = core.ids()
  local skip = inst.w.system and (ids.euid or ids.uid) ~= 0 and { [CAT_HEADING.ids] = true } or nil
  return M.beyond(inst.record, p, values, clean, skip)
end

-- What check and explain say of an installed recipe M.refusal refuses.
M.CHANGED = "(installed recipe changed since install: run refuses it; run 'lunshare verify')"

-- Whether loaded profile p may run, be tested or shown as what install wrote: nil when it
-- is not an installed recipe (its directory's manifest does not name it) or when every
-- file its chain read, and the rules file it names, is what install recorded; else the
-- one line that says why not and what to do (the caller prefixes its command).
function M.refusal(p)
  local inst = M.installed_of(p._file)
  if not inst then return nil end
  local label = util.escape(p._file)
  if inst.error then
    return label .. ": the manifest of the installed recipes cannot be read (" .. util.escape(inst.error) ..
      "); run 'lunshare verify'"
  end
  local why = M.changed(p, inst, M.rules_file(p))
  if why then return label .. ": refused: " .. why .. "; run 'lunshare verify' and install the recipe again" end
  return nil
end

-- Which installed recipes read each file of the directory: { [file] = { recipe, … } },
-- each recipe of the manifest (a NAME.lua) loaded from the directory with placeholders,
-- its extends chain (itself included) and the seccomp rules file it names; and the
-- recipes that do not load (a file of theirs missing or changed), whose reads are unknown.
function M.readers(w, manifest)
  local out, broken, dir = {}, {}, profile.normalize(w.display)
  local saved = profile.first_dirs
  profile.first_dirs = { w.display }
  for _, name in ipairs(util.sorted_keys(manifest)) do
    if name:match("%.lua$") then
      local p = profile.load(w.display .. "/" .. name, { placeholders = true })
      if not p then broken[#broken + 1] = name end
      local files = {}
      for _, f in ipairs(p and p._chain or {}) do files[#files + 1] = f end
      local rules = p and M.rules_file(p)
      if rules then files[#files + 1] = rules end
      for _, f in ipairs(files) do
        f = profile.normalize(f)
        local n = basename(f)
        if profile.normalize(dirname(f)) == dir then
          out[n] = out[n] or {}
          if not util.contains(out[n], name) then out[n][#out[n] + 1] = name end
        end
      end
    end
  end
  profile.first_dirs = saved
  return out, broken
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

-- The confinements of grants.lines() table lines: { [heading] = { item, … } } for the
-- CONFINES categories.
function M.confines_of(lines)
  local out = {}
  for _, cat in ipairs(M.CONFINES) do
    local h = CAT_HEADING[cat]
    if lines[h] and #lines[h] > 0 then out[h] = { table.unpack(lines[h]) } end
  end
  return out
end

-- A limit's text ("nofile soft 64 hard 64", "time 30000 ms, then ended") as its kind and
-- its numbers, "unlimited" the largest.
local function limit_parts(text)
  local nums = {}
  for w in text:gmatch("%S+") do
    if w == "unlimited" then nums[#nums + 1] = math.huge else nums[#nums + 1] = tonumber(w) or w end
  end
  return table.remove(nums, 1), nums
end

-- Whether limit text b is no looser than a: the same kind, each number no higher (a word,
-- such as a CPU list, the same).
local function within(b, a)
  local ka, na = limit_parts(a)
  local kb, nb = limit_parts(b)
  if ka ~= kb or #na ~= #nb then return false end
  for i, x in ipairs(na) do
    local y = nb[i]
    if type(x) ~= type(y) then return false end
    if type(x) == "number" then
      if y > x then return false end
    elseif x ~= y then
      return false
    end
  end
  return true
end

-- Whether items (of category h) keep confinement x: x among them, or for a limit one of
-- its kind within it.
local function keeps(h, items, x)
  if h ~= CAT_HEADING.limits then return util.contains(items, x) end
  for _, y in ipairs(items) do if within(y, x) then return true end end
  return false
end

-- The confinements both a and b keep (M.confines_of tables), a limit at the looser of the
-- two; keep(item), when given, keeps an item of a that b lacks.
local function common(a, b, keep)
  local out = {}
  for h, items in pairs(a) do
    local t = {}
    for _, x in ipairs(items) do
      if keeps(h, b[h] or {}, x) then
        t[#t + 1] = x
      elseif h == CAT_HEADING.limits then
        for _, y in ipairs(b[h] or {}) do if within(x, y) then t[#t + 1] = y break end end
      elseif keep and keep(x) then
        t[#t + 1] = x
      end
    end
    if #t > 0 then out[h] = t end
  end
  return out
end

-- Which confinements of old new lacks: { { category, item } }, in CONFINES order.
function M.loosened(old, new)
  local out = {}
  for _, cat in ipairs(M.CONFINES) do
    local h = CAT_HEADING[cat]
    for _, x in ipairs(old[h] or {}) do
      if not keeps(h, new[h] or {}, x) then out[#out + 1] = { category = h, item = x } end
    end
  end
  return out
end

-- What install shows of a recipe's parameters, and run compares against. A string
-- parameter without `values` stands as a placeholder "/<name>" (lunshare.params), which run
-- replaces by the value it is given. A boolean parameter and one with `values` are a finite
-- choice: the grants of each of their values are shown. To bound the work, each such
-- parameter's values are evaluated one at a time with every other parameter at its
-- default, and at most M.MAX_CHOICES values in all; an integer or number parameter has
-- only its default's grants shown. What this does not cover (a combination of two values,
-- an integer's other values, a value past the cap) is caught at run, which refuses any
-- grant of the real run beyond the union shown.
M.MAX_CHOICES = 32

local function param_type(d)
  if d.type then return d.type end
  if d.default ~= nil then return math.type(d.default) == "integer" and "integer" or type(d.default) end
  return "string"
end

-- The values evaluated apart: { { k =, v = } } (each declared value but the default), how
-- many the cap left out, and the names of the parameters whose other values are not shown.
function M.choices(decls)
  local out, left, unshown = {}, 0, {}
  for _, k in ipairs(util.sorted_keys(decls or {})) do
    local d = type(decls[k].decl) == "table" and decls[k].decl or {}
    local ty = param_type(d)
    local vs = type(d.values) == "table" and d.values or (ty == "boolean" and { false, true }) or nil
    if vs then
      local seen = {}
      for _, v in ipairs(vs) do
        -- A duplicate is one value: it neither counts against the cap nor is shown twice.
        if v ~= d.default and not seen[v] then
          seen[v] = true
          if #out < M.MAX_CHOICES then out[#out + 1] = { k = k, v = v } else left = left + 1 end
        end
      end
    elseif ty == "integer" or ty == "number" then
      unshown[#unshown + 1] = k
    end
  end
  return out, left, unshown
end

local function lines_of(p) return grants.lines(grants.summary(p, grants.context())) end

-- The grants shown for loaded profile p (loaded with base_set): load(set) loads the same
-- recipe with other parameters (nil when it does not load with them). Returns { base (p's
-- grants), union (base and every value's), confines (the confinements base and every
-- value's keep), extras = { { k, v, items = widened, drops = loosened } } for the values
-- that grant more than base or keep less, left, unshown }.
function M.shown(p, load, base_set)
  local base = lines_of(p)
  local confines = M.confines_of(base)
  local union = {}
  for h, items in pairs(base) do union[h] = { table.unpack(items) } end
  local cs, left, unshown = M.choices(p._param_decls)
  local extras, broken = {}, {}
  for _, c in ipairs(cs) do
    local set = {}
    for k, v in pairs(base_set or {}) do set[k] = v end
    set[c.k] = c.v
    local q, errs = load(set)
    if not q then
      -- Said on the consent screen: a declared value that does not load.
      local e = type(errs) == "table" and errs[1] or errs
      if type(e) == "table" then e = schema.format_error(e) end
      broken[#broken + 1] = { k = c.k, v = c.v, msg = tostring(e or "it does not load") }
    else
      local ql = lines_of(q)
      local more = M.widened(union, ql)
      local items = M.widened(base, ql)
      local qc = M.confines_of(ql)
      local drops = M.loosened(M.confines_of(base), qc)
      confines = common(confines, qc)
      for _, x in ipairs(more) do
        union[x.category] = union[x.category] or {}
        table.insert(union[x.category], x.item)
      end
      if #items > 0 or #drops > 0 then extras[#extras + 1] = { k = c.k, v = c.v, items = items, drops = drops } end
    end
  end
  return { base = base, union = union, confines = confines, extras = extras, broken = broken, left = left,
    unshown = unshown }
end

-- The free string parameters (no `values`) of loaded p: their names, sorted.
function M.free_strings(p)
  local out = {}
  for _, k in ipairs(util.sorted_keys(p._param_decls or {})) do
    local d = type(p._param_decls[k].decl) == "table" and p._param_decls[k].decl or {}
    if param_type(d) == "string" and d.values == nil then out[#out + 1] = k end
  end
  return out
end

-- What consent covers for loaded p (the defaults' evaluation, shown): { d = shown.union,
-- p = the union again with every free string parameter a placeholder "/<name>", c = the
-- confinements both keep, and those of the placeholders' that name a placeholder (a
-- tmpfs over "/<dir>/.ssh": run keeps it, at the run's value) }, and the items of p
-- beyond d (shown too, as what giving such a parameter a value grants).
-- load(set) loads the same recipe (nil when it does not load).
function M.consent(p, load, shown)
  local free = M.free_strings(p)
  local rec = { d = shown.union, p = shown.union, c = shown.confines }
  if #free > 0 then
    local set = {}
    for _, k in ipairs(free) do set[k] = "/<" .. k .. ">" end
    local q = load(set)
    local sq = q and M.shown(q, load, set)
    rec.p = sq and sq.union or {}
    if sq then
      local function named(x)
        for _, k in ipairs(free) do if x:find("/<" .. k .. ">", 1, true) then return true end end
        return false
      end
      -- A placeholder's item at the parameter's default: what the defaults' evaluation
      -- shows for it.
      local function at_default(x)
        for _, k in ipairs(free) do
          local v = p._params and p._params[k]
          if type(v) == "string" then x = x:gsub(("/<" .. k .. ">"):gsub("%p", "%%%0"), (v:gsub("%%", "%%%%"))) end
        end
        return x
      end
      rec.c = common(sq.confines, shown.confines, named)
      -- What the defaults keep and the placeholders' evaluation lacks stays required,
      -- unless a placeholder's item is it at the default (a tmpfs over "/<dir>/.ssh"): a
      -- recipe that keeps a tmpfs only while a free string holds its default (or drops it
      -- for any other value) keeps it always, or is refused.
      for h, items in pairs(shown.confines) do
        for _, x in ipairs(items) do
          local covered = keeps(h, rec.c[h] or {}, x)
          for _, y in ipairs(sq.confines[h] or {}) do
            covered = covered or (named(y) and at_default(y) == x)
          end
          if not covered then
            rec.c[h] = rec.c[h] or {}
            table.insert(rec.c[h], x)
          end
        end
      end
    end
  end
  return rec, #free > 0 and M.widened(rec.d, rec.p) or {}, free
end

-- The union of a consent record's two halves (what an update diff compares).
function M.union_of(rec)
  local out = {}
  for _, half in ipairs({ rec.d, rec.p }) do
    for cat, items in pairs(half) do
      out[cat] = out[cat] or {}
      for _, item in ipairs(items) do
        if not util.contains(out[cat], item) then table.insert(out[cat], item) end
      end
    end
  end
  return out
end

-- The first grant of loaded p (a run's) beyond consent record rec (M.consent), as
-- { category, item }, or the first confinement of the record it lacks, as { category,
-- item, dropped = true }, or nil. values: the run's value of each free string parameter,
-- which replaces its placeholder in rec.p and rec.c (a path cleaned as mounts would).
-- skip: { [heading] = true } for the categories not compared.
function M.beyond(rec, p, values, clean, skip)
  local function sub(text)
    for k, v in pairs(values) do
      if type(v) == "string" then
        if v:sub(1, 1) == "/" and clean then v = clean(v) or v end
        local pat = ("/<" .. k .. ">"):gsub("%p", "%%%0")
        text = text:gsub(pat, (v:gsub("%%", "%%%%")))
      end
    end
    return text
  end
  local expected = {}
  for cat, items in pairs(rec.d) do expected[cat] = { table.unpack(items) } end
  for cat, items in pairs(rec.p) do
    expected[cat] = expected[cat] or {}
    for _, item in ipairs(items) do table.insert(expected[cat], sub(item)) end
  end
  local lines = lines_of(p)
  for h in pairs(skip or {}) do lines[h] = nil end
  local wider = M.widened(expected, lines)[1]
  if wider then return wider end
  local kept = {}
  for cat, items in pairs(rec.c or {}) do
    kept[cat] = {}
    for _, item in ipairs(items) do table.insert(kept[cat], sub(item)) end
  end
  local lost = M.loosened(kept, M.confines_of(lines))[1]
  if lost then lost.dropped = true end
  return lost
end

return M
