-- No kernel numbers in scripts/: errno values, CLONE_* and other flags, ioctl requests,
-- signal numbers, route table ids, file modes and capability lists come from
-- lunshare.core, which takes them from the C headers and libraries. This spec reads every
-- scripts/lunshare/**/*.lua (comments dropped, strings kept) and fails, naming file:line,
-- on what such a number looks like when it is written by hand:
--   * an errno-like name (EPERM, ENOENT, …) or a kernel-constant name (CLONE_*, SIG*,
--     CAP_*, RT_TABLE_*, TIOC*, SECBIT*) assigned a number: `local EPERM = 1`,
--     `{ ENOENT = 2 }`, `local EPERM, EACCES = 1, 13`;
--   * a value whose name says errno compared with a number: `errno == 2`, `e.errno ~= 13`;
--   * a route table compared with a number: `r.table == 254`;
--   * a signal number passed to kill: `core.kill(pidfd, 9)`;
--   * a hex number inside a string, where the rule strings and commands carry flags and
--     masks: "a0&0x10000000==0x10000000", "--secbits=0xf" (a format such as "0x%x" is
--     fine: its value comes from core);
--   * a file mode as a number: a literal with a leading zero (0755 is decimal in Lua) or
--     one of the usual modes in decimal (448 = 0700, 493 = 0755, 420 = 0644, …);
--   * a table listing five or more capability names: take core.caps.
-- Numbers that are no kernel's (Unicode code points, sizes, limits of lunshare's own) pass.
-- #unit
local lex = require "lua_tokens"
local H = require "helpers"
local core = require "lunshare.core"

local SCRIPTS = H.root .. "/scripts/lunshare"

