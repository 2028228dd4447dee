-- require "lunshare": the API the REPL and Lua programs use, the same primitives and the
-- same planner that profiles go through.
-- The parts load when first used (deliberate lazy loading, for start-up speed): a program
-- that plans needs the planner, not the REPL's network objects, and every module loaded
-- is paid for at each start. This, and the CLI's dispatch, are the only requires below a
-- file's header (tests/spec/requires_spec.lua).
-- ip: the network as live objects (lunshare.ip); net is its former name, kept so that
-- programs written for it go on working.
local PARTS = {
  core = "lunshare.core", profile = "lunshare.profile", schema = "lunshare.schema",
  planner = "lunshare.plan", ip = "lunshare.ip", net = "lunshare.ip", topology = "lunshare.topology",
  grants = "lunshare.grants", explain = "lunshare.explain", evaluator = "lunshare.evaluator",
}
local M = setmetatable({}, {
  __index = function(t, k)
    local name = PARTS[k]
    if not name then return nil end
    local v = require(name)
    rawset(t, k, v)
    return v
  end,
})

M.version = M.core.version

-- Loads a profile by name or path, or a table as a file would return it (`extends` and
-- all): the profile, or nil and a list of error strings. opts.set: parameter values
-- ({ home = "rw" }), as `--set home=rw` gives them; opts.file: what errors call a table.
function M.load(name, opts)
  local t = type(name)
  if t ~= "string" and t ~= "table" then
    error("bad argument #1 to 'load' (expected a profile name, a path or a table, got " .. t .. ")", 2)
  end
  local p, file_or_errors = M.profile.load(name, opts)
  if not p then
    local out = {}
    for i, e in ipairs(file_or_errors) do out[i] = M.schema.format_error(e) end
    return nil, out
  end
  return p, file_or_errors
end

-- Every profile, whether a name, a path or a table (one typed in the REPL, or one that
-- load() returned and the caller changed since), goes through the loader and the schema.
local function loaded(profile, opts, fn)
  local t = type(profile)
  if t ~= "string" and t ~= "table" then
    error("bad argument #1 to '" .. fn .. "' (expected a profile name, a path or a table, got " .. t .. ")", 3)
  end
  local p, errs = M.load(profile, opts)
  if not p then return nil, table.concat(errs, "\n") end
  return p
end

-- The plan `run` would execute for a profile (a name, a path or a table).
-- Planning works on the profile's data, so it is bounded as loading is.
function M.plan(profile, argv, opts)
  local err
  profile, err = loaded(profile, opts, "plan")
  if not profile then return nil, err end
  local res = table.pack(M.evaluator.bounded(profile._file or "profile",
    M.planner.build, profile, M.planner.context(argv)))
  if not res[1] then return nil, (profile._file or "profile") .. ": " .. res[2] end
  return table.unpack(res, 2, res.n)
end

-- Runs a profile: the command's exit status, or nil and a message. As `lunshare run`,
-- it refuses a field this version checks but cannot apply.
function M.run(profile, argv, opts)
  local p, err = loaded(profile, opts, "run")
  if not p then return nil, err end
  local unbuilt = M.schema.unbuilt(p)
  if unbuilt then return nil, unbuilt end
  local plan
  plan, err = M.plan(p, argv)
  if not plan then return nil, err end
  local code, msg = M.core.spawn(plan)
  if not code then return nil, msg end
  return code
end

return M
