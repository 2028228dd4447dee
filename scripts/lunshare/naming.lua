-- The naming area: a profile's `name` (or `run --name NAME`, over it) makes the sandbox
-- a named one, which its supervisor records while it runs (the record step,
-- core/record_ops.c) so that `lunshare ps`, `stop` and `enter` find it
-- (lunshare.sandboxes).
local json = require "lunshare.json"
local sandboxes = require "lunshare.sandboxes"

local M = {}

M.FIELDS = { "name" }

function M.check(c, p)
  if p.name == nil then return end
  if not c:type(p.name, "name", "string") then return end
  local why = sandboxes.check_name(p.name)
  if why then c:fail("name", why) end
end

-- The name of the run: the command line's, else the profile's, else none.
local function run_name(p, a)
  local caller = a.caller or {}
  if caller.name ~= nil then return caller.name, "command line" end
  if type(p.name) == "string" then return p.name, a.origin("name") end
end

function M.plan(p, add, a)
  local name, origin = run_name(p, a)
  if not name then return true end
  local root, path = sandboxes.location()
  -- Last of the supervisor's steps after the clone: the record names the objects they
  -- made, and what fails before it leaves no record to remove.
  add("host", { op = "record", name = name, state_root = root, state_path = path, data = "{}", origin = origin })
  return true
end

-- The child steps that make the command's confinement, which `enter` replays in order
-- for a process it joins to the sandbox: ids, session, keyring, limits, working
-- directory, capabilities, no_new_privs, seccomp.
M.ENTER_OPS = { set_ids = true, setsid = true, session_keyring = true, rlimit = true, chdir = true, caps = true,
  no_new_privs = true, seccomp = true }

local function copy_step(s)
  local t = {}
  for k, v in pairs(s) do
    if k ~= "where" and k ~= "origin" then t[k] = v end
  end
  return t
end

-- What enter replays of a plan's command (the record's enter field): the confinement
-- steps in order, the environment, whether pid 1 reaps, whether it has a cgroup.
function M.enter_of(plan)
  local e = { steps = {}, env = {}, reaper = false, cgroup = false }
  for _, s in ipairs(plan.steps) do
    if s.op == "cgroup" then
      e.cgroup = true
    elseif s.op == "exec" then
      e.env, e.reaper = s.env, s.reaper == true
    elseif M.ENTER_OPS[s.op] then
      e.steps[#e.steps + 1] = copy_step(s)
    end
  end
  return e
end

-- With the plan laid out: the record's data, from the plan's own steps.
function M.finish(plan, p, a)
  local rec
  for _, s in ipairs(plan.steps) do if s.op == "record" then rec = s end end
  if not rec then return end
  local d = { name = rec.name, profile = (a.caller or {}).profile or p._name or plan.profile or "?",
    file = plan.profile or "?", started = os.time(), namespaces = {}, links = {}, addresses = {},
    enter = M.enter_of(plan) }
  for _, s in ipairs(plan.steps) do
    if s.op == "clone" then
      for _, n in ipairs(s.namespaces) do d.namespaces[#d.namespaces + 1] = n end
    elseif s.op == "timens" then
      -- Entered by the child after the clone (its offsets written first), not cloned.
      d.namespaces[#d.namespaces + 1] = "time"
    elseif s.op == "netns_join" then
      -- Born in a netns it joined (network = { join = … }): which, for ps.
      d.net_joined = s.topology and (s.topology .. "/" .. s.name) or s.name
    elseif s.op == "veth" then
      d.links[#d.links + 1] = s.name
      if s.addresses and #s.addresses > 0 then d.addresses[s.name] = s.addresses end
    end
  end
  rec.data = json.encode(d)
end

function M.grants() return {} end

return M
