-- `lunshare net COMMAND …`: topology files from the command line. Every string a topology
-- (or a journal) controls is printed through util.escape; errors go through the CLI's
-- fail(code, msg), which prints them as one line each: 2 for usage and topology errors,
-- 1 for a failure of the work itself.
local util = require "lunshare.util"
local topology = require "lunshare.topology"
local json = require "lunshare.json"

local M = {}

local esc = util.escape

M.COMMANDS = { "up", "status", "down", "explain", "check", "list", "exec" }

local HELP = {
  up = [[
usage: lunshare net up FILE
  Build what the topology FILE describes and is missing, recording each object in the
  topology's journal before it is made; a second up changes nothing. Prints each change
  as the ip command it replaces. Run by a user, everything is built inside a rootless
  holder process.]],
  status = [[
usage: lunshare net status FILE
  Compare FILE with what exists: ok, missing or differs for each host, switch, link end
  and route. Exit 1 when anything differs.]],
  down = [[
usage: lunshare net down FILE
  Remove exactly what up built, from the topology's journal (a netns made by someone else
  stays); rootless, end the holder.]],
  explain = [[
usage: lunshare net explain [--down] [--json] FILE
  Print the plan up would perform (with --down: the plan down would, from the journal),
  each step with the ip command it replaces and the FILE:line it comes from. Nothing is
  built or changed. --json: the plan as data, the very table up hands to the applier.]],
  check = [[
usage: lunshare net check FILE...
  Check topology files: FILE: ok, or every error with FILE:line and the field path.
  Exit 2 when a file has errors.]],
  list = [[
usage: lunshare net list
  The topologies this caller has up (root sees root's, a user their own), with their
  hosts and, rootless, the holder's pid. A sandbox joins a host with the profile's
  network = { join = "HOST" } as root, or join = "TOPOLOGY/HOST" as a user.]],
  exec = [[
usage: lunshare net exec FILE HOST [--] CMD [ARG...]
  Run CMD in the network namespace of host HOST of the topology FILE, as ip netns exec
  does. Run by a user: inside the topology's holder, as that user, with no capability.
  Exit with CMD's status (127: not found, 126: cannot be run).]],
}

local USAGE = "usage: lunshare net COMMAND [ARGS]\n\n" .. table.concat({
  "  up FILE                        build the topology FILE describes (what is missing)",
  "  status FILE                    compare FILE with what exists (exit 1 if anything differs)",
  "  down FILE                      remove what up built",
  "  explain [--down] [--json] FILE print the plan of up (or down), step by step",
  "  check FILE...                  check topology files, with FILE:line for every error",
  "  list                           the topologies this caller has up, with their hosts",
  "  exec FILE HOST [--] CMD...     run CMD in HOST's network namespace",
}, "\n") .. "\n\n`lunshare net COMMAND --help` says more of each."

-- Splits args into the options given (from allowed) and the rest, in order. "--" ends the
-- options; with stop_after = n, options end after n other arguments too (exec's command).
local function parse(cmd, args, allowed, fail, stop_after)
  local opts, rest, i = {}, {}, 1
  while i <= #args do
    local a = args[i]
    if stop_after and #rest >= stop_after then break end
    if a == "--" then
      i = i + 1
      break
    elseif a == "--help" or a == "-h" then
      io.stdout:write(HELP[cmd], "\n")
      opts.help = true
      return opts
    elseif a:sub(1, 1) == "-" and a ~= "-" then
      if not util.contains(allowed, a) then
        fail(2, "net " .. cmd .. ": unknown option '" .. esc(a) .. "'" .. util.suggest(a, allowed) ..
          " (see 'lunshare net " .. cmd .. " --help')")
      end
      opts[a:sub(3)] = true
    else
      rest[#rest + 1] = a
    end
    i = i + 1
  end
  for j = i, #args do rest[#rest + 1] = args[j] end
  return opts, rest
end

local function one_file(cmd, rest, fail)
  if #rest ~= 1 then fail(2, "net " .. cmd .. ": expected one topology FILE") end
  return rest[1]
end

local function print_lines(list)
  for _, c in ipairs(list) do io.stdout:write(util.escape_lines(c), "\n") end
end

local run = {}

function run.up(args, fail)
  local _, rest = parse("up", args, {}, fail)
  if not rest then return 0 end
  local file = one_file("up", rest, fail)
  local plan, errs = topology.plan_up(file)
  if not plan then fail(2, errs) end
  json.dump_plan(plan)
  local changes, err = topology.apply_up(plan)
  if not changes then fail(1, err) end
  if #changes == 0 then io.stdout:write(esc(file), ": up already, nothing to change\n") end
  print_lines(changes)
  return 0
end

function run.down(args, fail)
  local _, rest = parse("down", args, {}, fail)
  if not rest then return 0 end
  local file = one_file("down", rest, fail)
  local plan, err = topology.plan_down(file)
  if not plan then fail(1, err) end
  json.dump_plan(plan)
  local done, derr = topology.apply_down(plan)
  if not done then fail(1, derr) end
  if #done == 0 then io.stdout:write(esc(file), ": nothing built by up, nothing to remove\n") end
  print_lines(done)
  return 0
end

function run.status(args, fail)
  local _, rest = parse("status", args, {}, fail)
  if not rest then return 0 end
  local file = one_file("status", rest, fail)
  local rows, err, kind = topology.status(file)
  if not rows then fail(kind == "usage" and 2 or 1, err) end
  local differs = 0
  for _, r in ipairs(rows) do
    if r.state ~= "ok" then differs = differs + 1 end
    io.stdout:write(string.format("%-8s %s%s\n", r.state, esc(r.what), r.detail and (": " .. esc(r.detail)) or ""))
  end
  io.stdout:write(differs == 0 and "up: everything matches the file\n" or
    string.format("%d of %d objects differ from the file\n", differs, #rows))
  return differs == 0 and 0 or 1
end

function run.explain(args, fail)
  local opts, rest = parse("explain", args, { "--json", "--down" }, fail)
  if not rest then return 0 end
  local file = one_file("explain", rest, fail)
  local plan, t
  if opts.down then
    local err
    plan, err = topology.plan_down(file)
    if not plan then fail(1, err) end
  else
    local errs
    plan, errs = topology.plan_up(file)
    if not plan then fail(2, errs) end
    t = errs
  end
  if opts.json then
    io.stdout:write(json.encode(plan, true), "\n")
  else
    io.stdout:write(topology.text(plan, t and t.description))
  end
  return 0
end

function run.check(args, fail)
  local _, rest = parse("check", args, {}, fail)
  if not rest then return 0 end
  if #rest == 0 then fail(2, "net check: expected at least one topology FILE") end
  local bad = false
  for _, file in ipairs(rest) do
    local plan, errs = topology.plan_up(file)
    if plan then
      io.stdout:write(esc(file), ": ok\n")
    else
      bad = true
      for _, e in ipairs(errs) do io.stderr:write(esc(e), "\n") end
    end
  end
  return bad and 2 or 0
end

function run.list(args, fail)
  local _, rest = parse("list", args, {}, fail)
  if not rest then return 0 end
  if #rest > 0 then fail(2, "net list: takes no arguments") end
  local list, err = topology.list()
  if not list then fail(1, err) end
  local rows = {}
  for _, e in ipairs(list) do
    local hosts = {}
    for i, h in ipairs(e.hosts or {}) do hosts[i] = esc(h) end
    local row = { esc(e.name), e.error and ("(" .. esc(e.error) .. ")") or table.concat(hosts, ",") }
    if e.holder ~= nil then row[3] = e.holder and tostring(e.holder) or "gone" end
    rows[#rows + 1] = row
  end
  if #rows == 0 then return 0 end
  local head = { "TOPOLOGY", "HOSTS" }
  if rows[1][3] then head[3] = "HOLDER" end
  table.insert(rows, 1, head)
  local w = {}
  for _, r in ipairs(rows) do
    for i, c in ipairs(r) do w[i] = math.max(w[i] or 0, #c) end
  end
  for _, r in ipairs(rows) do
    local cells = {}
    for i, c in ipairs(r) do cells[i] = i < #r and (c .. string.rep(" ", w[i] - #c)) or c end
    io.stdout:write(table.concat(cells, "  "), "\n")
  end
  return 0
end

function run.exec(args, fail)
  local _, rest = parse("exec", args, {}, fail, 2)
  if not rest then return 0 end
  if #rest < 3 then fail(2, "net exec: expected FILE HOST [--] CMD [ARG...]") end
  local file, host = rest[1], rest[2]
  local argv = { table.unpack(rest, 3) }
  if argv[1] == "--" then table.remove(argv, 1) end
  if #argv == 0 then fail(2, "net exec: expected a command after HOST") end
  io.stdout:flush()
  local _, msg, code = topology.exec(file, host, argv)
  fail(code, msg)
end

-- `lunshare net ARGS…`; returns the exit status. fail(code, msg) raises for the CLI.
function M.main(args, fail)
  local cmd = args[1]
  if cmd == "--help" or cmd == "-h" or cmd == "help" then
    io.stdout:write(USAGE, "\n")
    return 0
  end
  if cmd == nil then fail(2, "net: expected a command: " .. table.concat(M.COMMANDS, ", ") .. " (see 'lunshare net --help')") end
  if not run[cmd] then
    fail(2, "net: unknown command '" .. esc(cmd) .. "'" .. util.suggest(cmd, M.COMMANDS) ..
      "; expected one of " .. table.concat(M.COMMANDS, ", "))
  end
  return run[cmd]({ table.unpack(args, 2) }, fail)
end

return M
