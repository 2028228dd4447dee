-- The examples of the documentation, taken out mechanically: every fenced block of a
-- Markdown file and every .EX/.EE block of a man page, with the file, the line it starts
-- on, its text (troff escapes undone) and its kind, which says how the suite runs it.
-- A block may name its kind (```lua profile, or `.\" example: profile` on the line before
-- .EX); otherwise the kind is read from its text. A block of no known kind is an error
-- of the suite, so that a new example is tested from the day it is written.
local M = {}

M.KINDS = {
  console = "`$ command` lines, each followed by its output (… stands for lines left out)",
  repl = "lines typed at `lunshare repl` (after a `lunshare> ` prompt, or a Lua block of statements)",
  profile = "a whole profile (`return { … }`); … marks what was left out",
  fragment = "profile fields, one or more each on its line(s): each is checked over default",
  topology = "a topology file for `lunshare net`",
  spec = "a busted spec over a profile of the examples before it",
  commands = "shell commands (placeholders such as FILE stand for the example before them)",
  setup = "the README's set-up commands, which CI runs as they are written",
  messages = "error messages as lunshare prints them (FILE:LINE: …), shown, not run",
  listing = "a ```text listing of the checkout (the layout): each top-level name it shows exists",
}

-- troff's escapes in an example, as the reader sees them.
local function untroff(line)
  return (line:gsub("\\%(dq", '"'):gsub("\\%(ti", "~"):gsub("\\%-", "-"):gsub("\\e", "\\"):gsub("\\&", ""):gsub("\\\\", "\\"))
end

function M.classify(text, lang)
  local lines = {}
  for l in (text .. "\n"):gmatch("(.-)\n") do lines[#lines + 1] = l end
  local function all(pat)
    local n = 0
    for _, l in ipairs(lines) do
      if l:match("%S") then
        if not l:match(pat) then return false end
        n = n + 1
      end
    end
    return n > 0
  end
  if lang == "text" then return "listing" end
  if lines[1] and lines[1]:match("^%$ ") then return "console" end
  if text:match("^lunshare> ") then return "repl" end
  if all("^%S+%.lua:%d+: ") then return "messages" end
  if lang == "sh" then
    if text:find("install%-deps%.sh") then return "setup" end
    return "commands"
  end
  local code = text:gsub("%-%-[^\n]*", "")
  if code:find("describe%(") or code:find("\nit%(") or code:match("^%s*it%(") then return "spec" end
  if code:match("^%s*return%s*{") and code:find("hosts%s*=") and code:find("links%s*=") then return "topology" end
  if code:match("^%s*return%s*{") or code:match("^%s*local%s+[%w_]+%s*=%s*params") then return "profile" end
  if code:find("lunshare%.") then return "repl" end
  if all("^[%a_][%w_]*%s*=") or all("^[%s%a_}%-]") then return "fragment" end
  return nil
end

-- The blocks of a Markdown file: { file, line, lang, kind, text }.
function M.markdown(path, text)
  local out, cur = {}, nil
  local n = 0
  for l in (text .. "\n"):gmatch("(.-)\n") do
    n = n + 1
    local info = l:match("^```(.*)$")
    if info and not cur then
      local lang, kind = info:match("^(%S*)%s*(%S*)")
      cur = { file = path, line = n + 1, lang = lang, kind = kind ~= "" and kind or nil, body = {} }
    elseif info and cur then
      cur.text = table.concat(cur.body, "\n")
      cur.body = nil
      cur.kind = cur.kind or M.classify(cur.text, cur.lang)
      out[#out + 1] = cur
      cur = nil
    elseif cur then
      cur.body[#cur.body + 1] = l
    end
  end
  return out
end

-- The .EX/.EE blocks of a man page.
function M.man(path, text)
  local out, cur, prev = {}, nil, ""
  local n = 0
  for l in (text .. "\n"):gmatch("(.-)\n") do
    n = n + 1
    if l:match("^%.EX") then
      cur = { file = path, line = n + 1, lang = "", kind = prev:match('^%.\\"%s*example:%s*(%S+)'), body = {} }
    elseif l:match("^%.EE") and cur then
      cur.text = table.concat(cur.body, "\n")
      cur.body = nil
      cur.lang = cur.text:find("^%$ ") and "" or "lua"
      cur.kind = cur.kind or M.classify(cur.text, cur.lang)
      out[#out + 1] = cur
      cur = nil
    elseif cur and not l:match("^%.") then
      cur.body[#cur.body + 1] = untroff(l)
    end
    prev = l
  end
  return out
end

-- A console block as { { cmd = "…", out = { lines } }, … }.
function M.console(text)
  local cmds = {}
  for l in (text .. "\n"):gmatch("(.-)\n") do
    local cmd = l:match("^%$ (.*)$")
    if cmd then cmds[#cmds + 1] = { cmd = cmd, out = {} }
    elseif cmds[#cmds] then table.insert(cmds[#cmds].out, l) end
  end
  return cmds
end

-- Whether the lines got match the lines wanted, where a wanted line "…" matches any run of
-- lines (none too) and every other line must be equal.
function M.match(want, got)
  local function from(i, j)
    if i > #want then return j > #got end
    if want[i] == "…" then
      for k = j, #got + 1 do if from(i + 1, k) then return true end end
      return false
    end
    return j <= #got and want[i] == got[j] and from(i + 1, j + 1)
  end
  return from(1, 1)
end

-- A profile or fragment as Lua: "…" where the writer left things out is dropped.
function M.unelide(text)
  return (text:gsub(",%s*…", ","):gsub("\n%s*…%s*\n", "\n"))
end

-- The entries of a fragment: a line that starts at the left margin begins one, lines
-- indented or closing a bracket continue it.
function M.entries(text)
  local out = {}
  for l in (text .. "\n"):gmatch("(.-)\n") do
    local code = l:gsub("%s*%-%-.*$", "")
    if code:match("^[%a_]") then out[#out + 1] = code
    elseif code:match("%S") and out[#out] then out[#out] = out[#out] .. "\n" .. code end
  end
  return out
end

return M
