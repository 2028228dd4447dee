-- lunshare check [--strict] [--set K=V]... PROFILE...: prints "NAME: ok" on stdout (and its
-- warnings on stderr), or every error on stderr. With --strict a warning is an error too:
-- for recipe CI.
local command = require "lunshare.command"
local evaluator = require "lunshare.evaluator"
local installed = require "lunshare.installed"
local planner = require "lunshare.plan"
local profile = require "lunshare.profile"
local schema = require "lunshare.schema"
local source_map = require "lunshare.source_map"
local util = require "lunshare.util"
local warnings = require "lunshare.warnings"

local M = {}

function M.main(args)
  local o = command.options("check", args)
  if o.help then return command.help_for("check") end
  local set, names, strict = o.set, o.positional, o.strict == true
  for _, a in ipairs(o.argv) do names[#names + 1] = a end
  if #names == 0 then command.usage_error("check: expected at least one profile") end
  local bad = false
  for _, name in ipairs(names) do
    local ok, res = evaluator.bounded(name, function()
      -- A required parameter that declares a test value stands as "/<name>": a recipe
      -- checks without choosing paths for it (run needs them).
      local p, errs = profile.load(name, { set = set, layer = command.layer_of(o), placeholders = "test" })
      local lines = {}
      if not p then
        for _, e in ipairs(errs) do lines[#lines + 1] = schema.format_error(e) end
        return { ok = false, lines = lines }
      end
      -- A field this version checks but cannot apply: refused as run refuses it
      -- (schema.unbuilt, the one message), with its file:line.
      local unbuilt = schema.unbuilt(p)
      if unbuilt then return { ok = false, lines = { util.text(unbuilt) } } end
      -- What run would refuse for this caller that the profile alone decides (an id map
      -- only root may write, what the executor's own checks refuse), refused here first.
      -- What depends on this machine (no /etc/subuid range for the caller) is a warning,
      -- in the words run fails with (exit 1): the profile still checks ok where it runs.
      -- The plan is made with a stand-in range then, so that the rest is checked.
      local ctx = planner.context()
      local subid, missing = ctx.subid, false
      ctx.subid = function(kind)
        local start, count = subid(kind)
        if start then return start, count end
        missing = true
        return planner.ROOT_FALLBACK_RANGE[1], planner.ROOT_FALLBACK_RANGE[2]
      end
      -- A host path a bind or an overlay reads that this machine lacks: run fails here (a
      -- parameter's stand-in "/<name>" is no path of any machine).
      local absent = {}
      ctx.missing = function(field, path)
        if not path:find("^/<[^/]*>") then absent[#absent + 1] = { path = field, host = path } end
      end
      local plan, perr, kind = planner.build(p, ctx)
      local machine = {}
      for _, m in ipairs(absent) do
        local bind = m.path:find("%.src$") ~= nil
        machine[#machine + 1] = { path = m.path, msg = m.host .. " does not exist on this machine, so run fails " ..
          "here" .. (bind and " (bind_try skips a missing source)" or "") }
      end
      -- (A root caller's "self" asks for root's range too, and falls back without one.)
      if missing and type(p.user) == "table" and p.user.map == "subid" then
        machine[#machine + 1] = { path = "user.map", msg = planner.subid_missing(ctx.ids) }
      end
      if not plan and kind == "machine" then
        local o, rest = perr:match("^(.-:%d+): (.*)$")
        machine[#machine + 1] = { origin = o, msg = rest or perr }
        plan, perr = true, nil
      end
      if not plan then
        local field = perr:match("^(user%.map)") or perr:match("^(user%.[%w_]+)") or (perr:find("^user") and "user")
        if field then
          return { ok = false, lines = { util.text(source_map.origin(p, field)) .. ": " .. util.text(perr) } }
        end
        -- As run prints it: an area's error names its entry's origin itself.
        return { ok = false, lines = { util.text(command.plan_error(p, perr)) } }
      end
      local ws = warnings.of(p)
      for _, m in ipairs(machine) do
        local file, line = source_map.split_origin(m.origin or source_map.origin(p, m.path))
        table.insert(ws, { file = file, line = line, path = m.path and source_map.own(p, m.path), msg = m.msg,
          warning = true })
      end
      for _, w in ipairs(ws) do
        if strict then w = { file = w.file, line = w.line, path = w.path, msg = "error (--strict): " .. w.msg } end
        lines[#lines + 1] = schema.format_error(w)
      end
      -- An installed recipe changed since install: check's verdict is about the text, but
      -- run refuses it, so it is said (a warning: an error with --strict).
      local tampered = installed.refusal(p) ~= nil
      if tampered then
        lines[#lines + 1] = util.text(name) .. ": " .. (strict and "error (--strict): " or "warning: ") .. installed.CHANGED
      end
      return { ok = not (strict and (#ws > 0 or tampered)), lines = lines }
    end)
    if not ok then res = { ok = false, lines = { util.text(name) .. ": " .. res } } end
    for _, l in ipairs(res.lines) do io.stderr:write(l, "\n") end
    if res.ok then io.stdout:write(util.text(name), ": ok\n") else bad = true end
  end
  return bad and command.EXIT_USAGE or 0
end

return M
