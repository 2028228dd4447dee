-- `lunshare install FILE|DIR [--yes] [--system]`: copies recipes into the profile
-- directory (lunshare.installed), with consent to what they grant.
--
-- FILE is one recipe; DIR installs every NAME.lua in it. With each recipe come the files
-- of its extends chain that lie in the same source directory (a base extended by name or
-- by path beside it), and a seccomp rules file it names there: what install copies is
-- exactly what it loaded and checked (a recipe that check refuses is not installed).
--
-- A recipe new to the directory prints its grants (with every parameter at its default,
-- then what each value of a boolean or `values` parameter adds: installed.shown) and
-- warnings and asks for consent. A file another installed recipe reads is not replaced
-- unless that recipe is installed again here (installed.readers). One
-- already there is an update: it prints the grant diff against the installed version and
-- asks again only when something widens (installed.WIDENS); narrowing, or the same
-- grants, needs no consent. --yes is consent given in advance; without it and without a
-- terminal on stdin and stderr, install refuses and writes nothing. All recipes named
-- are consented to before any file is written; each file is written whole (renamed
-- over the old one) and its SHA-256 recorded in the manifest, with each recipe's consent
-- record (installed.consent: the union of what was shown), which every run compares with.
-- Each source file is read once (util.pinned) and everything comes from those bytes.
local command = require "lunshare.command"
local core = require "lunshare.core"
local diff = require "lunshare.diff"
local evaluator = require "lunshare.evaluator"
local grants = require "lunshare.grants"
local installed = require "lunshare.installed"
local profile = require "lunshare.profile"
local schema = require "lunshare.schema"
local util = require "lunshare.util"

local EXIT_RUNTIME, EXIT_USAGE = command.EXIT_RUNTIME, command.EXIT_USAGE

local M = {}

local function dirname(path) return path:match("^(.*)/[^/]*$") or "." end
local function basename(path) return path:match("([^/]*)$") end

