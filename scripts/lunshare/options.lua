-- The command line's options, one row each: which commands take it, its argument, its
-- help, and where its value goes. Parsing only records (as bubblewrap's does): a
-- one-off addition to the profile (--bind, --setenv, …) becomes an entry of the
-- command-line layer (lunshare.cmdline_layer), checked with the profile's own fields.
-- Adding an option is adding a row here (and, for a layer option, its entry there).
-- The rule for --name's value is lunshare.sandboxes', loaded only when --name is given
-- (deliberate lazy loading, for start-up speed: a plan cache hit needs no record of a
-- named sandbox, issue #14).
local core = require "lunshare.core"
local util = require "lunshare.util"

local M = {}

-- SRC[:DST]: one colon at most, since a path may hold one and nothing could tell which
-- colon splits (bind such a path from a profile, where src and dst are separate).
local function src_dst(v)
  if select(2, v:gsub(":", "")) > 1 then
    return "'" .. v .. "' has more than one ':', so which one splits SRC from DST is ambiguous " ..
      "(a path with a ':' needs a profile's bind(SRC, DST))"
  end
end

-- The commands that load a profile and so take the one-off additions.
local PROFILE_CMDS = { "run", "check", "explain" }

-- Row fields: name ("--bind"), short ("-h"), arg (its metavariable; none for a flag),
-- commands (default PROFILE_CMDS), help, and one of: key (o[key] = the value, or for a
-- flag its row's value, default true), kv (o[key][K] = V from KEY=VALUE), list (o[key] the values in order,
-- repeatable), layer (appended to o.layer in order);
-- valid: function(value) -> nil, or what is wrong with the value (a usage error).
-- Two rows with one key (--pty, --no-pty) are exclusive: both given is a usage error.
M.ROWS = {
  { name = "--set", arg = "KEY=VALUE", key = "set", kv = true,
    commands = { "run", "check", "explain", "diff", "repl", "test", "show" },
    help = "a value for the profile's parameter KEY (see lunshare-profile(5), PARAMETERS)" },
  { name = "--old-set", arg = "KEY=VALUE", key = "old_set", kv = true, commands = { "diff" },
    help = "a value for OLD's parameter KEY only (over --set)" },
  { name = "--new-set", arg = "KEY=VALUE", key = "new_set", kv = true, commands = { "diff" },
    help = "a value for NEW's parameter KEY only (over --set)" },
  { name = "--json", key = "json", commands = { "explain", "profiles", "show", "ps", "ns" },
    help = "print as JSON (explain: the very table run hands to the executor)" },
  { name = "--yes", short = "-y", key = "yes", commands = { "install" },
    help = "install without asking (what it grants is still shown)" },
  { name = "--replace-builtin", key = "replace_builtin", commands = { "install" },
    help = "with --yes: install a recipe named like a shipped one (NAME.lua shadows builtin:NAME)" },
  { name = "--system", key = "system", commands = { "install", "verify", "remove" },
    help = "the system's profile directory, /etc/lunshare/profiles (as root)" },
  { name = "--strict", key = "strict", commands = { "check" }, help = "warnings are errors too" },
  { name = "--bind", arg = "SRC[:DST]", layer = true, valid = src_dst, help = "bind the host's SRC at DST (default: SRC), writable" },
  { name = "--ro-bind", arg = "SRC[:DST]", layer = true, valid = src_dst, help = "bind the host's SRC at DST, read-only" },
  { name = "--tmpfs", arg = "DST", layer = true, help = "a fresh tmpfs at DST" },
  { name = "--setenv", arg = "KEY=VALUE", layer = true,
    valid = function(v) if not v:match("^[^=]+=") then return "needs KEY=VALUE, got '" .. v .. "'" end end, help = "set KEY in the command's environment" },
  { name = "--unsetenv", arg = "KEY", layer = true, help = "remove KEY from the command's environment" },
  { name = "--chdir", arg = "DIR", layer = true, help = "start the command in DIR (inside)" },
  { name = "--hostname", arg = "NAME", layer = true, help = "the sandbox's host name (needs its uts namespace)" },
  { name = "--share-net", layer = true, help = "keep the host's network (no network namespace)" },
  { name = "--pty", key = "pty", value = true, commands = { "run" },
    help = "give the sandbox a terminal of its own even when stdin or stdout is none" },
  { name = "--no-pty", key = "pty", value = false, commands = { "run" }, help = "never give the sandbox a terminal of its own" },
  { name = "--timeout", arg = "DURATION", key = "timeout", commands = { "run" },
    help = "end the whole sandbox after DURATION (30s, 5m, or seconds; over limits.time), exit 124" },
  { name = "--name", arg = "NAME", key = "name", commands = { "run", "explain", "repl" }, valid = function(v) return require("lunshare.sandboxes").check_name(v) end,
    help = "name the running sandbox (over the profile's name), for ps, stop and enter" },
  { name = "--signal", arg = "SIG", key = "signal", commands = { "stop" },
    valid = function(v) if not core.signum(v:upper()) then return "expects a signal name (TERM, INT, KILL, …), got '" .. v .. "'" end end,
    help = "the signal that ends it (default TERM; INT, TERM, HUP, QUIT, USR1, USR2 go through its supervisor, others to its pid 1)" },
  { name = "--timeout", arg = "DURATION", key = "timeout", commands = { "stop" },
    help = "how long to wait before SIGKILL (default 10s)" },
  { name = "--rw", key = "rw", commands = { "plug" },
    help = "a writable bind (refused unless the sandbox's filter has the @setid-files rules)" },
  { name = "--address", arg = "A/N", key = "address", list = true, commands = { "plug" },
    help = "veth: an address of the end inside (repeatable)" },
  { name = "--peer-address", arg = "A/N", key = "peer_address", list = true, commands = { "plug" },
    help = "veth: an address of the other end, the host's or OTHER's (repeatable)" },
  { name = "--to", arg = "OTHER[:IF2]", key = "to", commands = { "plug" },
    help = "veth: link to the running sandbox OTHER of yours instead of the host, its end IF2 (default: the same name); root only" },
  { name = "--route", arg = "TO[,VIA]", key = "route", list = true, commands = { "plug" },
    help = "veth: a route inside through the link (TO: a prefix or default; repeatable)" },
  { name = "--bridge", arg = "BR", key = "bridge", commands = { "plug" },
    help = "veth: the host bridge its host end joins" },
  { name = "--no-cache", key = "no_cache", commands = { "run" },
    help = "load and plan the profile afresh, neither using nor writing the plan cache" },
  { name = "--egress-log", arg = "FILE", key = "egress_log", commands = { "run" },
    help = "append each request the egress allowlist denied to FILE, as JSON lines" },
  { name = "--help", short = "-h", key = "help", commands = "all", help = "print this command's usage" },
}

-- What each command takes besides options, and what it does, for its usage.
M.COMMANDS = {
  run = { args = "[PROFILE] [--] [CMD ARGS...]",
    about = "run a command in the sandbox PROFILE describes (after --, with no PROFILE: default)" },
  check = { args = "PROFILE...", about = "validate profiles; print ok or every error, and warn about risky grants" },
  explain = { args = "PROFILE [-- CMD ARGS...]", about = "print the plan run would execute, step by step" },
  diff = { args = "OLD NEW", about = "print what two profiles grant, marking what differs (exit 1 if they differ)" },
  net = { args = "up|status|down|explain|check|list|exec ...", about = "network topologies (see 'lunshare net --help')" },
  doctor = { args = "", about = "check what this kernel and machine allow, with fixes" },
  repl = { args = "[PROFILE]", about = "an interactive Lua prompt with the lunshare API; with a profile, its sandbox runs as sb" },
  version = { args = "", about = "print the version" },
  help = { args = "[COMMAND]", about = "print the usage of lunshare or of COMMAND" },
  test = { args = "PROFILE", about = "run the profile's checks on this machine" },
  profiles = { args = "", about = "list the profiles on the path, and which are shadowed" },
  show = { args = "PROFILE", about = "where a profile is, its parameters, checks and grants" },
  install = { args = "FILE|DIR",
    about = "copy a recipe into your profile directory, after showing what it grants (an update shows what widens)" },
  verify = { args = "", about = "report installed recipes whose files changed" },
  remove = { args = "NAME", about = "remove an installed recipe" },
  stop = { args = "NAME", about = "end a named sandbox (its signal, then SIGKILL after the timeout) and wait until its record is gone" },
  enter = { args = "NAME|PID [--] [CMD ARGS...]",
    about = "run CMD (default /bin/sh) in a named sandbox of yours, with exactly its command's confinement" },
  plug = { args = "NAME bind SRC [DST] | NAME veth HOSTIF [SBIF] | NAME veth IF --to OTHER[:IF2]",
    about = "add a bind of the host's SRC at DST (read-only unless --rw), or a veth pair from the host or from another named sandbox, to a named sandbox of yours while it runs" },
  unplug = { args = "NAME OBJECT", about = "take away what plug added (a bind by its target, a veth by its host end, or by its end in NAME when it links two sandboxes; see 'lunshare ps')" },
  ns = { args = "[NAME|PID]", about = "the namespaces of a named sandbox's command (or PID, or lunshare): identities, which differ from the host's, which processes share each" },
  ps = { args = "", about = "list the named sandboxes that run: yours (root: everyone's)" },
  cache = { args = "clear", about = "remove every plan the plan cache holds for you" },
  complete = { args = "[--] WORD...", about = "the candidates for the next word (shell completion)" },
}

local function takes(row, cmd)
  local c = row.commands or PROFILE_CMDS
  return c == "all" or util.contains(c, cmd)
end

-- The rows cmd takes, in table order.
function M.rows(cmd)
  local out = {}
  for _, r in ipairs(M.ROWS) do if takes(r, cmd) then out[#out + 1] = r end end
  return out
end

-- The usage of one command.
function M.usage(cmd)
  local c = M.COMMANDS[cmd]
  local rows = M.rows(cmd)
  local lines = { "usage: lunshare " .. cmd .. (#rows > 0 and " [OPTIONS]" or "") ..
    (c.args ~= "" and (" " .. c.args) or ""), "", "  " .. c.about }
  if #rows > 0 then
    lines[#lines + 1] = ""
    lines[#lines + 1] = "options:"
    for _, r in ipairs(rows) do
      local spelled = (r.short and (r.short .. ", ") or "") .. r.name .. (r.arg and (" " .. r.arg) or "")
      lines[#lines + 1] = string.format("  %-22s %s", spelled, r.help)
    end
  end
  return table.concat(lines, "\n")
end

-- A usage error of cmd points at cmd's own usage, as the net subcommands' do.
local function usage_error(cmd, msg)
  error({ lunshare_exit = 2, msg = cmd .. ": " .. msg .. " (see 'lunshare " .. cmd .. " --help')" }, 0)
end

-- Parses args for cmd. Options may come anywhere before `--`; with stop_at_command, the
-- word after the first positional one starts the command to run, whose words are its
-- own (run PROFILE CMD --its-option). Returns o: the keys of the rows, o.layer
-- ({ { option = "--bind", value = "/x" }, … } in order), o.positional, o.argv (after --)
-- and o.dashdash (whether -- came). A misspelt or unknown option is a usage error.
function M.parse(cmd, args, stop_at_command)
  local rows = M.rows(cmd)
  local by = {}
  for _, r in ipairs(rows) do
    by[r.name] = r
    if r.short then by[r.short] = r end
  end
  local o = { layer = {}, positional = {}, argv = {}, set = {} }
  local given = {} -- key -> the row that set it
  local i = 1
  while i <= #args do
    local a = args[i]
    if a == "--" then
      o.dashdash = true
      for j = i + 1, #args do o.argv[#o.argv + 1] = args[j] end
      break
    elseif a:sub(1, 1) == "-" and a ~= "-" then
      local name, inline = a:match("^(%-%-[^=]+)=(.*)$")
      name = name or a
      local r = by[name]
      if not r then
        local names = {}
        for _, x in ipairs(rows) do names[#names + 1] = x.name end
        usage_error(cmd, "unknown option '" .. a .. "'" .. util.suggest(name, names))
      end
      local value = r.value == nil or r.value
      if r.arg then
        value = inline
        if value == nil then
          i = i + 1
          value = args[i]
        end
        if value == nil then usage_error(cmd, r.name .. " needs " .. r.arg) end
      elseif inline then
        usage_error(cmd, r.name .. " takes no value")
      end
      local bad = r.valid and r.valid(value)
      if bad then usage_error(cmd, r.name .. " " .. bad) end
      if r.key and not r.kv then
        if given[r.key] and given[r.key] ~= r then
          usage_error(cmd, given[r.key].name .. " and " .. r.name .. " together: give one")
        end
        given[r.key] = r
      end
      if r.layer then
        o.layer[#o.layer + 1] = { option = r.name, value = value }
      elseif r.list then
        o[r.key] = o[r.key] or {}
        o[r.key][#o[r.key] + 1] = value
      elseif r.kv then
        local k, v = value:match("^([^=]+)=(.*)$")
        if not k then usage_error(cmd, r.name .. " needs " .. r.arg .. ", got '" .. value .. "'") end
        o[r.key] = o[r.key] or {}
        o[r.key][k] = v
      else
        o[r.key] = value
      end
    elseif stop_at_command and #o.positional == 1 then
      -- After the profile, the first other word starts the command: the rest is its.
      for j = i, #args do o.argv[#o.argv + 1] = args[j] end
      break
    else
      o.positional[#o.positional + 1] = a
    end
    i = i + 1
  end
  return o
end

return M
