-- Loaded by busted before any spec (.busted names it, for tests/run and for a spec run by
-- hand alike):
--  * the specs' temporary files go into the suite's own directory (LSH_TEST_TMP, which
--    tests/run makes and removes; without tests/run, one made here and removed when busted
--    ends), never /tmp itself: Lua's os.tmpname always uses /tmp, whatever TMPDIR says;
--  * a spec cannot run a command without a time limit: os.execute and io.popen called from
--    a spec file raise, naming the helpers (H.sh) to use, and every other caller's command
--    runs under timeout(1).
local H = require "helpers"

local execute, popen = os.execute, io.popen
local LIMIT = string.format("timeout -k %d %d sh -c ", H.GRACE, H.TIMEOUT)

if not H.tmp then
  local p = assert(popen(LIMIT .. H.quote("d=$(mktemp -d /tmp/lunshare-spec.XXXXXX) && chmod 755 \"$d\" && " ..
    "mkdir -m 1777 \"$d/tmp\" && echo \"$d\"")))
  local top = p:read("l")
  p:close()
  assert(top and top ~= "", "cannot make a temporary directory for the specs")
  H.tmp = top .. "/tmp"
  -- As tests/run does: the binary and the probes under test, copied where nobody can
  -- reach them (the checkout may be root's own, mode 0700).
  local built = not os.getenv("LUNSHARE_BIN") and io.open(H.bin)
  if built then
    built:close()
    local bin = top .. "/bin"
    execute(LIMIT .. H.quote("mkdir -m 755 " .. H.quote(bin) .. " && cp " .. H.quote(H.bin) .. " " ..
      H.quote(H.bin .. "-probe") .. " " .. H.quote(bin) ..
      " && { [ ! -d " .. H.quote(H.probes) .. " ] || cp -r " .. H.quote(H.probes) .. " " .. H.quote(bin .. "/probes") ..
      "; } && chmod -R a+rX " .. H.quote(bin)))
    H.bin, H.probes = bin .. "/lunshare", bin .. "/probes"
  end
  require("busted").subscribe({ "exit" }, function()
    execute(LIMIT .. H.quote("rm -rf " .. H.quote(top)))
    return nil, true
  end)
end

local n = 0
local tag = string.format("%x%04x", os.time(), math.random(0, 0xffff))
os.tmpname = function()
  while true do
    n = n + 1
    local path = string.format("%s/t%s_%d", H.tmp, tag, n)
    local f = io.open(path, "r")
    if not f then
      f = assert(io.open(path, "w"))
      f:close()
      return path
    end
    f:close()
  end
end

-- Whether the caller of os.execute or io.popen is a spec file.
local function from_spec()
  local info = debug.getinfo(3, "S")
  return info and info.source:find("_spec%.lua$") ~= nil
end

os.execute = function(cmd)
  if from_spec() then
    error("os.execute in a spec: run commands through the helpers (H.sh), " ..
      "which give each a time limit", 2)
  end
  if cmd == nil then return execute() end
  return execute(LIMIT .. H.quote(cmd))
end

io.popen = function(cmd, mode)
  if from_spec() then
    error("io.popen in a spec: run commands through the helpers (H.sh), " ..
      "which give each a time limit", 2)
  end
  return popen(LIMIT .. H.quote(cmd), mode)
end
