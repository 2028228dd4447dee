-- Helpers for the specs: run the lunshare binary as root or as an unprivileged user,
-- capture its output and status, and look at the system from outside.
--
-- Every command a spec runs goes through H.sh (or a helper built on it), which gives it a
-- time limit: a hung command fails its test with one line instead of hanging the suite.
-- (tests/lib/suite.lua, loaded before any spec, refuses os.execute and io.popen in specs.)
local H = {}

-- The originals, before tests/lib/suite.lua wraps them.
local execute, popen = os.execute, io.popen

-- The checkout: from the environment (tests/run), else this file's own place, so that
-- `lua5.4 /usr/bin/busted tests/spec/x_spec.lua` works from the checkout with no variables.
-- A relative place is made absolute from the working directory as the kernel has it
-- (pwd -P), never $PWD, which env -i, sudo or a shell that cd'd elsewhere leaves unset or
-- stale.
local function checkout()
  local src = debug.getinfo(1, "S").source:match("^@(.*)$") or ""
  local dir = src:match("^(.*)/tests/lib/helpers%.lua$") or (src == "tests/lib/helpers.lua" and ".")
  if not dir then dir = "." end
  if dir:sub(1, 1) ~= "/" then
    local p = popen("cd " .. ("'" .. dir:gsub("'", "'\\''") .. "'") .. " && pwd -P")
    local abs = p and p:read("l")
    if p then p:close() end
    dir = abs and abs ~= "" and abs or dir
  end
  return dir
end

local function env(name)
  local v = os.getenv(name)
  return v ~= "" and v or nil
end

H.root = env("LUNSHARE_ROOT") or checkout()
-- tests/run hands the specs copies of the binary and the probes that the unprivileged
-- user can reach (the checkout may be root's own, mode 0700); a spec run by hand uses
-- the build tree. That tree is tests/run's own (LUNSHARE_BUILD, build-test/ by default),
-- else the checkout's build/ for a spec run by hand.
H.build = env("LUNSHARE_BUILD") or (H.root .. "/build")
H.bin = env("LUNSHARE_BIN") or (H.build .. "/lunshare")
H.probes = env("LUNSHARE_PROBES") or (H.build .. "/probes")

-- The default time limit of one command, in seconds, and the grace between TERM and KILL.
-- A case that is slow by nature (a build, valgrind) passes { timeout = N }.
H.TIMEOUT = tonumber(env("LSH_TEST_TIMEOUT") or "") or 120
H.GRACE = 5

-- Integration specs run each case in both modes. CI runs as root; "rootless" drops to
-- nobody with setpriv, as an unprivileged user would run lunshare.
H.NOBODY_UID, H.NOBODY_GID = 65534, 65534
H.modes = { "root", "rootless" }
H.DROP = string.format("setpriv --reuid=%d --regid=%d --clear-groups -- ", H.NOBODY_UID, H.NOBODY_GID)

-- A short tag of this run of the suite (tests/run exports it to every part), for every
-- name that other runs on this machine could also use: links (15 bytes at most, so keep
-- names to 10 before it), tmux sockets, command lines looked for in ps.
H.RUN = env("LSH_TEST_RUN") or string.format("%04x", math.random(0, 0xffff))

function H.quote(s)
  s = tostring(s)
  if s ~= "" and not s:find("[^%w%-%./_=:,+@]") then return s end
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

function H.join(list)
  local out = {}
  for i, w in ipairs(list) do out[i] = H.quote(w) end
  return table.concat(out, " ")
end

local function slurp(path)
  local f = io.open(path, "r")
  if not f then return "" end
  local s = f:read("a")
  f:close()
  return s
end
H.read = slurp

-- The suite's own temporary directory (world-writable and sticky like /tmp, for the
-- rootless cases). tests/run makes it and removes it; tests/lib/suite.lua makes one
-- when busted runs without tests/run.
H.tmp = env("LSH_TEST_TMP")

-- A fresh directory in the suite's temporary directory, mode 0755 unless told.
function H.tmpdir(mode)
  local d = os.tmpname()
  os.remove(d)
  local r = H.sh("mkdir -m " .. (mode or "755") .. " " .. H.quote(d))
  assert(r.code == 0, r.err)
  return d
end

