-- Profile area: the boundary: capabilities, no_new_privs, seccomp, rlimits, cgroups.
-- An area module checks its fields (check), adds its steps to the plan (plan), and may
-- offer constructors to profiles (constructors). Not built yet: `run` refuses its fields.
local M = {}

M.FIELDS = { "capabilities", "limits", "seccomp" }

-- Profile helpers this area offers (names visible inside profiles).
M.constructors = {}

-- c: the schema checker (c:fail(path, msg), c:type(v, path, want), …); p: the profile.
function M.check(c, p)
  local _ = c, p
end

-- add(phase, step) appends a plan step in one of lunshare.plan.PHASES.
function M.plan(profile, add, ctx)
  local _ = profile, add, ctx
  return true
end

return M