local function parse(args)
  local o = command.options("install", args)
  o.sources = o.positional
  for _, a in ipairs(o.argv) do o.sources[#o.sources + 1] = a end
  if not o.help and #o.sources ~= 1 then command.usage_error("install: expected one FILE or DIR") end
  return o
end

-- Loads the profile at path with dir searched first; the profile, or raises its errors.
local function load(path, dir, set)
  local saved = profile.first_dirs
  profile.first_dirs = { dir }
  local p, errs = profile.load(path, { set = set, placeholders = true })
  profile.first_dirs = saved
  if not p then
    local lines = {}
    for _, e in ipairs(errs) do lines[#lines + 1] = schema.format_error(e) end
    return nil, lines
  end
  return p
end

-- The files a recipe brings: { [name] = bytes } from its chain and its seccomp file. Every
-- file the chain reads is in the installed set, or install refuses naming it: a file
-- left where it is would be read at every run, and whoever can write it could widen the
-- installed recipe without install, verify or run knowing. What may be left out is a
-- shipped profile (builtin:NAME) and a file already installed as the manifest has it;
-- what is copied lies in srcdir and is reached by a name that finds the copy from the
-- installed directory too (a bare name, or a relative path beside its parent): an
-- absolute path or one through another directory would still name the original.
local function is_local_ref(via)
  return type(via) == "string" and via:sub(1, 1) ~= "/" and not via:find("/", 1, true) or
    (type(via) == "string" and via:match("^%./[^/]+$") ~= nil)
end

local function files_of(p, srcdir, top, w, fd, manifest)
  local out = {}
  local here = profile.normalize(srcdir)
  local function outside(f, what)
    command.fail(EXIT_USAGE, "install: " .. util.escape(top) .. ": " .. what .. " " .. util.escape(f) ..
      ", which install would not copy (only files beside the recipe, named by a bare name or \"./FILE\", " ..
      "and builtin: names are): it would be read at every run; copy it beside the recipe and name it so")
  end
  for i, f in ipairs(p._chain) do
    local name = basename(f)
    local via = p._via and p._via[f]
    if i > 1 and profile.is_shipped(f, p._sources[f]) then
      -- The shipped copy, compiled in: nothing to copy.
    elseif i > 1 and profile.normalize(dirname(f)) == profile.normalize(w.display) and fd and manifest[name] and
        core.sha256(p._sources[f]) == manifest[name] and not (via or ""):find("/", 1, true) then
      -- Installed already, as the manifest has it (verify and run check it from there).
    elseif profile.normalize(dirname(f)) ~= here or (i > 1 and not is_local_ref(via)) then
      outside(f, i == 1 and "it is" or "its extends chain reads")
    else
      if not name:match(installed.NAME) then
        command.fail(EXIT_USAGE, "install: " .. util.escape(f) .. ": an installed profile is named NAME.lua")
      end
      out[name] = p._sources[f]
    end
  end
  local s = type(p.seccomp) == "table" and p.seccomp.file
  if type(s) == "string" then
    local naming = profile.split_origin(profile.origin(p, "seccomp.file")) or p._file
    local path = s:sub(1, 1) == "/" and profile.normalize(s) or profile.normalize(dirname(naming) .. "/" .. s)
    if s:sub(1, 1) == "/" or s:find("/", 1, true) and not s:match("^%./[^/]+$") or profile.normalize(dirname(path)) ~= here then
      outside(path, "its seccomp.file is")
    end
    if not basename(path):match(installed.FILE) then
      command.fail(EXIT_USAGE, "install: " .. util.escape(path) .. ": a seccomp rules file installed is named " ..
        "with letters, digits, '_', '-' and '.'")
    end
    local text, err = util.read_file(path)
    if not text then command.fail(EXIT_RUNTIME, "install: " .. tostring(err)) end
    out[basename(path)] = text
  end
  return out
end

local function grant_text(lines)
  local out = {}
  for _, c in ipairs(grants.CATEGORIES) do
    if lines[c[2]] then
      out[#out + 1] = "  " .. util.escape(c[2]) .. ":\n"
      for _, item in ipairs(lines[c[2]]) do out[#out + 1] = "    " .. util.escape(item) .. "\n" end
    end
  end
  return table.concat(out)
end

local function warning_text(p)
  local out = {}
  for _, w in ipairs(p._warnings or {}) do out[#out + 1] = "  warning: " .. schema.format_error(w) .. "\n" end
  for _, w in ipairs(grants.warnings(p, grants.context())) do
    out[#out + 1] = "  warning: " .. schema.format_error(w) .. "\n"
  end
  return table.concat(out)
end

-- What install shows of loaded recipe p found at path (with dir searched first): its
-- grants with every parameter at its default, and each declared value's (installed.shown).
local function shown_of(p, path, dir)
  return installed.shown(p, function(set) return load(path, dir, set) end)
end

-- The grants of each value that grants more than the defaults, and what is not shown.
local function choices_text(shown)
  local out = {}
  local function items_text(head, items)
    if #items == 0 then return end
    out[#out + 1] = head
    local last
    for _, it in ipairs(items) do
      if it.category ~= last then out[#out + 1] = "  " .. util.escape(it.category) .. ":\n" end
      last = it.category
      out[#out + 1] = "    " .. util.escape(it.item) .. "\n"
    end
  end
  for _, x in ipairs(shown.extras) do
    local with = "with --set " .. util.escape(x.k) .. "=" .. util.escape(tostring(x.v))
    items_text(with .. " it also grants:\n", x.items)
    items_text(with .. " it no longer keeps:\n", x.drops or {})
  end
  for _, x in ipairs(shown.broken or {}) do
    out[#out + 1] = "with --set " .. util.escape(x.k) .. "=" .. util.escape(tostring(x.v)) .. " it does not load: " ..
      util.escape(x.msg) .. "\n"
  end
  if shown.left > 0 then
    out[#out + 1] = string.format("%d more declared value%s not evaluated (at most %d are): a run with one that " ..
      "grants more than is shown here is refused\n", shown.left, shown.left == 1 and " is" or "s are", installed.MAX_CHOICES)
  end
  if #shown.unshown > 0 then
    local names = {}
    for i, k in ipairs(shown.unshown) do names[i] = util.escape(k) end
    out[#out + 1] = "shown with the default of " .. table.concat(names, ", ") .. ": a run whose value grants more " ..
      "than the default's is refused\n"
  end
  return table.concat(out)
end

-- What giving a free string parameter a value grants beyond the defaults (each a
-- placeholder "/<name>" in what is shown, which run replaces by the value).
local function free_text(items, free)
  if #items == 0 then return "" end
  local names = {}
  for i, k in ipairs(free) do names[i] = "--set " .. util.escape(k) .. "=VALUE" end
  local out = { "with " .. table.concat(names, " ") .. " it also grants (/<NAME> stands for the value):\n" }
  local last
  for _, it in ipairs(items) do
    if it.category ~= last then out[#out + 1] = "  " .. util.escape(it.category) .. ":\n" end
    last = it.category
    out[#out + 1] = "    " .. util.escape(it.item) .. "\n"
  end
  return table.concat(out)
end

-- Asks on the terminal; true for yes.
local function ask(question)
  if not (core.isatty(0) and core.isatty(2)) then return nil end
  io.stderr:write(question, " [y/N] ")
  io.stderr:flush()
  local answer = io.stdin:read("l")
  return answer ~= nil and (answer:lower() == "y" or answer:lower() == "yes")
end

function M.main(args)
  local o = parse(args)
  if o.help then return command.help_for("install") end
  local w, why = installed.where(o.system)
  if not w then command.fail(EXIT_RUNTIME, "install: " .. why) end
  local src = o.sources[1]
  local kind = core.kind(src)
  local recipes, srcdir = {}, nil
  if kind == "dir" then
    srcdir = src
    local names = core.dir_list(src) or {}
    table.sort(names)
    for _, f in ipairs(names) do
      if f:match(installed.NAME) and core.kind(src .. "/" .. f) == "file" then recipes[#recipes + 1] = src .. "/" .. f end
    end
    if #recipes == 0 then command.fail(EXIT_USAGE, "install: no NAME.lua recipe in " .. util.escape(src)) end
  elseif kind == "file" then
    if not basename(src):match(installed.NAME) then
      command.fail(EXIT_USAGE, "install: " .. util.escape(src) .. ": a recipe is a file NAME.lua")
    end
    srcdir, recipes = dirname(src), { src }
  else
    command.fail(EXIT_USAGE, "install: " .. util.escape(src) .. ": no such file or directory")
  end

  local fd = installed.open(w, false)
  local manifest, records, newrec = {}, {}, {}
  if fd then
    local m, merr, recs = installed.read_manifest(fd)
    if not m then command.fail(EXIT_RUNTIME, "install: " .. w.display .. "/" .. merr) end
    manifest, records = m, recs
  end

  -- Every recipe loaded, compared and consented to before anything is written. A unit is
  -- a file to write: a recipe named, or a base one brings (whose grants the recipe's show).
  local writes, order, from, top, consented = {}, {}, {}, {}, {}
  local out = io.stdout
  local LIMIT = evaluator.SOURCE_LIMIT
  local function same(n) return fd and core.state_read(fd, n, LIMIT) == writes[n] end
  -- Each source file is read once (util.pinned): the check, the grants shown, each
  -- value's evaluation, the hash and the bytes written all come from that one read.
  util.pinned = {}
  local ok, err = evaluator.bounded(src, function()
    local loaded = {}
    for _, path in ipairs(recipes) do
      local p, errs = load(path, srcdir)
      if not p then command.fail(EXIT_USAGE, errs) end
      local name = basename(path)
      top[name], loaded[name] = {}, p
      local fs = files_of(p, srcdir, path, w, fd, manifest)
      for _, n in ipairs(util.sorted_keys(fs)) do
        local bytes = fs[n]
        top[name][#top[name] + 1] = n
        if writes[n] == nil then order[#order + 1], from[n] = n, name end
        writes[n] = bytes
      end
    end
    -- The manifest is one for the directory, and recipes share files by name (a base.lua,
    -- a rules file): a file replaced here that another installed recipe reads would change
    -- what that one grants, with consent asked only in this one's terms. Refused, unless
    -- each recipe that reads it is installed again here (its own update diff is shown).
    local readers, broken
    if fd then
      for _, n in ipairs(order) do
        if manifest[n] and not same(n) then
          if not readers then readers, broken = installed.readers(w, manifest) end
          -- One that does not load might read it (its base gone, say): which it reads is
          -- unknown, so nothing is replaced until it is installed again or removed.
          for _, r in ipairs(broken) do
            if r ~= n and not top[r] then
              local rn = util.escape((r:gsub("%.lua$", "")))
              command.fail(EXIT_RUNTIME, "install: " .. util.escape(w.display .. "/" .. n) .. ": not replaced, " ..
                "nothing written: the installed recipe " .. rn .. " does not load, so which files it reads is " ..
                "unknown; run 'lunshare verify', then install " .. rn .. " again or remove it")
            end
          end
          local others = {}
          for _, r in ipairs(readers[n] or {}) do
            if r ~= n and not top[r] then others[#others + 1] = (r:gsub("%.lua$", "")) end
          end
          if #others > 0 then
            local names, one = util.escape(table.concat(others, ", ")), #others == 1
            command.fail(EXIT_RUNTIME, "install: " .. util.escape(w.display .. "/" .. n) .. ": not replaced, nothing " ..
              "written: the installed recipe" .. (one and " " or "s ") .. names .. (one and " reads" or " read") ..
              " it, and replacing it would change what " .. (one and "that one grants" or "those grant") ..
              "; install " .. names .. " again with this recipe from one directory, remove " .. names ..
              " first, or give the file another name")
          end
        end
      end
    end
    for _, name in ipairs(order) do
      local path, target = srcdir .. "/" .. name, w.display .. "/" .. name
      local old_bytes = fd and core.state_read(fd, name, LIMIT)
      -- A recipe is unchanged when none of its files is (a rules file it names counts).
      local unchanged = same(name)
      for _, n in ipairs(top[name] or {}) do unchanged = unchanged and same(n) end
      -- One installed before consent records were kept is shown (and recorded) again.
      if top[name] and name:match("%.lua$") and not records[name] then unchanged = false end
      if unchanged then
        out:write(util.escape(target), ": installed already, unchanged\n")
      elseif name:match("%.lua$") and (top[name] or old_bytes) then
        local p = loaded[name] or select(1, load(path, srcdir))
        if not p then command.fail(EXIT_USAGE, "install: " .. util.escape(path) .. " does not load on its own") end
        local shown = shown_of(p, path, srcdir)
        local rec, by_value, free = installed.consent(p, function(set) return (load(path, srcdir, set)) end, shown)
        newrec[name] = rec
        local new = installed.union_of(rec)
        local old = old_bytes and (records[name] or load(target, w.display))
        if old then
          -- The old record, as consented to; one installed before records, computed.
          local was = records[name] and installed.union_of(records[name]) or shown_of(old, target, w.display).union
          local text = diff.text(was, new, target, path)
          out:write("update of ", util.escape(target), " from ", util.escape(path), ":\n", text, choices_text(shown),
            free_text(by_value, free), warning_text(p))
          local wider = installed.widened(was, new)
          -- What the old version kept that the new one does not (a hiding tmpfs, a denied
          -- system call, a limit) widens it too. One installed before confinements were
          -- recorded: what its version keeps, computed.
          local kept = records[name] and records[name].c
          if not kept then
            local oldp = load(target, w.display)
            kept = oldp and installed.consent(oldp, function(set) return (load(target, w.display, set)) end,
              shown_of(oldp, target, w.display)).c or {}
          end
          local looser = installed.loosened(kept, rec.c)
          if #wider > 0 or #looser > 0 then
            out:write(string.format("it widens what the installed %s grants (%d item%s):\n", util.escape(name),
              #wider + #looser, #wider + #looser == 1 and "" or "s"))
            for _, x in ipairs(wider) do out:write("  + ", util.escape(x.category), ": ", util.escape(x.item), "\n") end
            for _, x in ipairs(looser) do out:write("  - ", util.escape(x.category), ": ", util.escape(x.item), "\n") end
            consented[#consented + 1] = { name = name, why = "it widens what " .. target .. " grants" }
          else
            out:write("it widens nothing: no consent needed\n")
          end
        else
          out:write("install ", util.escape(path), " as ", util.escape(target), ": ",
            util.escape(type(p.description) == "string" and p.description or "(no description)"), "\n",
            "it grants:\n", grant_text(shown.base), choices_text(shown), free_text(by_value, free), warning_text(p))
          consented[#consented + 1] = { name = name, why = "a new recipe gets what it grants" }
        end
      else
        out:write("with ", util.escape(path), " (", util.escape(from[name]), " needs it)\n")
      end
    end
  end)
  util.pinned = nil
  if not ok then command.fail(EXIT_USAGE, err) end

  -- A file named like a shipped profile shadows it for every run and every extends that
  -- names it so (`lunshare run -- CMD` is builtin:default, whatever is installed): said,
  -- and consented to apart; --yes alone does not cover it.
  local shipped = profile.shipped()
  for _, name in ipairs(order) do
    local n = name:match("^(.*)%.lua$")
    if n and shipped[n] and not same(name) then
      local line = name .. " shadows builtin:" .. n
      out:write(util.escape(line), ": every profile that extends \"", util.escape(n), "\" and every 'lunshare run ",
        util.escape(n), "' get this recipe instead of the shipped one (which stays reachable as builtin:", util.escape(n), ")\n")
      if o.yes and not o.replace_builtin then
        io.stdout:flush()
        command.fail(EXIT_USAGE, "install: " .. line .. ": not installed, nothing written; pass --replace-builtin " ..
          "with --yes to install it over the shipped name, or rename it")
      end
      consented[#consented + 1] = { name = name, why = "it shadows builtin:" .. n .. " for every profile and run naming " .. n }
    end
  end
  io.stdout:flush()

  for _, c in ipairs(consented) do
    if not o.yes then
      local yes = ask("install " .. c.name .. " (" .. c.why .. ")?")
      if yes == nil then
        command.fail(EXIT_RUNTIME, "install: " .. c.name .. ": not installed, nothing written: " .. c.why ..
          ", and there is no terminal to ask for consent; pass --yes to accept what is printed above")
      elseif not yes then
        command.fail(EXIT_RUNTIME, "install: " .. c.name .. ": not installed, nothing written (no consent)")
      end
    end
  end

  if not fd then
    local e
    fd, e = installed.open(w, true)
    if not fd then command.fail(EXIT_RUNTIME, "install: " .. e) end
  end
  local wrote = 0
  for _, name in ipairs(order) do
    local bytes = writes[name]
    local hex = core.sha256(bytes)
    local cur = core.state_read(fd, name, evaluator.SOURCE_LIMIT)
    if cur ~= bytes or manifest[name] ~= hex then
      local okw, werr = core.state_write(fd, name, bytes, "replace", w.system and "readable" or "private")
      if not okw then command.fail(EXIT_RUNTIME, "install: " .. w.display .. "/" .. name .. ": " .. tostring(werr)) end
      manifest[name] = hex
      wrote = wrote + 1
      io.stdout:write("installed ", util.escape(w.display .. "/" .. name), "\n")
    end
  end
  for name, rec in pairs(newrec) do records[name] = rec end
  local okm, merr = installed.write_manifest(fd, w, manifest, records)
  if not okm then command.fail(EXIT_RUNTIME, "install: " .. w.display .. "/" .. installed.MANIFEST .. ": " .. tostring(merr)) end
  return 0
end

return M