-- A private runtime directory for nobody (XDG_RUNTIME_DIR), so that the rootless cases
-- of two suites on one machine never share /tmp/lunshare-65534.
local nobody_xdg
local function xdg_for_nobody()
  if not nobody_xdg then
    nobody_xdg = H.tmpdir("700")
    H.sh("chown " .. H.NOBODY_UID .. ":" .. H.NOBODY_GID .. " " .. H.quote(nobody_xdg))
  end
  return nobody_xdg
end

-- The plan cache's trusted root (LUNSHARE_CACHE_DIR) for root's commands: the suite's own,
-- so that no run leaves /run/lunshare/plans behind. nobody's plans go under its private
-- runtime directory. A command line that drops to nobody itself (H.DROP in it) keeps
-- root's, which nobody's lunshare refuses (not its own), and so runs without a cache.
local root_cache, making_cache
local function cache_for_root()
  if not root_cache then
    making_cache = true -- H.tmpdir runs H.sh, which must not ask again
    root_cache = H.tmpdir("700")
    making_cache = false
  end
  return root_cache
end

-- timeout(1) says so on its own stderr, which is the command's: one line, taken out again.
local TIMEOUT_LINE = "timeout: sending signal [%u%d]+ to command [^\n]*\n?"

-- Runs a shell command line; returns { code, out, err }. Options: mode ("root" or
-- "rootless"), cwd (default /tmp), env ("K=V K2=V2", before the drop to nobody),
-- timeout (seconds), stdin (a file; default /dev/null). A command that outlives its
-- limit is killed (its process group, TERM then KILL) and the test fails saying so.
function H.sh(cmdline, opts)
  opts = opts or {}
  local out, err = os.tmpname(), os.tmpname()
  local limit = opts.timeout or H.TIMEOUT
  local prefix = ""
  local envs = opts.env or ""
  if opts.mode == "rootless" then
    prefix = H.DROP
    if not envs:find("XDG_RUNTIME_DIR", 1, true) then
      envs = envs .. " XDG_RUNTIME_DIR=" .. H.quote(xdg_for_nobody())
    end
  end
  if not making_cache and not envs:find("LUNSHARE_CACHE_DIR", 1, true) then
    envs = envs .. " LUNSHARE_CACHE_DIR=" .. H.quote(opts.mode == "rootless" and xdg_for_nobody() or cache_for_root())
  end
  envs = envs ~= "" and ("env " .. envs .. " ") or ""
  -- The capture files are opened by this shell (root's); nobody's commands may reopen them.
  local full = string.format("chmod 666 %s %s && cd %s && timeout -v -k %d %d %s%ssh -c %s <%s >%s 2>%s",
    H.quote(out), H.quote(err), H.quote(opts.cwd or "/tmp"), H.GRACE, limit, envs, prefix,
    H.quote(cmdline), H.quote(opts.stdin or "/dev/null"), H.quote(out), H.quote(err))
  local _, _, code = execute(full)
  local r = { code = code, out = slurp(out), err = slurp(err) }
  os.remove(out)
  os.remove(err)
  local e, n = r.err:gsub(TIMEOUT_LINE, "")
  if n > 0 then
    r.err = e
    error(string.format("timed out after %d s (a slow case can pass { timeout = N }): %s\n%s%s",
      limit, cmdline, r.out, r.err), 2)
  end
  return r
end

-- Runs lunshare with a list of arguments.
-- For the install specs: a scratch HOME and XDG_CONFIG_HOME of the caller's (nobody's,
-- rootless) and a source directory; returns them, the profile directory install writes,
-- and the environment that points lunshare there with no profile path of the caller's.
function H.install_dirs(mode)
  local home, cfg, src = H.tmpdir("700"), H.tmpdir("700"), H.tmpdir("755")
  if mode == "rootless" then
    H.sh("chown " .. H.NOBODY_UID .. ":" .. H.NOBODY_GID .. " " .. H.quote(home) .. " " .. H.quote(cfg))
  end
  return home, cfg, src, cfg .. "/lunshare/profiles",
    "HOME=" .. H.quote(home) .. " XDG_CONFIG_HOME=" .. H.quote(cfg) .. " LUNSHARE_PROFILE_PATH="
end

function H.lunshare(args, opts)
  return H.sh(H.quote(H.bin) .. " " .. H.join(args), opts)
end

