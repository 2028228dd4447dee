-- The applier: performs a topology plan (lunshare.topology.plan) step by step through the
-- op table (lunshare.topology.ops) and the netlink layer (lunshare.rtnetlink), and keeps
-- the journal (lunshare.topology.journal) as it goes: an object is recorded before it is
-- made, so that an `up` killed at any point leaves a journal `down` can clean (down finds
-- what is missing gone already), and a refused creation is unrecorded at once, as the name
-- may belong to someone else. An `up` that fails removes what it made itself and puts the
-- journal back as earlier runs left it. `status` compares the same steps with the kernel.
local rtnl = require "lunshare.rtnetlink"
local ops = require "lunshare.topology.ops"
local journal = require "lunshare.topology.journal"
local holder = require "lunshare.topology.holder"
local planner = require "lunshare.topology.plan"
local state = require "lunshare.state"

local M = {}

-- Every step is checked before any is performed. The plan decides what is made, never
-- where lunshare's own files are: the state and pins' directories come from the caller's
-- ids (lunshare.state), whatever a plan's paths say (they are for reading).
function M.validate(plan, verb)
  if type(plan) ~= "table" or type(plan.steps) ~= "table" or type(plan.name) ~= "string" then
    return nil, "a topology plan is { verb =, name =, steps = { … } }"
  end
  if plan.verb ~= verb then return nil, "a plan of net " .. tostring(plan.verb) .. " is not one of net " .. verb end
  if plan.name == "" or plan.name:find("[/%c]") or plan.name == "." or plan.name == ".." then
    return nil, "a plan's name is a file name"
  end
  for i, s in ipairs(plan.steps) do
    local ok, why = ops.check_step(s)
    if not ok then return nil, "step " .. i .. ": " .. why end
    local holds = s.op == "holder" or s.op == "holder_end"
    if holds and not plan.rootless then return nil, "step " .. i .. ": a plan as root has no holder" end
    if plan.rootless and ((i == 1) ~= (s.op == "holder")) then
      return nil, "step " .. i .. ": a rootless plan enters its holder first, and only then"
    end
  end
  return true
end

