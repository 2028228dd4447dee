-- `lunshare show PROFILE [--json] [--set K=V]…`: what a person needs before running a
-- recipe: where it was found (and what it shadows), its extends chain, its parameters with
-- descriptions and defaults, its checks, its grants (the normalized summary `diff`
-- compares, lunshare.grants), what each value of a boolean or `values` parameter adds to
-- them (as install shows it, lunshare.installed) and check's warnings. Loading only
-- builds data, so a stranger's profile is safe to show. A required parameter without a
-- value stands as "/<name>". An installed recipe is shown only as install wrote it.
local checks = require "lunshare.checks"
local profiles_cmd = require "lunshare.cmd.profiles"
local command = require "lunshare.command"
local evaluator = require "lunshare.evaluator"
local grants = require "lunshare.grants"
local installed = require "lunshare.installed"
local json = require "lunshare.json"
local profile = require "lunshare.profile"
local schema = require "lunshare.schema"
local util = require "lunshare.util"

local EXIT_USAGE = command.EXIT_USAGE

local M = {}

local function quoted(v)
  if type(v) == "string" then return (string.format("%q", v):gsub("\\\n", "\\n")) end
  return tostring(v)
end

-- One line for what a check tries.
function M.check_text(e)
  for _, k in ipairs(checks.PROBES) do
    if e[k] ~= nil then return k:gsub("_", " ") .. " " .. tostring(e[k]) end
  end
  local parts = { e.run and ("runs " .. util.shell_join(e.run)) or "runs the command" }
  if e.fails then parts[#parts + 1] = "fails" end
  if e.exit ~= nil then parts[#parts + 1] = "exits " .. tostring(e.exit) end
  for _, k in ipairs({ "prints", "stderr" }) do
    local w = e[k]
    if w ~= nil then
      parts[#parts + 1] = (k == "prints" and "prints " or "says on stderr ") ..
        (type(w) == "table" and ("/" .. tostring(w.pattern) .. "/") or quoted(w))
    end
  end
  if e.killed_by then parts[#parts + 1] = "is killed by its " .. tostring(e.killed_by) .. " limit" end
  if #parts == 1 then parts[#parts + 1] = "succeeds" end
  return table.concat(parts, ", ")
end

-- Whether a check tries isolation (a probe) rather than the program's function.
function M.is_isolation(e)
  for _, k in ipairs(checks.PROBES) do
    if e[k] ~= nil then return true end
  end
  return e.fails == true or e.killed_by ~= nil
end

-- The facts of a loaded profile p found as name: a table of plain data.
function M.facts(name, p, set)
  local ctx = grants.context()
  local info = { name = name, file = p._file, description = p.description, chain = {} }
  for n, e in pairs(profile.shipped()) do
    if e.path == p._file then info.builtin = profile.BUILTIN .. n end
  end
  for i, f in ipairs(p._chain or {}) do info.chain[i] = f end
  -- What a plain name would be found as, and what it shadows.
  if not name:find("/") and not name:match("%.lua$") then
    local base = name:sub(1, #profile.BUILTIN) == profile.BUILTIN and name:sub(#profile.BUILTIN + 1) or name
    info.shadows = {}
    for _, e in ipairs(profiles_cmd.list()) do
      if e.name == base and e.where ~= p._file and e.path ~= p._file and e.shadowed_by then
        info.shadows[#info.shadows + 1] = e.where
      end
    end
  end
  info.params = {}
  local decls = p._param_decls or {}
  for _, k in ipairs(util.sorted_keys(decls)) do
    local d = decls[k].decl
    info.params[#info.params + 1] = { name = k, type = d.type, values = d.values, default = d.default,
      description = d.description, value = set and set[k] ~= nil and p._params[k] or nil, origin = decls[k].file ..
        (decls[k].line and (":" .. decls[k].line) or ""), required = d.default == nil }
  end
  info.checks = {}
  for _, e in ipairs(p.checks or {}) do
    info.checks[#info.checks + 1] = { name = e[1], what = M.check_text(e),
      kind = M.is_isolation(e) and "isolation" or "function" }
  end
  info.grants = {}
  local lines = grants.lines(grants.summary(p, ctx))
  for _, c in ipairs(grants.CATEGORIES) do
    if lines[c[2]] then info.grants[#info.grants + 1] = { category = c[2], items = lines[c[2]] } end
  end
  -- What each value of a boolean or `values` parameter adds, as install shows it.
  local shown = installed.shown(p, function(s)
    local all = {}
    for k, v in pairs(set or {}) do all[k] = v end
    for k, v in pairs(s) do all[k] = v end
    return profile.load(name, { set = all, placeholders = true })
  end)
  info.broken_values = {}
  for _, x in ipairs(shown.broken) do
    info.broken_values[#info.broken_values + 1] = { param = x.k, value = x.v, error = x.msg }
  end
  info.values = {}
  for _, x in ipairs(shown.extras) do
    local by, order = {}, {}
    for _, it in ipairs(x.items) do
      if not by[it.category] then by[it.category], order[#order + 1] = {}, it.category end
      table.insert(by[it.category], it.item)
    end
    local g = {}
    for _, c in ipairs(order) do g[#g + 1] = { category = c, items = by[c] } end
    info.values[#info.values + 1] = { param = x.k, value = x.v, grants = g }
  end
  info.warnings = {}
  for _, w in ipairs(p._warnings or {}) do info.warnings[#info.warnings + 1] = schema.format_error(w) end
  for _, w in ipairs(grants.warnings(p, ctx)) do info.warnings[#info.warnings + 1] = schema.format_error(w) end
  return info
end

function M.text(info)
  local esc = util.escape
  local out = { esc(info.name) .. ": " .. esc(info.description or "(no description)") }
  out[#out + 1] = "found: " .. (info.builtin and (esc(info.builtin) .. ", shipped as ") or "") .. esc(info.file)
  for _, s in ipairs(info.shadows or {}) do out[#out + 1] = "  shadows " .. esc(s) end
  if #info.chain > 1 then
    local c = {}
    for i, f in ipairs(info.chain) do c[i] = esc(f) end
    out[#out + 1] = "extends: " .. table.concat(c, " -> ", 2)
  end
  out[#out + 1] = "parameters:" .. (#info.params == 0 and " none" or "")
  for _, d in ipairs(info.params) do
    local how = {}
    if d.type then how[#how + 1] = d.type end
    if d.values then
      local vs = {}
      for i, v in ipairs(d.values) do vs[i] = tostring(v) end
      how[#how + 1] = "one of " .. table.concat(vs, " ")
    end
    how[#how + 1] = d.required and "required" or ("default " .. quoted(d.default))
    out[#out + 1] = "  " .. esc(d.name) .. " (" .. esc(table.concat(how, ", ")) .. ")" ..
      (d.value ~= nil and d.value ~= d.default and ("  now " .. esc(quoted(d.value))) or "")
    out[#out + 1] = "      " .. esc(d.description or "(no description)")
  end
  out[#out + 1] = "checks:" .. (#info.checks == 0 and " none" or "") ..
    (#info.checks > 0 and ("  (lunshare test " .. esc(info.name) .. ")") or "")
  for _, c in ipairs(info.checks) do
    out[#out + 1] = string.format("  %-9s %s: %s", c.kind, esc(c.name), esc(c.what))
  end
  out[#out + 1] = "grants:"
  for _, g in ipairs(info.grants) do
    out[#out + 1] = "  " .. esc(g.category) .. ":"
    for _, item in ipairs(g.items) do out[#out + 1] = "    " .. esc(item) end
  end
  for _, v in ipairs(info.values or {}) do
    out[#out + 1] = "with --set " .. esc(v.param) .. "=" .. esc(tostring(v.value)) .. " it also grants:"
    for _, g in ipairs(v.grants) do
      out[#out + 1] = "  " .. esc(g.category) .. ":"
      for _, item in ipairs(g.items) do out[#out + 1] = "    " .. esc(item) end
    end
  end
  for _, v in ipairs(info.broken_values or {}) do
    out[#out + 1] = "with --set " .. esc(v.param) .. "=" .. esc(tostring(v.value)) .. " it does not load: " .. esc(v.error)
  end
  out[#out + 1] = "warnings:" .. (#info.warnings == 0 and " none" or "")
  for _, w in ipairs(info.warnings) do out[#out + 1] = "  " .. esc(w) end
  return table.concat(out, "\n") .. "\n"
end

function M.main(args)
  local o = command.options("show", args)
  if o.help then return command.help_for("show") end
  local set, as_json = o.set, o.json
  if #o.positional > 1 or o.dashdash then command.usage_error("show: one profile at a time") end
  local name = o.positional[1]
  if not name then command.usage_error("show: expected a profile") end
  local ok, res = evaluator.bounded(name, function()
    local p, errs = profile.load(name, { set = set, placeholders = true })
    if not p then
      local lines = {}
      for _, e in ipairs(errs) do lines[#lines + 1] = schema.format_error(e) end
      return { errors = lines }
    end
    -- An installed recipe is shown as what install wrote, or not at all (as run refuses).
    local refused = installed.refusal(p)
    if refused then return { refused = refused } end
    local info = M.facts(name, p, set)
    return { out = as_json and (json.encode(info, true) .. "\n") or M.text(info) }
  end)
  if not ok then command.fail(EXIT_USAGE, name .. ": " .. res) end
  if res.errors then command.fail(EXIT_USAGE, res.errors) end
  if res.refused then command.fail(command.EXIT_RUNTIME, "show: " .. res.refused) end
  io.stdout:write(res.out)
  return 0
end

return M