-- The names of the shipped profiles (profiles/NAME.lua), for specs that go through each.
function H.shipped_profiles()
  local names = {}
  for f in H.sh("ls " .. H.quote(H.root .. "/profiles")).out:gmatch("[^\n]+") do
    names[#names + 1] = f:match("^(.*)%.lua$")
  end
  return names
end

-- Writes a profile file readable by everyone and returns its path.
function H.profile(source)
  return H.file(source, ".lua")
end

-- Writes a file readable by everyone in the suite's temporary directory; returns its path.
function H.file(text, suffix)
  local path = os.tmpname() .. (suffix or "")
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
  H.sh("chmod 644 " .. H.quote(path))
  return path
end

-- A copy of a checkout file that nobody can read, under the same name, in a fresh
-- directory of the suite's: the checkout may be root's own (mode 0700).
function H.copy_for_nobody(path)
  local d = H.tmpdir()
  local to = d .. "/" .. path:match("[^/]+$")
  local r = H.sh("cp " .. H.quote(path) .. " " .. H.quote(to) .. " && chmod 644 " .. H.quote(to))
  assert(r.code == 0, r.err)
  return to
end

-- For a stock lua5.4 that requires "lunshare" or "lunshare.core" (a spec's hand-made plan,
-- a primitive called from Lua): the scripts, the shipped profiles and the built module
-- copied once per run into a directory of the suite's that everyone can read, since the
-- checkout may be root's own (mode 0700) and nobody runs such scripts too. The copy is
-- a small checkout: TREE/scripts, TREE/profiles, TREE/lua (the build's lua/).
local lua_tree
function H.readable_lua()
  if not lua_tree then
    local d = H.tmpdir()
    local r = H.sh("cp -r " .. H.quote(H.root .. "/scripts") .. " " .. H.quote(H.root .. "/profiles") .. " " ..
      H.quote(H.build .. "/lua") .. " " .. H.quote(d) .. " && chmod -R a+rX " .. H.quote(d))
    assert(r.code == 0, "cannot copy the Lua tree for nobody: " .. r.err)
    lua_tree = d
  end
  return lua_tree
end

-- The variables that point lua5.4 at that copy, as assignments to put before a command
-- ("LUA_PATH=… LUA_CPATH=… LUNSHARE_ROOT=…": the shipped profiles are the copy's too).
function H.lua_env()
  local t = H.readable_lua()
  return "LUA_PATH=" .. H.quote(t .. "/scripts/?.lua;" .. t .. "/scripts/?/init.lua;;") ..
    " LUA_CPATH=" .. H.quote(t .. "/lua/?.so;;") .. " LUNSHARE_ROOT=" .. H.quote(t)
end

function H.rm(path)
  H.sh("rm -rf " .. H.quote(path))
end

function H.lines(s)
  local t = {}
  for l in s:gmatch("[^\n]+") do t[#t + 1] = l end
  return t
end

-- Whether text holds exactly this line (not only a line that contains it).
function H.has_line(text, line)
  return ("\n" .. text):find("\n" .. line .. "\n", 1, true) ~= nil or
    ("\n" .. text):sub(-(#line + 1)) == "\n" .. line
end

-- The host's view, to compare before and after a run.
function H.mounts() return slurp("/proc/self/mountinfo") end
function H.links() return H.sh("ip -o link show | awk -F': ' '{print $2}' | sort").out end
function H.netns() return H.sh("ip netns list").out end

-- The host uid that root inside the default profile is, for a mode: the caller's own for
-- nobody; for root an unprivileged range: root's /etc/subuid range, or 2000000000.
function H.inside_root_uid(mode)
  if mode ~= "root" then return H.NOBODY_UID end
  local sub = H.sh("grep -E '^(root|0):' /etc/subuid 2>/dev/null | head -1 | cut -d: -f2").out:gsub("\n", "")
  return tonumber(sub) or 2000000000
end

function H.ns_inode(kind, pid)
  local l = H.sh("readlink /proc/" .. (pid or "self") .. "/ns/" .. kind).out
  return l:match("%[(%d+)%]")
end

-- A shell function for command lines, inside a sandbox that shares the host's /proc and
-- /sys too: `lsh_cgdirs PID` (or self) prints "CONTROLLER DIRECTORY" for each cgroup of
-- the process, whatever the cgroup version, from /proc/PID/cgroup and the mount table: a
-- v1 line "N:cpu,cpuacct:/path" names every controller of its hierarchy; the v2 line
-- "0::/path" is "unified", where cgroup2 is mounted.
H.SH_CGDIRS = [=[lsh_cgdirs() { awk '
  FNR == NR { for (i = 7; i <= NF && $i != "-"; i++) ; fs = $(i + 1); n = split($(i + 3), o, ",")
    if (fs == "cgroup2" && u == "") u = $5
    if (fs == "cgroup") for (j = 1; j <= n; j++) if (!(o[j] in m)) m[o[j]] = $5
    next }
  { k = index($0, ":"); id = substr($0, 1, k - 1); r = substr($0, k + 1); k = index(r, ":")
    c = substr(r, 1, k - 1); path = substr(r, k + 1); sub(/\/$/, "", path)
    if (id == "0" && c == "") { if (u != "") print "unified " u path; next }
    n = split(c, cs, ","); for (j = 1; j <= n; j++) if (cs[j] in m) print cs[j] " " m[cs[j]] path }
  ' /proc/self/mountinfo /proc/$1/cgroup; }; ]=]

-- Parses lsh_cgdirs lines: { [controller or "unified"] = directory }.
function H.cgroup_dirs(text)
  local dirs = {}
  for c, d in text:gmatch("(%S+) ([^\n]+)") do dirs[c] = d end
  return dirs
end

-- The directory of a process's cgroup that holds a controller (v1), or its v2 cgroup.
function H.cgroup_dir(ctrl, pid)
  local dirs = H.cgroup_dirs(H.sh(H.SH_CGDIRS .. "lsh_cgdirs " .. (pid or "$$")).out)
  return dirs[ctrl] or dirs.unified
end

-- The cgroups a run made for itself (lunshare-PID), from lsh_cgdirs lines: a list of
-- directories, each once.
function H.run_cgroups(text)
  local seen, out = {}, {}
  for _, d in pairs(H.cgroup_dirs(text)) do
    if d:find("/lunshare%-%d+$") and not seen[d] then
      seen[d] = true
      out[#out + 1] = d
    end
  end
  table.sort(out)
  return out
end

-- Of a list of paths, those that exist.
function H.existing(paths)
  local out = {}
  for _, p in ipairs(paths) do
    if H.sh("test -e " .. H.quote(p)).code == 0 then out[#out + 1] = p end
  end
  return out
end

-- A shell function for command lines: `lsh_desc PID` prints the pids of every
-- descendant of PID, one a line (from /proc/PID/task/*/children).
H.SH_DESC = [[lsh_desc() { for t in /proc/$1/task/*; do for c in $(cat $t/children 2>/dev/null); do ]] ..
  [[echo $c; lsh_desc $c; done; done; }; ]]

-- Starts a simple command in the background whose first line on stdout is "ready",
-- waits for that line (read from a FIFO: a handshake, no sleep), then runs the shell
-- fragment `then_script` with $P the command's pid, $O the file that receives the rest
-- of its stdout, and lsh_desc at hand. The command keeps SIGINT and SIGQUIT as a
-- foreground command would (a shell's background jobs ignore them). Returns H.sh's
-- result for the whole, with the command's stderr as cmd_err.
function H.after_ready(cmdline, then_script, opts)
  local d = H.tmpdir("1777")
  local script = H.SH_DESC .. string.format(
    "F=%s/fifo; O=%s/out; mkfifo -m 666 $F || exit 97; ( exec env --default-signal=INT,QUIT %s ) >$F 2>%s/err & P=$!; " ..
    "exec 3<$F; read -r l <&3 || { echo \"no ready line: $l\" >&2; cat %s/err >&2; exit 98; }; " ..
    "[ \"$l\" = ready ] || { echo \"expected ready, got: $l\" >&2; exit 98; }; cat <&3 >$O & " ..
    "%s",
    H.quote(d), H.quote(d), cmdline, H.quote(d), H.quote(d), then_script)
  local r = H.sh(script, opts)
  r.cmd_err = slurp(d .. "/err")
  H.rm(d)
  return r
end

-- Polls a shell condition until it holds, for at most `seconds`: for what happens
-- asynchronously with nothing to wait on (a process reaped elsewhere, a link the kernel
-- removes late). A shell fragment; it fails (status 1) when the deadline passes.
function H.wait_until(condition, seconds)
  return string.format("lsh_end=$(($(date +%%s) + %d)); until %s; do [ $(date +%%s) -ge $lsh_end ] && break; " ..
    "sleep 0.01; done; %s", seconds or 10, condition, condition)
end

return H
