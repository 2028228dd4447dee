-- lunshare explain PROFILE [--json] [--set K=V]... [-- CMD ARGS...]: prints the plan run
-- would execute, step by step (lunshare.explain), or as JSON the very table run hands to
-- the executor. The plan is checked as the executor checks it, so explain refuses what
-- run would.
local command = require "lunshare.command"
local explain = require "lunshare.explain"
local json = require "lunshare.json"
local planner = require "lunshare.plan"
local warnings = require "lunshare.warnings"

local M = {}

function M.main(args)
  local name, as_json
  local argv, set = {}, {}
  local i = 1
  while i <= #args do
    local a = args[i]
    if a == "--json" then
      as_json = true
      i = i + 1
    elseif command.is_set(a) then
      i = command.parse_set(args, i, set, "explain")
    elseif a == "--" then
      for j = i + 1, #args do argv[#argv + 1] = args[j] end
      break
    elseif a:sub(1, 1) == "-" then command.usage_error("explain: unknown option '" .. a .. "'")
    elseif name then command.usage_error("explain: one profile at a time")
    else
      name = a
      i = i + 1
    end
  end
  if not name then command.usage_error("explain: expected a profile") end
  local text = command.bounded(name, function()
    local p = command.load_profile(name, set)
    -- What check would warn about, including fields run cannot apply yet, so a plan is
    -- never read without its caveats.
    warnings.print(p)
    local plan, err = planner.build(p, planner.context(argv))
    if not plan then command.fail(command.EXIT_USAGE, p._file .. ": " .. err) end
    return as_json and (json.encode(plan, true) .. "\n") or explain.text(plan, p)
  end)
  io.stdout:write(text)
  return 0
end

return M