-- What the steps of one command share: the plan, the state directory, the view of the
-- kernel, the holder once entered, and the changes and problems so far.
local function context(plan, dir, create_pins)
  local env = { plan = plan, dir = dir, view = rtnl.view(nil), changes = {}, problems = {} }
  local function use_pins(pins)
    env.pins = pins
    env.netns_dir = pins:handle()
    env.view.dir = env.netns_dir
  end
  function env.problem(msg) env.problems[#env.problems + 1] = msg end
  -- The holder step: enter it (cloning one when create is set). Without one to enter, the
  -- rootless topology's namespaces are gone with it: nothing but the pins' files is left,
  -- in this mount namespace.
  function env.enter_holder(create)
    local h, err = holder.enter(dir, plan.name, create)
    if not h then
      if err then rtnl.raise(err) end
      env.view.absent = true
      local pins, perr = state.open("netns", { create = create_pins })
      if not pins and perr then rtnl.raise(perr) end
      if pins then use_pins(pins) end
      return false
    end
    env.holder = h
    use_pins(h.pins)
    return h.made
  end
  function env.end_holder()
    local h = env.holder
    env.holder = nil
    local ok, err = holder.finish(dir, plan.name, h)
    if ok == nil then env.problem(err) end
    return h ~= nil
  end
  function env.close()
    env.view:close()
    if env.pins then env.pins:close() end
    env.pins, env.netns_dir = nil, nil
  end
  return env
end

-- Runs fn; returns nil, or the message of the failure it raised (a bug raises on).
local function protected(fn)
  local ok, err = pcall(fn)
  if ok then return nil end
  local msg = rtnl.failure(err)
  if not msg then error(err, 0) end
  return msg
end

-- Runs the steps of env.plan, noting each change as the command it replaces; returns the
-- index of the step that failed and its message, or nil.
local function perform(env)
  local plan, i = env.plan, 1
  local msg = protected(function()
    while i <= #plan.steps do
      local s = plan.steps[i]
      if ops.OPS[s.op].make(s, env) then env.changes[#env.changes + 1] = ops.text(s, plan) end
      i = i + 1
    end
  end)
  if msg then return i, msg end
  return nil
end

-- The message of a failed step: the file:line of its topology entry first.
local function failed(plan, i, msg)
  local s = plan.steps[i]
  return (s and s.origin and (s.origin .. ": ") or "") .. msg
end

local function same_list(a, b)
  if a == nil or #a ~= #b then return false end
  for i = 1, #b do if a[i] ~= b[i] then return false end end
  return true
end

-- Performs a plan of up with the state directory dir. Returns the list of changes made (as
-- the commands they replace; empty when none), or nil and a message naming the step that
-- failed and its file:line.
function M.up(plan, dir)
  local ok, why = M.validate(plan, "up")
  if not ok then return nil, why end
  local st, serr = journal.read(dir, plan.name)
  if serr then return nil, serr end
  st = st or journal.empty()
  local before = { hosts = #st.hosts, switches = #st.switches, links = #st.links, uses = st.uses }
  local env = context(plan, dir, true)
  local function append(entry)
    local aok, aerr = journal.append(dir, plan.name, entry)
    if not aok then rtnl.raise(aerr) end
  end
  function env.record(kind, x)
    st[kind][#st[kind] + 1] = x
    append({ add = kind, x = x })
  end
  function env.unrecord(kind)
    st[kind][#st[kind]] = nil
    append({ drop = kind })
  end
  -- The file's hosts, for net list: written when they changed since the last up.
  local hosts = planner.hosts(plan)
  local at, msg
  if not same_list(st.uses, hosts) then
    msg = protected(function() append({ hosts = hosts }) end)
    if msg then at = 0 else st.uses = hosts end
  end
  if not at then at, msg = perform(env) end
  if at then
    -- What this run made goes, in reverse; the journal goes back to what earlier runs
    -- recorded (rewritten whole: the appends of this run are in it).
    local mine, kept = journal.empty(), journal.empty()
    for _, kind in ipairs(journal.KINDS) do
      for i, x in ipairs(st[kind]) do
        local into = i > before[kind] and mine or kept
        into[kind][#into[kind] + 1] = x
      end
    end
    kept.uses = before.uses
    env.view:close()
    env.view = rtnl.view(env.netns_dir)
    for _, s in ipairs(planner.removals(mine)) do ops.OPS[s.op].make(s, env) end
    local wok, werr = journal.rewrite(dir, plan.name, kept)
    if env.holder and env.holder.made then env.end_holder() end
    env.close()
    return nil, failed(plan, at, msg) .. (wok == nil and ("; " .. werr) or "")
  end
  env.close()
  return env.changes
end

-- Performs a plan of down with the state directory dir (nil: nothing was ever up). Returns
-- the list of removals (empty when nothing was up), or nil and the problems, one a line
-- (the journal then stays, for another down).
function M.down(plan, dir)
  local ok, why = M.validate(plan, "down")
  if not ok then return nil, why end
  if not dir or #plan.steps == 0 then return {} end
  local env = context(plan, dir, true)
  local at, msg = perform(env)
  if at then
    -- Only the holder step raises (a removal notes its problem and goes on).
    env.close()
    return nil, failed(plan, at, msg)
  end
  env.close()
  if #env.problems > 0 then return nil, table.concat(env.problems, "\n") end
  local rok, rerr = journal.remove(dir, plan.name)
  if rok == nil then return nil, rerr end
  return env.changes
end

-- Compares a plan of up with the kernel: a list of { what =, state = "ok"|"missing"|
-- "differs", detail = } rows, one per object (a host, a switch, a link end, a route) in
-- the plan's order. Rootless, the holder is entered, never made: without it nothing of
-- the topology exists. dir: the state directory (nil: there is none).
function M.status(plan, dir)
  local ok, why = M.validate(plan, "up")
  if not ok then return nil, why end
  local env = context(plan, dir, false)
  local rows, by = {}, {}
  local msg = protected(function()
    if plan.rootless then
      if dir then env.enter_holder(false) else env.view.absent = true end
    end
    for _, s in ipairs(plan.steps) do
      local op = ops.OPS[s.op]
      if op.row then
        for _, r in ipairs(op.row(s, env.view)) do
          local row = { what = r[2], state = r[3], detail = r[4] and { r[4] } or {} }
          rows[#rows + 1] = row
          by[r[1]] = row
        end
      elseif op.part then
        local row = by[op.part(s)]
        if row and row.state ~= "missing" then
          local holds, detail = op.holds(s, env.view)
          if not holds then
            row.state = "differs"
            row.detail[#row.detail + 1] = detail
          end
        end
      end
    end
  end)
  env.close()
  if msg then return nil, msg end
  for _, r in ipairs(rows) do r.detail = #r.detail > 0 and table.concat(r.detail, ", ") or nil end
  return rows
end

return M
