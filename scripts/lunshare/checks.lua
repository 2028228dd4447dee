-- Profile area: `checks`, a recipe's own tests. Each check is plain data, a name and what
-- must happen, and `lunshare test` (scripts/lunshare/cmd/test.lua) runs them on this
-- machine. Two kinds:
--
--   a command and its outcome (the profile's `command` when `run` is not given):
--     { "reads JSON", run = { "jq", ".a", "/in/data.json" }, prints = "1" }
--       succeeds = true (the default)   fails = true   exit = N
--       prints = "text" | { pattern = "lua pattern" }      on stdout
--       stderr = "text" | { pattern = "…" }               on stderr
--       killed_by = "memory" | "cpu" | "fsize"             a limit of the profile ended it
--       stdin = "text"                                      what the command reads
--   an isolation property, tried from inside by lunshare-probe:
--     { "home is hidden", cannot_read = "~" }             a path ("~": the caller's $HOME)
--     { "no network", cannot_reach = "127.0.0.1" }        "HOST" (a listener lunshare test
--                                                          opens on the host) or "HOST:PORT"
--     { "writes only /out", cannot_write_outside = "/out" }
--
-- Any check may take `set = { param = value }` (a value, or a scratch file or directory
-- that lunshare test makes: { file = "text" }, { base64 = "…" }, { dir = { name = "text",
-- sub = { … } } }, files with mode = "0755") and `timeout = "30s"` (60 s by default). A
-- parameter a check does not set takes its declaration's `test` value, else its default.
-- Under `extends`, checks add to the parent's; `without "name"` drops an inherited one.
local util = require "lunshare.util"

local M = {}

M.FIELDS = { "checks" }
M.MERGE = { checks = "list" }
M.MERGE_KEY = { checks = function(e) return type(e) == "table" and e[1] or nil end }

M.KEYS = { "run", "set", "stdin", "timeout", "succeeds", "fails", "exit", "prints", "stderr", "killed_by",
  "cannot_read", "cannot_reach", "cannot_write_outside" }
M.PROBES = { "cannot_read", "cannot_reach", "cannot_write_outside" }
M.OUTCOMES = { "succeeds", "fails", "exit", "prints", "stderr", "killed_by" }
-- The limits whose end of a command is a kill, and how it shows: SIGXCPU at the soft cpu
-- limit (SIGKILL at the hard one), SIGXFSZ past fsize, the cgroup's OOM kill.
M.KILLS = { memory = "limits.memory", cpu = "limits.cpu", fsize = "limits.fsize" }
M.DEFAULT_TIMEOUT = 60
M.MAX_TIMEOUT = 600
-- A scratch tree a check makes: entries and bytes in all.
M.MAX_SCRATCH_ENTRIES = 1000
M.MAX_SCRATCH_BYTES = 1 << 20

-- Seconds of "30s", "2m", "1m30s" or an integer.
function M.seconds(v)
  if math.type(v) == "integer" then return v end
  if type(v) ~= "string" or v == "" then return nil end
  local total, rest = 0, v
  while rest ~= "" do
    local n, unit, tail = rest:match("^(%d+)([smh]?)(.*)$")
    if not n then return nil end
    total = total + tonumber(n) * ((unit == "m" and 60) or (unit == "h" and 3600) or 1)
    rest = tail
  end
  return total
end

-- "HOST" or "HOST:PORT" ("[::1]:80" for IPv6): host, port (nil for none), or nil and why.
function M.parse_target(t)
  if type(t) ~= "string" then return nil, "expected \"HOST\" or \"HOST:PORT\", got " .. type(t) end
  local host, port = t:match("^%[([%x:%.]+)%]:(%d+)$")
  if not host then host, port = t:match("^([%d%.]+):(%d+)$") end
  if not host then host = t:match("^([%d%.]+)$") or t:match("^%[?([%x:%.]*:[%x:%.]*)%]?$") end
  if not host then
    return nil, "expected a numeric address, \"HOST\" or \"HOST:PORT\" (\"127.0.0.1\", \"10.0.0.1:80\", " ..
      "\"[::1]:80\"), got '" .. t .. "'"
  end
  if port and (tonumber(port) < 1 or tonumber(port) > 65535) then return nil, "port " .. port .. " is not from 1 to 65535" end
  return host, port and tonumber(port)
end

local LOOPBACK = { ["127.0.0.1"] = true, ["::1"] = true }
M.LOOPBACK = LOOPBACK

-- The kind of a scratch spec ("file", "base64", "dir"), or nil when v is not one.
function M.scratch_kind(v)
  if type(v) ~= "table" then return nil end
  if v.file ~= nil then return "file" end
  if v.base64 ~= nil then return "base64" end
  if v.dir ~= nil then return "dir" end
  return nil
end

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local B64_VALUE = {}
for i = 1, #B64 do B64_VALUE[B64:byte(i)] = i - 1 end

-- The bytes of base64 text (whitespace ignored), or nil.
function M.base64_decode(s)
  s = s:gsub("%s", "")
  if #s % 4 ~= 0 or s:find("[^%w%+/=]") or s:find("=[^=]") then return nil end
  local out = {}
  for i = 1, #s, 4 do
    local a, b, c, d = s:byte(i, i + 3)
    local va, vb = B64_VALUE[a], B64_VALUE[b]
    if not va or not vb then return nil end
    local vc, vd = B64_VALUE[c] or 0, B64_VALUE[d] or 0
    local n = va << 18 | vb << 12 | vc << 6 | vd
    out[#out + 1] = string.char(n >> 16 & 255)
    if c ~= 61 then out[#out + 1] = string.char(n >> 8 & 255) end
    if d ~= 61 then out[#out + 1] = string.char(n & 255) end
  end
  return table.concat(out)
end

local function check_mode(c, v, path)
  if type(v) ~= "string" or not v:match("^0?[0-7][0-7][0-7]$") then
    c:fail(path, "expected an octal mode string like \"0644\" or \"0755\"")
  end
end

-- Checks a scratch spec at path; counts its entries and bytes in budget.
local function check_scratch(c, v, path, budget)
  local kind = M.scratch_kind(v)
  if kind == "file" or kind == "base64" then
    c:keys(v, path, { kind, "mode" })
    if c:type(v[kind], path .. "." .. kind, "string") then
      budget.bytes = budget.bytes + #v[kind]
      if kind == "base64" and not M.base64_decode(v.base64) then c:fail(path .. ".base64", "not valid base64") end
    end
    if v.mode ~= nil then check_mode(c, v.mode, path .. ".mode") end
  elseif kind == "dir" then
    c:keys(v, path, { "dir" })
    local function walk(t, p)
      if not c:type(t, p, "table") then return end
      for _, k in ipairs(util.sorted_keys(t)) do
        local e, ep = t[k], p .. "[" .. string.format("%q", tostring(k)) .. "]"
        budget.entries = budget.entries + 1
        if type(k) ~= "string" or k == "" or k == "." or k == ".." or k:find("/") or k:find("%z") or #k > 200 then
          c:fail(p, "a scratch directory's names are single path components (no '/', not '.' or '..'), got '" ..
            tostring(k) .. "'")
        elseif type(e) == "string" then
          budget.bytes = budget.bytes + #e
        elseif type(e) == "table" and M.scratch_kind(e) and M.scratch_kind(e) ~= "dir" then
          check_scratch(c, e, ep, budget)
        elseif type(e) == "table" then
          walk(e, ep)
        else
          c:fail(ep, "expected a file's text, { file = …, mode = … } or a subdirectory's table, got " .. type(e))
        end
      end
    end
    walk(v.dir, path .. ".dir")
  else
    c:fail(path, "expected a value or a scratch file or directory ({ file = \"…\" }, { base64 = \"…\" }, " ..
      "{ dir = { … } })")
  end
end
M.check_scratch = check_scratch

local function check_text(c, v, path)
  if type(v) == "string" then return end
  if type(v) == "table" then
    c:keys(v, path, { "pattern" })
    if c:type(v.pattern, path .. ".pattern", "string") then
      local ok, err = pcall(string.find, "", v.pattern)
      if not ok then c:fail(path .. ".pattern", "not a valid Lua pattern: " .. tostring(err):gsub("^.-: ", "")) end
    end
    return
  end
  c:fail(path, "expected the text to find, or { pattern = \"…\" }, got " .. type(v))
end

-- A parameter value a check (or a declaration's `test`) gives: a plain value of the
-- declared type, or a scratch spec (for a string parameter).
local function check_value(c, v, path, decl, budget)
  local ty = decl and decl.type or (decl and decl.default ~= nil and
    (math.type(decl.default) == "integer" and "integer" or type(decl.default))) or "string"
  if type(v) == "table" then
    if ty ~= "string" then c:fail(path, "a scratch file or directory is a path: only for a string parameter") end
    return check_scratch(c, v, path, budget)
  end
  local ok = (ty == "string" and type(v) == "string") or (ty == "integer" and math.type(v) == "integer") or
    (ty == "number" and type(v) == "number") or (ty == "boolean" and type(v) == "boolean")
  if not ok then c:fail(path, "expected a " .. ty .. " for this parameter, or a scratch file or directory, got " .. type(v)) end
  if ok and decl and type(decl.values) == "table" and not util.contains(decl.values, v) then
    c:fail(path, "'" .. tostring(v) .. "' is not one of the parameter's values")
  end
end

local function check_one(c, e, path, p, decls, names, budget)
  if not c:type(e, path, "table") then return end
  local allowed = { 1 }
  for _, k in ipairs(M.KEYS) do allowed[#allowed + 1] = k end
  c:keys(e, path, allowed)
  local name = e[1]
  if type(name) ~= "string" or name == "" or name:find("[%c]") or #name > 80 then
    c:fail(path .. "[1]", "expected the check's name first, a line of text: { \"works\", run = { … }, … }")
  elseif names[name] then
    c:fail(path .. "[1]", "two checks named '" .. name .. "'")
  else
    names[name] = true
  end
  local probes = {}
  for _, k in ipairs(M.PROBES) do if e[k] ~= nil then probes[#probes + 1] = k end end
  local outcomes = {}
  for _, k in ipairs(M.OUTCOMES) do if e[k] ~= nil then outcomes[#outcomes + 1] = k end end
  if #probes > 1 then
    c:fail(path .. "." .. probes[2], "a check tries one thing: " .. probes[1] .. " or " .. probes[2] .. ", not both")
  end
  if #probes > 0 and (#outcomes > 0 or e.run ~= nil or e.stdin ~= nil) then
    c:fail(path .. "." .. probes[1], probes[1] .. " is tried by lunshare's probe: it takes no run, stdin or " ..
      "outcome (" .. (outcomes[1] or (e.run ~= nil and "run") or "stdin") .. ")")
  end
  if #probes == 0 and e.run == nil and type(p.command) ~= "table" then
    c:fail(path, "expected run = { … } (the profile has no command to run), or one of " .. table.concat(M.PROBES, ", "))
  end
  if e.run ~= nil then
    c:string_list(e.run, path .. ".run")
    if type(e.run) == "table" and #e.run == 0 then c:fail(path .. ".run", "expected a command, a non-empty list") end
  end
  if e.stdin ~= nil then c:type(e.stdin, path .. ".stdin", "string") end
  for _, k in ipairs({ "succeeds", "fails" }) do
    if e[k] ~= nil and e[k] ~= true then c:fail(path .. "." .. k, "expected true (or leave it out)") end
  end
  local how = (e.succeeds and 1 or 0) + (e.fails and 1 or 0) + (e.exit ~= nil and 1 or 0) + (e.killed_by ~= nil and 1 or 0)
  if how > 1 then c:fail(path, "say one of succeeds, fails, exit and killed_by") end
  if e.exit ~= nil and c:type(e.exit, path .. ".exit", "integer") and (e.exit < 0 or e.exit > 255) then
    c:fail(path .. ".exit", "expected an exit status from 0 to 255")
  end
  if e.prints ~= nil then check_text(c, e.prints, path .. ".prints") end
  if e.stderr ~= nil then check_text(c, e.stderr, path .. ".stderr") end
  if e.killed_by ~= nil then
    local kinds = util.sorted_keys(M.KILLS)
    if type(e.killed_by) ~= "string" or not M.KILLS[e.killed_by] then
      local hint = ""
      if type(e.killed_by) == "string" and e.killed_by:match("^%a+$") then
        hint = " (reaching " .. e.killed_by .. " makes calls fail, it kills nothing: say fails = true)"
      end
      c:fail(path .. ".killed_by", "expected one of " .. table.concat(kinds, ", ") ..
        util.suggest(tostring(e.killed_by), kinds) .. hint)
    else
      local limits = type(p.limits) == "table" and p.limits or {}
      if limits[e.killed_by] == nil and limits["RLIMIT_" .. e.killed_by:upper()] == nil then
        c:fail(path .. ".killed_by", "killed by " .. e.killed_by .. ", but the profile sets no " .. M.KILLS[e.killed_by])
      end
    end
  end
  if e.cannot_read ~= nil and c:type(e.cannot_read, path .. ".cannot_read", "string") then
    local v = e.cannot_read
    if not (v == "~" or v:sub(1, 2) == "~/" or v:sub(1, 1) == "/") or v:find("%z") then
      c:fail(path .. ".cannot_read", "expected an absolute path, or ~ (the caller's $HOME) and what is below it, got '" .. v .. "'")
    end
  end
  if e.cannot_reach ~= nil then
    local ok, why = M.parse_target(e.cannot_reach)
    if not ok then c:fail(path .. ".cannot_reach", why)
    elseif type(why) ~= "number" and not LOOPBACK[ok] then
      c:fail(path .. ".cannot_reach", "without a port, the address is the host's loopback (127.0.0.1 or ::1), where " ..
        "lunshare test listens; give HOST:PORT for " .. ok)
    end
  end
  if e.cannot_write_outside ~= nil and c:type(e.cannot_write_outside, path .. ".cannot_write_outside", "string") then
    if e.cannot_write_outside:sub(1, 1) ~= "/" then
      c:fail(path .. ".cannot_write_outside", "expected an absolute path inside the sandbox")
    end
  end
  if e.timeout ~= nil then
    local s = M.seconds(e.timeout)
    if not s or s < 1 or s > M.MAX_TIMEOUT then
      c:fail(path .. ".timeout", "expected a duration from 1s to " .. M.MAX_TIMEOUT .. "s (\"30s\", \"2m\")")
    end
  end
  if e.set ~= nil and c:type(e.set, path .. ".set", "table") then
    local declared = util.sorted_keys(decls)
    for _, k in ipairs(util.sorted_keys(e.set)) do
      local sp = path .. ".set." .. tostring(k)
      if not decls[k] then
        c:fail(sp, "unknown parameter '" .. tostring(k) .. "'" .. util.suggest(tostring(k), declared) ..
          (#declared > 0 and ("; this profile takes " .. table.concat(declared, ", ")) or "; this profile takes no parameters"))
      else
        check_value(c, e.set[k], sp, decls[k].decl, budget)
      end
    end
  end
end

function M.check(c, p, a)
  local decls = a.params
  local budget = { entries = 0, bytes = 0 }
  -- A declaration's test value is checked here, where the scratch rules are.
  for _, k in ipairs(util.sorted_keys(decls)) do
    local d = decls[k]
    if type(d.decl) == "table" and d.decl.test ~= nil then
      -- Its errors name the declaration's line, which the profile's origins do not hold.
      local at = setmetatable({ where = function() return d.file, d.line end }, { __index = c })
      check_value(at, d.decl.test, "params." .. k .. ".test", d.decl, budget)
    end
  end
  if p.checks == nil then return end
  if not c:list(p.checks, "checks", "checks") then return end
  local names = {}
  for i, e in ipairs(p.checks) do check_one(c, e, "checks[" .. i .. "]", p, decls, names, budget) end
  if budget.entries > M.MAX_SCRATCH_ENTRIES then
    c:fail("checks", "the scratch files of all checks hold more than " .. M.MAX_SCRATCH_ENTRIES .. " entries")
  end
  if budget.bytes > M.MAX_SCRATCH_BYTES then
    c:fail("checks", "the scratch files of all checks hold more than 1 MiB")
  end
end

function M.plan() return true end
function M.grants() return {} end

return M
