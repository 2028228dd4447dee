-- The man pages as the REPL's help: one text, two readers. docs/lunshare-lua.3 (the Lua API)
-- and docs/lunshare-profile.5 (profile fields and constructors) are compiled into the
-- executable; help() parses them here into entries, one per tagged paragraph (.TP) whose tag
-- begins with the name it documents ("core.ns_open(pid, kind) → …", "link:up()", "mounts"),
-- and prints them as plain text. tests/spec/doc_spec.lua checks that every function, method
-- and field has an entry and every entry a function, so the pages cannot drift from the API.
local lunshare = require "lunshare"
local profile = require "lunshare.profile"
local repl_sandbox = require "lunshare.repl_sandbox"
local util = require "lunshare.util"
-- The executable's compiled-in pages, or the install's directory (a stock lua5.4).
local has_embedded, embedded = pcall(require, "lunshare.embedded")
local has_paths, paths = pcall(require, "lunshare.paths")

local M = {}

M.PAGES = { lua = "lunshare-lua.3", profile = "lunshare-profile.5" }
-- The sections of lunshare-profile(5) whose entries are fields and constructors.
M.PROFILE_SECTIONS = { FIELDS = "profile fields", HELPERS = "profile constructors" }

-- The source of a page: the one compiled into the executable, or (from a stock lua5.4) the
-- checkout's (LUNSHARE_ROOT) or the installed one.
function M.source(page)
  if has_embedded and embedded.doc then
    local text = embedded.doc(page)
    if text then return text end
  end
  local dirs = {}
  local root = os.getenv("LUNSHARE_ROOT")
  if root and root ~= "" then dirs[#dirs + 1] = root .. "/docs" end
  -- A checkout's scripts/lunshare/doc.lua has its pages in docs/ beside scripts/.
  local here = debug.getinfo(1, "S").source:match("^@(.*)scripts/lunshare/doc%.lua$")
  if here then dirs[#dirs + 1] = (here == "" and "." or here:gsub("/$", "")) .. "/docs" end
  if has_paths and paths.man_dir then dirs[#dirs + 1] = paths.man_dir .. "/man" .. page:match("%d$") end
  for _, d in ipairs(dirs) do
    local text = util.read_file(d .. "/" .. page)
    if text then return text end
  end
  return nil, "the man page " .. page .. " is not available"
end

-- ---- troff to text ------------------------------------------------------------------

local CHARS = {
  dq = '"', aq = "'", em = "—", en = "–", ["->"] = "→", ["<-"] = "←", bu = "•", lq = "“",
  rq = "”", oq = "‘", cq = "’", co = "©", ga = "`", ti = "~", ha = "^", rs = "\\", mi = "-",
  pl = "+", mu = "×", ["<="] = "≤", [">="] = "≥", ["!="] = "≠", ["=="] = "==",
}
local ESCAPES = { ["-"] = "-", e = "\\", ["&"] = "", ["|"] = "", ["^"] = "", ["~"] = " ",
  [" "] = " ", ["0"] = " ", ["."] = ".", ["'"] = "'", ["`"] = "`" }

-- The text of a line of troff: fonts dropped, special characters and escapes replaced.
function M.text(s)
  local out, i = {}, 1
  while i <= #s do
    local c = s:sub(i, i)
    if c ~= "\\" then
      local j = s:find("\\", i, true) or (#s + 1)
      out[#out + 1] = s:sub(i, j - 1)
      i = j
    else
      local n = s:sub(i + 1, i + 1)
      if n == "f" then
        local m = s:sub(i + 2, i + 2)
        i = i + (m == "(" and 5 or m == "[" and ((s:find("]", i, true) or #s) - i + 1) or 3)
      elseif n == "(" then
        out[#out + 1] = CHARS[s:sub(i + 2, i + 3)] or ""
        i = i + 4
      elseif n == "[" then
        local j = s:find("]", i, true) or #s
        out[#out + 1] = CHARS[s:sub(i + 2, j - 1)] or ""
        i = j + 1
      elseif n == "" then
        i = i + 1
      else
        out[#out + 1] = ESCAPES[n] or n
        i = i + 2
      end
    end
  end
  return table.concat(out)
end

-- The arguments of a request: words, or "quoted words".
local function args_of(s)
  local args, i = {}, 1
  while i <= #s do
    local c = s:sub(i, i)
    if c:match("%s") then
      i = i + 1
    elseif c == '"' then
      local j = i + 1
      while j <= #s and s:sub(j, j) ~= '"' do j = j + 1 end
      args[#args + 1] = s:sub(i + 1, j - 1)
      i = j + 1
    else
      local j = s:find("%s", i) or (#s + 1)
      args[#args + 1] = s:sub(i, j - 1)
      i = j
    end
  end
  return args
end

local FONTS = { B = " ", I = " ", SM = " ", SB = " ",
  BR = "", RB = "", IR = "", RI = "", BI = "", IB = "" }

-- The names an entry's tag documents: "core.ns_open(pid, kind) → …" is core.ns_open;
-- "hostname, domainname" is both (commas inside brackets do not separate).
local function names_of(tag)
  tag = tag:gsub("%s*→.*$", "")
  local parts, depth, start = {}, 0, 1
  for i = 1, #tag do
    local c = tag:sub(i, i)
    if c == "(" or c == "{" or c == "[" then depth = depth + 1
    elseif c == ")" or c == "}" or c == "]" then depth = depth - 1
    elseif c == "," and depth == 0 then
      parts[#parts + 1] = tag:sub(start, i - 1)
      start = i + 1
    end
  end
  parts[#parts + 1] = tag:sub(start)
  local names = {}
  for _, p in ipairs(parts) do
    local n = p:match("^%s*([%a_][%w_%.:]*)")
    if n then names[#names + 1] = n:gsub("[.:]$", "") end
  end
  return names
end

-- Parses a page: { title, sections = { { name, intro = blocks, areas = { { name, entries } } } },
-- entries = { … } in order, by_name = { name -> { entry, … } } }. An entry is
-- { names, tags, blocks, section, area }; a block is { fill = "text" } or { lines = { … } }.
function M.parse(src)
  local page = { sections = {}, entries = {}, by_name = {} }
  local section, area, entry
  local blocks -- where text goes: an entry's, an area's intro or a section's intro
  local para, verbatim, want_tag = nil, false, false

  local function flush()
    if para and para:match("%S") then blocks[#blocks + 1] = { fill = para } end
    para = nil
  end
  local function end_entry()
    flush()
    entry = nil
    blocks = area and area.intro or (section and section.intro) or {}
  end
  local function add_text(t)
    if want_tag then
      want_tag = false
      if not entry then
        entry = { names = {}, tags = {}, blocks = {}, section = section and section.name,
          area = area and area.name }
        page.entries[#page.entries + 1] = entry
        if area then area.entries[#area.entries + 1] = entry end
        blocks = entry.blocks
      end
      entry.tags[#entry.tags + 1] = t
      for _, n in ipairs(names_of(t)) do
        if not util.contains(entry.names, n) then
          entry.names[#entry.names + 1] = n
          page.by_name[n] = page.by_name[n] or {}
          table.insert(page.by_name[n], entry)
        end
      end
      return
    end
    if verbatim then
      local last = blocks[#blocks]
      if not (last and last.lines and last.open) then
        last = { lines = {}, open = true }
        blocks[#blocks + 1] = last
      end
      last.lines[#last.lines + 1] = t
      return
    end
    para = para and (para .. " " .. t) or t
  end

  for line in (src .. "\n"):gmatch("(.-)\r?\n") do
    local req, rest = line:match("^[.']%s*(%S*)%s*(.*)$")
    if req == nil then
      if line == "" and not verbatim then flush() else add_text(M.text(line)) end
    elseif req:sub(1, 2) == '\\"' then
      -- a comment
    elseif req == "TH" then
      page.title = args_of(rest)[1]
    elseif req == "SH" or req == "SS" then
      end_entry()
      local name = M.text(table.concat(args_of(rest), " "))
      if req == "SH" then
        section = { name = name, intro = {}, areas = {} }
        page.sections[#page.sections + 1] = section
        area = nil
        blocks = section.intro
      else
        area = { name = name, intro = {}, entries = {} }
        section.areas[#section.areas + 1] = area
        blocks = area.intro
      end
    elseif req == "TP" then
      end_entry()
      want_tag = true
    elseif req == "TQ" then
      flush()
      want_tag = true
    elseif req == "PP" or req == "LP" or req == "P" then
      if entry then end_entry() else flush() end
    elseif req == "IP" or req == "sp" or req == "br" then
      flush()
    elseif req == "nf" or req == "EX" then
      flush()
      verbatim = true
    elseif req == "fi" or req == "EE" then
      verbatim = false
      local last = blocks and blocks[#blocks]
      if last then last.open = nil end
    elseif FONTS[req] then
      local a = args_of(rest)
      for i, x in ipairs(a) do a[i] = M.text(x) end
      add_text(table.concat(a, FONTS[req]))
    end
    -- Other requests (.RS, .RE, .ad, …) only lay out.
  end
  end_entry()
  if not section then page.sections = {} end
  return page
end

-- ---- text for a person --------------------------------------------------------------

local function wrap(text, indent, width)
  local lines, line = {}, nil
  for word in text:gmatch("%S+") do
    if line and utf8.len(line) + 1 + (utf8.len(word) or #word) > width then
      lines[#lines + 1] = line
      line = nil
    end
    line = line and (line .. " " .. word) or (indent .. word)
  end
  if line then lines[#lines + 1] = line end
  return table.concat(lines, "\n")
end

local function render_blocks(blocks, indent, width)
  local out = {}
  for _, b in ipairs(blocks) do
    if b.fill then
      out[#out + 1] = wrap(b.fill, indent, width)
    else
      local l = {}
      for i, x in ipairs(b.lines) do l[i] = indent .. "  " .. x end
      out[#out + 1] = table.concat(l, "\n")
    end
  end
  return table.concat(out, "\n\n")
end

-- An entry as help prints it: its tags, then its text indented.
function M.render(entry, width)
  width = width or 80
  local out = {}
  for _, t in ipairs(entry.tags) do out[#out + 1] = t end
  local body = render_blocks(entry.blocks, "    ", width)
  if body ~= "" then out[#out + 1] = body end
  return table.concat(out, "\n") .. "\n"
end

-- ---- the pages, parsed once -----------------------------------------------------------

local parsed = {}

function M.page(which)
  if parsed[which] == nil then
    local src, err = M.source(M.PAGES[which])
    parsed[which] = src and M.parse(src) or { missing = err, sections = {}, entries = {}, by_name = {} }
  end
  return parsed[which]
end

-- The entries of the profile page that document fields (or constructors): by name.
function M.profile_entries(kind)
  local page, out = M.page("profile"), {}
  for _, e in ipairs(page.entries) do
    if M.PROFILE_SECTIONS[e.section] == kind then
      for _, n in ipairs(e.names) do out[n] = out[n] or e end
    end
  end
  return out
end

-- Every documented name, for completion and suggestions.
function M.names()
  local out, seen = {}, {}
  local function add(n)
    if not seen[n] then
      seen[n] = true
      out[#out + 1] = n
    end
  end
  for _, e in ipairs(M.page("lua").entries) do
    for _, n in ipairs(e.names) do add(n) end
  end
  for _, kind in pairs(M.PROFILE_SECTIONS) do
    for n in pairs(M.profile_entries(kind)) do add(n) end
  end
  table.sort(out)
  return out
end

-- ---- from values to names ---------------------------------------------------------------

-- Handles by their metatable's registry name, and the prefix their methods have here.
M.HANDLES = { ["lunshare.Fd"] = "handle", ["lunshare.Netlink"] = "nl", ["lunshare.Cgroup"] = "cg" }

-- The live network objects' classes (lunshare.ip's) by the prefix of their methods.
function M.net_classes()
  local ok, ip = pcall(function() return lunshare.ip end)
  return ok and type(ip) == "table" and ip.classes or {}
end

-- name -> value of everything help can be asked about by value; env is the REPL's.
function M.values(env)
  local out = {}
  local function module(prefix, t, sep)
    if type(t) ~= "table" then return end
    for k, v in pairs(t) do
      if type(k) == "string" and k:sub(1, 1) ~= "_" then out[prefix .. (sep or ".") .. k] = v end
    end
  end
  module("core", lunshare.core)
  module("lunshare", lunshare)
  local ip = lunshare.ip
  module("ip", ip)
  for k, v in pairs(ip) do
    if type(v) == "table" and k ~= "classes" then module("ip." .. k, v) end
  end
  for prefix, class in pairs(M.net_classes()) do module(prefix, class, ":") end
  module("sb", repl_sandbox.class, ":")
  local reg = debug.getregistry()
  for name, prefix in pairs(M.HANDLES) do
    local mt = reg[name]
    if type(mt) == "table" then module(prefix, mt.__index, ":") end
  end
  if env then
    module("core", env.core)
    module("lunshare", env.lunshare)
    for _, k in ipairs({ "help", "params", "print" }) do out[k] = env[k] end
    for k in pairs(profile.constructors()) do out[k] = env[k] end
  end
  return out
end

-- ---- help -------------------------------------------------------------------------------

-- The entries for a name: the Lua page's, else a profile field's or constructor's.
local function entries_for(name)
  local found = M.page("lua").by_name[name]
  if found then return found end
  local f = M.profile_entries("profile fields")[name] or M.profile_entries("profile constructors")[name]
  return f and { f } or nil
end

-- The names under a prefix ("core." or "link:") in the Lua page, in its order.
local function names_under(prefix)
  local out, seen = {}, {}
  for _, e in ipairs(M.page("lua").entries) do
    for _, n in ipairs(e.names) do
      if n:sub(1, #prefix) == prefix and not seen[n] then
        seen[n] = true
        out[#out + 1] = n
      end
    end
  end
  return out
end

local function listing(title, names, width)
  if #names == 0 then return "" end
  return title .. "\n" .. wrap(table.concat(names, "  "), "    ", width) .. "\n"
end

-- help(): the API by area, from the pages' sections.
local function overview(width)
  local out = { "lunshare repl: Lua 5.4 with lunshare and core loaded. help(x) documents x: a " ..
    "function, an object or a handle, or a name (\"ns_open\", \"link:up\", \"mounts\"); " ..
    "help \"repl\" is about the REPL itself (Ctrl-C, completion, piped input).\n" }
  out[1] = wrap(out[1], "", width) .. "\n"
  local lua = M.page("lua")
  if lua.missing then out[#out + 1] = lua.missing .. "\n" end
  local skip = { NAME = true, SYNOPSIS = true, DESCRIPTION = true, ["EXIT STATUS"] = true,
    ENVIRONMENT = true, FILES = true, ["SEE ALSO"] = true }
  for _, s in ipairs(lua.sections) do
    if not skip[s.name] then
      local groups = #s.areas > 0 and s.areas or { { name = nil, entries = {} } }
      if #s.areas == 0 then
        for _, e in ipairs(lua.entries) do
          if e.section == s.name then table.insert(groups[1].entries, e) end
        end
      end
      for _, a in ipairs(groups) do
        local names = {}
        for _, e in ipairs(a.entries) do
          for _, n in ipairs(e.names) do
            if n:match("[.:]") or (s.name == "THE REPL" and n:match("^%l")) then names[#names + 1] = n end
          end
        end
        local title = s.name:lower():gsub("^the ", "") .. (a.name and (": " .. a.name:lower()) or "")
        out[#out + 1] = listing(title, names, width)
      end
    end
  end
  for _, kind in ipairs({ "profile fields", "profile constructors" }) do
    local names = {}
    for _, e in ipairs(M.page("profile").entries) do
      if M.PROFILE_SECTIONS[e.section] == kind then
        for _, n in ipairs(e.names) do names[#names + 1] = n end
      end
    end
    out[#out + 1] = listing(kind .. " (lunshare-profile(5))", names, width)
  end
  return table.concat(out)
end

local function render_all(list, width)
  local out = {}
  for _, e in ipairs(list) do out[#out + 1] = M.render(e, width) end
  return table.concat(out, "\n")
end

-- The prefix of the methods of a value: a handle's, a live network object's.
local function class_of(x)
  local mt = getmetatable(x)
  if mt == nil then return nil end
  local reg = debug.getregistry()
  for name, prefix in pairs(M.HANDLES) do
    if reg[name] == mt then return prefix end
  end
  for prefix, class in pairs(M.net_classes()) do
    if class == mt then return prefix end
  end
  if mt == repl_sandbox.class then return "sb" end
end

-- A section or an area by its title ("repl", "namespaces", "handles").
local function topic(name, width)
  local want = name:lower()
  for _, s in ipairs(M.page("lua").sections) do
    local title = s.name:lower()
    if title == want or title == "the " .. want then
      local text = render_blocks(s.intro, "", width)
      local list = {}
      for _, e in ipairs(M.page("lua").entries) do
        if e.section == s.name then list[#list + 1] = e end
      end
      return s.name .. "\n" .. (text ~= "" and (text .. "\n\n") or "") .. render_all(list, width)
    end
    for _, a in ipairs(s.areas) do
      if a.name:lower() == want then
        local text = render_blocks(a.intro, "", width)
        return a.name .. "\n" .. (text ~= "" and (text .. "\n\n") or "") .. render_all(a.entries, width)
      end
    end
  end
end

-- Names that stand for a whole section.
-- (lunshare.net is an older name of lunshare.ip, kept for programs written for it: help
-- and completion know only ip, so that one name is taught.)
local TOPICS = { core = "lunshare.core", lunshare = "the lunshare module", ip = "live network objects" }

-- For a terminal whose locale is not UTF-8: the same text in ASCII.
local ASCII = { ["→"] = "->", ["←"] = "<-", ["—"] = "--", ["–"] = "-", ["“"] = '"', ["”"] = '"',
  ["‘"] = "'", ["’"] = "'", ["•"] = "*", ["≤"] = "<=", ["≥"] = ">=", ["≠"] = "~=", ["×"] = "x",
  ["©"] = "(c)" }

function M.utf8_locale()
  for _, v in ipairs({ "LC_ALL", "LC_CTYPE", "LANG" }) do
    local l = os.getenv(v)
    if l and l ~= "" then return l:lower():find("utf%-?8") ~= nil end
  end
  return false
end

local help

-- The text help(x) prints; width: of the lines (80).
function M.help(x, env, width)
  local text = help(x, env, width or 80)
  if M.utf8_locale() then return text end
  return (text:gsub("[\xC2-\xF4][\x80-\xBF]+", function(c) return ASCII[c] or "?" end))
end

function help(x, env, width)
  if x == nil then return overview(width) end
  if type(x) ~= "string" then
    if x == lunshare.core or (env and x == env.core) then return topic("lunshare.core", width) end
    if x == lunshare or (env and x == env.lunshare) then return topic("the lunshare module", width) end
    if x == lunshare.ip then return topic("live network objects", width) end
    for name, v in pairs(M.values(env)) do
      if rawequal(v, x) and entries_for(name) then return render_all(entries_for(name), width) end
    end
    local prefix = class_of(x)
    if prefix then
      return listing(prefix .. ": " .. tostring(x), names_under(prefix .. ":"), width) ..
        "(help \"" .. prefix .. ":METHOD\" for one)\n"
    end
    return "no help for this " .. type(x) .. " (help() lists what there is)\n"
  end
  if TOPICS[x] then return topic(TOPICS[x], width) end
  local found = entries_for(x) or entries_for("core." .. x) or entries_for("lunshare." .. x)
  if found then return render_all(found, width) end
  -- A method or a function by its last name: "links" is nl:links, netns:links, ….
  local list = {}
  for _, e in ipairs(M.page("lua").entries) do
    for _, n in ipairs(e.names) do
      if n:match("[.:]" .. x:gsub("%p", "%%%0") .. "$") then
        list[#list + 1] = e
        break
      end
    end
  end
  if #list > 0 then return render_all(list, width) end
  local t = topic(x, width)
  if t then return t end
  for _, n in ipairs(M.names()) do
    if n:lower() == x:lower() then return render_all(entries_for(n), width) end
  end
  -- The nearest name, whole or by its last part ("ns_opne" is ns_open).
  local near, seen = {}, {}
  for _, n in ipairs(M.names()) do
    for _, c in ipairs({ n, n:match("[.:]([^.:]+)$") }) do
      if not seen[c] then
        seen[c] = true
        near[#near + 1] = c
      end
    end
  end
  return "no help for '" .. x .. "'" .. util.suggest(x, near) .. " (help() lists what there is)\n"
end

return M
