-- Helpers for the integration specs: run the lunshare binary as root or as an
-- unprivileged user, capture its output and status, and look at the system from outside.
local H = {}

H.root = os.getenv("LUNSHARE_ROOT") or "."
H.bin = os.getenv("LUNSHARE_BIN") or (H.root .. "/build/lunshare")

-- Integration specs run each case in both modes. CI runs as root; "rootless" drops to
-- nobody with setpriv, as an unprivileged user would run lunshare.
H.NOBODY_UID, H.NOBODY_GID = 65534, 65534
H.modes = { "root", "rootless" }

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

-- Runs a shell command line; returns { code, out, err }.
function H.sh(cmdline, opts)
  opts = opts or {}
  local out, err = os.tmpname(), os.tmpname()
  local prefix = ""
  if opts.mode == "rootless" then
    -- nobody must be able to write the capture files.
    os.execute("chmod 666 " .. out .. " " .. err)
    prefix = string.format("setpriv --reuid=%d --regid=%d --clear-groups -- ", H.NOBODY_UID, H.NOBODY_GID)
  end
  local env = opts.env and ("env " .. opts.env .. " ") or ""
  local full = string.format("cd %s && %s%ssh -c %s </dev/null >%s 2>%s", opts.cwd or "/tmp", env, prefix,
    H.quote(cmdline), out, err)
  local _, _, code = os.execute(full)
  local r = { code = code, out = slurp(out), err = slurp(err) }
  os.remove(out)
  os.remove(err)
  return r
end

-- Runs lunshare with a list of arguments.
function H.lunshare(args, opts)
  return H.sh(H.quote(H.bin) .. " " .. H.join(args), opts)
end

-- Writes a profile file readable by everyone and returns its path.
function H.profile(source)
  local path = os.tmpname() .. ".lua"
  local f = assert(io.open(path, "w"))
  f:write(source)
  f:close()
  os.execute("chmod 644 " .. path)
  return path
end

function H.lines(s)
  local t = {}
  for l in s:gmatch("[^\n]+") do t[#t + 1] = l end
  return t
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

return H