-- Files owned by another room of issue 11, which removes their numbers itself; each is
-- listed as pending (a skip in the suite's count), never silently passed.
local PENDING = {}

local CONSTANT_NAME = { "^E[A-Z][A-Z0-9]+$", "^CLONE_", "^SIG[A-Z]", "^CAP_", "^RT_TABLE", "^TIOC", "^SECBIT" }
local MODES = { [384] = "0600", [416] = "0640", [420] = "0644", [438] = "0666", [448] = "0700", [456] = "0710",
  [457] = "0711", [488] = "0750", [493] = "0755", [511] = "0777" }

local MODE_BITS = { [0x49] = "0111", [0x92] = "0222", [0x124] = "0444", [0x1c0] = "0700", [0x1ff] = "0777",
  [0xfff] = "07777", [0xf000] = "S_IFMT", [0x800] = "S_ISUID", [0x400] = "S_ISGID", [0x200] = "S_ISVTX" }

local function constant_name(name)
  for _, p in ipairs(CONSTANT_NAME) do
    if name:match(p) then return true end
  end
  return false
end

local caps = {}
for _, c in ipairs(core.caps) do caps[c] = true end

-- The findings of one file's source: { "LINE: what" }.
local function scan(src)
  local t = lex.tokens(src)
  local found = {}
  local function flag(tok, what) found[#found + 1] = tok.line .. ": " .. what end
  local function is(i, typ, v) return t[i] and t[i].type == typ and (v == nil or t[i].value == v) end
  for i, tok in ipairs(t) do
    -- NAME [, NAME]* = NUMBER [, NUMBER]*
    if is(i, "op", "=") and is(i + 1, "number") then
      local j = i - 1
      while is(j, "name") do
        if constant_name(t[j].value) then
          flag(t[j], t[j].value .. " written as a number; take it from lunshare.core")
          break
        end
        if is(j - 1, "op", ",") then j = j - 2 else break end
      end
    end
    -- errno / table compared with a number, either side
    if is(i, "op", "==") or is(i, "op", "~=") then
      local l, r = t[i - 1], t[i + 1]
      for _, pair in ipairs({ { l, r }, { r, l } }) do
        local name, num = pair[1], pair[2]
        if name and num and name.type == "name" and num.type == "number" then
          if name.value:lower():find("errno") then
            flag(tok, name.value .. " compared with the number " .. num.value .. "; compare with core.errno.ENAME")
          elseif name.value:lower():find("sig") and not (name == r and (is(i + 2, "op", ".") or is(i + 2, "op", "["))) then
            flag(tok, name.value .. " compared with the number " .. num.value .. "; compare with core.signals.NAME")
          elseif name.value == "table" then
            flag(tok, "a route table compared with the number " .. num.value .. "; use core.RT_TABLE_MAIN")
          end
        end
      end
    end
    -- kill(x, NUMBER)
    if is(i, "name", "kill") and is(i + 1, "op", "(") then
      local depth, j = 1, i + 2
      while t[j] and depth > 0 do
        if is(j, "op", "(") or is(j, "op", "{") then depth = depth + 1
        elseif is(j, "op", ")") or is(j, "op", "}") then depth = depth - 1
        elseif depth == 1 and is(j, "op", ",") and is(j + 1, "number") then
          flag(t[j + 1], "signal " .. t[j + 1].value .. " written as a number; use core.signals or core.signum")
        end
        j = j + 1
      end
    end
    if tok.type == "string" and tok.value:find("0[xX]%x") then
      flag(tok, "a hex number in a string (" .. tok.value:match("0[xX]%x+") ..
        "): build it from lunshare.core's constants")
    end
    -- a mode's bits as a mask: x & 0x49 (the execute bits), m | 0x800
    if (is(i, "op", "&") or is(i, "op", "|")) and is(i + 1, "number") and MODE_BITS[tonumber(t[i + 1].value)] then
      flag(t[i + 1], "the mode bits " .. MODE_BITS[tonumber(t[i + 1].value)] .. " written as a number; take them from lunshare.core")
    end
    if tok.type == "number" then
      if tok.value:match("^0%d+$") then
        flag(tok, tok.value .. " is decimal in Lua: an octal mode is a string parsed with tonumber(s, 8)")
      elseif MODES[tonumber(tok.value)] and tok.value:match("^%d+$") then
        flag(tok, tok.value .. " is the file mode " .. MODES[tonumber(tok.value)] .. " written in decimal")
      end
    end
    -- a table constructor with many capability names
    if is(i, "op", "{") then
      local depth, j, n = 1, i + 1, 0
      while t[j] and depth > 0 do
        if is(j, "op", "{") then depth = depth + 1
        elseif is(j, "op", "}") then depth = depth - 1
        elseif depth == 1 and t[j].type == "string" and caps[t[j].value:lower():gsub("^cap_", "")] then n = n + 1 end
        j = j + 1
      end
      if n >= 5 then flag(tok, "a list of " .. n .. " capability names; take core.caps") end
    end
  end
  return found
end

describe("kernel numbers in scripts/ #unit", function()
  it("the scanner sees each kind of number it is meant to catch", function()
    local bad = table.concat({
      "local EPERM, EACCES = 1, 13",
      "local t = { ENOENT = 2 }",
      "if errno == 2 then end",
      "if r.table == 254 then end",
      "core.kill(pidfd, 9)",
      "local c = 'a0&0x10000000==0x10000000'",
      "mkdir(p, 0755)",
      "chmod(p, 448)",
      "local CAPS = { 'chown', 'kill', 'setuid', 'setgid', 'net_raw' }",
      "local CLONE_NEWUSER = 0x10000000",
      "local x = sig == 24",
      "local y = (m & 0x49) ~= 0",
    }, "\n")
    local found = scan(bad)
    local lines = {}
    for _, f in ipairs(found) do lines[tonumber(f:match("^(%d+):"))] = true end
    for l = 1, 12 do assert.truthy(lines[l], "line " .. l .. " not caught: " .. table.concat(found, "\n")) end
    -- and lets pass what is not a kernel's number
    assert.same({}, scan(table.concat({
      "local cp = 0x80",
      "if n == 0 then end",
      "local s = string.format('a%d&0x%x==0x%x', 1, core.UINT_MAX, core.TIOCSTI)",
      "local x = tonumber('0755', 8)",
      "if errno == core.errno.ENOENT then end",
      "local names = { 'chown', 'kill' }",
    }, "\n")))
  end)

  for _, file in ipairs(lex.lua_files(SCRIPTS)) do
    if PENDING[file] then
      pending(file .. ": " .. PENDING[file])
    else
      it("scripts/lunshare/" .. file .. " writes no kernel number", function()
        local found = scan(lex.read(SCRIPTS .. "/" .. file))
        assert.same({}, found, file .. ":\n" .. table.concat(found, "\n"))
      end)
    end
  end
end)
