-- Every example of README.md and the man pages runs here, taken out of the documents
-- mechanically (tests/lib/doc_examples.lua): a new example is tested the day it is
-- written, and one that stops being true fails the suite. #integration
local H = require "helpers"
local D = require "doc_examples"

local DOCS = { "README.md", "docs/lunshare.1", "docs/lunshare-profile.5", "docs/lunshare-lua.3" }
local PATH = "PATH=" .. H.quote(H.bin:match("^(.*)/[^/]*$")) .. ":/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin"

local function blocks()
  local out = {}
  for _, doc in ipairs(DOCS) do
    local text = H.read(H.root .. "/" .. doc)
    local list = doc:match("%.md$") and D.markdown(doc, text) or D.man(doc, text)
    for _, b in ipairs(list) do out[#out + 1] = b end
  end
  return out
end

-- As root from the checkout, with this build's lunshare first on the path.
local function sh(cmd, opts)
  opts = opts or {}
  return H.sh("cd " .. H.quote(H.root) .. " && env " .. PATH .. " sh -c " .. H.quote(cmd), opts)
end

-- Inside a throwaway network and mount namespace with its own /run (as net_spec does):
-- links, named netns and routes an example makes never reach the machine.
local function in_world(cmd)
  return sh("unshare --net --mount sh -c " .. H.quote("mount -t tmpfs tmpfs /run || exit 99; " .. cmd),
    { timeout = 300 })
end

local function lines_of(s)
  local t = {}
  for l in (s .. "\n"):gmatch("(.-)\n") do t[#t + 1] = l end
  if t[#t] == "" then t[#t] = nil end
  return t
end

local dir = H.tmpdir("755")
teardown(function() H.rm(dir) end)

-- The files examples name beside them (`seccomp.file = "extra.rules"`, `extends =
-- "./base.lua"`), as the documents describe them.
local FIXTURES = {
  ["extra.rules"] = "deny:EACCES chown\nkill bpf\n",
  ["base.lua"] = 'return { extends = "default" }',
}

local function write(name, text)
  local path = dir .. "/" .. name
  local f = assert(io.open(path, "w"))
  f:write(text, "\n")
  f:close()
  H.sh("chmod 644 " .. H.quote(path))
  return path
end

local function check(path, where)
  local r = sh("lunshare check " .. H.quote(path))
  assert(r.code == 0, where .. ": lunshare check says:\n" .. r.out .. r.err)
end

for name, text in pairs(FIXTURES) do write(name, text) end

-- What a profile example says it keeps of the caller's environment, it keeps: each
-- variable of its own env.keep reaches the command with the caller's value.
local function keeps_what_it_says(path, where)
  local lunshare = require "lunshare"
  local src = H.read(path)
  local own = src:match("env%s*=%s*(%b{})")
  local keep = own and own:match("keep%s*=%s*(%b{})")
  if not keep then return end
  local p = assert(lunshare.load(path))
  local planner = require "lunshare.plan"
  for var in keep:gmatch('"([%w_]+)"') do
    local ctx = planner.context({ "true" })
    ctx.environ = { var .. "=/kept-by-" .. var }
    local plan = assert(planner.build(p, ctx))
    local env = plan.steps[#plan.steps].env
    assert(require("lunshare.util").contains(env, var .. "=/kept-by-" .. var),
      where .. ": the example keeps " .. var .. ", but the command gets " .. table.concat(env, " "))
  end
end

local RUN = {}

function RUN.console(b, where)
  for _, c in ipairs(D.console(b.text)) do
    local r = sh(c.cmd .. " 2>&1")
    local want = c.out
    while want[#want] == "" do want[#want] = nil end
    if #want == 0 then
      assert(r.code == 0, where .. ": " .. c.cmd .. " exited " .. r.code .. ":\n" .. r.out)
    else
      assert(D.match(want, lines_of(r.out)), where .. ": " .. c.cmd .. " printed\n" .. r.out ..
        "\nwhere the documentation shows\n" .. table.concat(want, "\n"))
    end
  end
end

function RUN.repl(b, where)
  local input, want = {}, {}
  -- A transcript may begin with the command that started the REPL (`$ lunshare repl
  -- default`): its arguments are the run's.
  local args, text = b.text:match("^%$ lunshare repl([^\n]*)\n(.*)$")
  text = text or b.text
  if text:match("^lunshare> ") then
    for l in (text .. "\n"):gmatch("(.-)\n") do
      local typed = l:match("^lunshare> (.*)$")
      if typed then input[#input + 1] = typed elseif l ~= "" then want[#want + 1] = l end
    end
  else
    input = lines_of(text)
  end
  local f = write("repl.in", table.concat(input, "\n"))
  local r = in_world("lunshare repl" .. (args or "") .. " < " .. H.quote(f))
  assert(r.code == 0 and r.err == "", where .. ": the repl said:\n" .. r.out .. r.err)
  -- What the transcript shows, but the numbers of this machine (fds, namespace ids).
  for _, w in ipairs(want) do
    if not w:find("%d") then
      assert(H.has_line(r.out, w), where .. ": the repl did not print '" .. w .. "':\n" .. r.out)
    end
  end
end

-- The last profile and topology seen, for the specs and commands that name them.
local last = {}

function RUN.profile(b, where)
  local path = write("example.lua", D.unelide(b.text))
  check(path, where)
  keeps_what_it_says(path, where)
  last.profile = b
end

function RUN.fragment(b, where)
  for _, e in ipairs(D.entries(D.unelide(b.text))) do
    local path = write("fragment.lua", "return {\n  extends = \"default\",\n" .. e .. "\n}")
    local what = where .. " (" .. e:gsub("\n.*", " …") .. ")"
    check(path, what)
    keeps_what_it_says(path, what)
  end
end

function RUN.topology(b, where)
  local path = write("topology.lua", b.text)
  local r = in_world("lunshare net up " .. H.quote(path) .. " && lunshare net status " .. H.quote(path) ..
    " && lunshare net down " .. H.quote(path))
  assert(r.code == 0, where .. ": net up/status/down:\n" .. r.out .. r.err)
  last.topology = path
end

function RUN.commands(b, where)
  local text = b.text:gsub("%f[%w]FILE%f[%W]", function()
    assert(last.topology, where .. ": FILE stands for a topology example, and none comes before")
    return H.quote(last.topology)
  end)
  local r = in_world("set -e; " .. text:gsub("\n", "; "))
  assert(r.code == 0, where .. ":\n" .. r.out .. r.err)
end

-- A spec over the profile before it, under the name it loads.
function RUN.spec(b, where)
  assert(last.profile, where .. ": a spec example needs a profile example before it")
  local name = b.text:match('lunshare%.load%("%./([%w_]+%.lua)"') or "web.lua"
  write(name, D.unelide(last.profile.text))
  local spec = write("example_spec.lua", b.text)
  local t = H.readable_lua()
  local r = H.sh("cd " .. H.quote(dir) .. " && lua5.4 /usr/bin/busted --lpath=" ..
    H.quote(t .. "/scripts/?.lua;" .. t .. "/scripts/?/init.lua") .. " --cpath=" ..
    H.quote(t .. "/lua/?.so") .. " " .. H.quote(spec))
  assert(r.code == 0, where .. ": busted says:\n" .. r.out .. r.err)
end

-- The set-up commands are what CI runs (the install spec runs the first one).
function RUN.setup(b, where)
  if b.text:find("tests/run", 1, true) then
    assert(H.read(H.root .. "/.ci/run"):find(b.text, 1, true), where .. ": .ci/run does not run " .. b.text)
  end
end

-- A listing of the checkout: each name at the left margin is there.
function RUN.listing(b, where)
  for _, l in ipairs(lines_of(b.text)) do
    local name = l:match("^([%w_.][%w_./%-]*)")
    if name then
      assert(H.sh("test -e " .. H.quote(H.root .. "/" .. name)).code == 0, where .. ": no " .. name .. " in the checkout")
    end
  end
end

-- Messages are shown, not run: each line must have the shape lunshare prints.
function RUN.messages(b, where)
  for _, l in ipairs(lines_of(b.text)) do
    assert(l:match("^[%w_.%-/]+%.lua:%d+: %S"), where .. ": not a message of lunshare's shape: " .. l)
  end
end

describe("documentation examples", function()
  local all = blocks()

  it("are all found, each of a kind the suite runs", function()
    assert.is_true(#all >= 30, "found only " .. #all .. " examples")
    for _, b in ipairs(all) do
      assert(b.kind and RUN[b.kind], string.format("%s:%d: an example of no known kind (%s); name one: %s",
        b.file, b.line, tostring(b.kind), table.concat(require("lunshare.util").sorted_keys(D.KINDS), ", ")))
    end
  end)

  -- The manual's list of what a cleared environment keeps is what default keeps.
  it("default keeps the variables the manual lists", function()
    local man = H.read(H.root .. "/docs/lunshare-profile.5")
    local list = man:match("%(default (TERM[^)]*)%)")
    assert.truthy(list)
    local set, check_cmd = {}, {}
    for var in list:gmatch("[%w_]+") do
      set[#set + 1] = var .. "=" .. var .. "-value"
      check_cmd[#check_cmd + 1] = "echo " .. var .. "=$" .. var
    end
    local r = sh("env " .. table.concat(set, " ") .. " lunshare run default -- sh -c " ..
      H.quote(table.concat(check_cmd, "; ")))
    assert.equal(0, r.code, r.err)
    assert.same(set, lines_of(r.out))
  end)

  -- A forward to a port below 1024 inside needs CAP_NET_BIND_SERVICE, which default
  -- drops: an example that shows one must keep it, or a reader's server cannot bind.
  it("forward ports into the sandbox that a default sandbox can bind", function()
    local seen = 0
    for _, b in ipairs(all) do
      for list in b.text:gmatch("ports%s*=%s*(%b{})") do
        for spec in list:gmatch("\"([^\"]*)\"") do
          local inside = tonumber(spec:gsub("/%a+$", ""):match("(%d+)$"))
          seen = seen + 1
          assert(inside >= 1024 or b.text:find("net_bind_service", 1, true), string.format(
            "%s:%d: \"%s\" forwards to port %d inside, which the default profile cannot bind " ..
            "(no CAP_NET_BIND_SERVICE)", b.file, b.line, spec, inside))
        end
      end
    end
    assert.is_true(seen >= 2, "found only " .. seen .. " forwards")
  end)

  -- lunshare(1)'s EXAMPLES name a few commands in bold, outside .EX: the diff among them
  -- runs as printed (exit 1: the two sides differ), with nothing on stderr.
  it("lunshare(1)'s EXAMPLES diff runs as printed", function()
    local man = H.read(H.root .. "/docs/lunshare.1")
    local line = man:match("\n%.SH EXAMPLES\n.-\n%.B (lunshare diff [^\n]*)\n")
    assert.truthy(line, "lunshare(1)'s EXAMPLES have no diff")
    local cmd = line:gsub("\\%-", "-")
    local r = sh(cmd)
    assert(r.code == 1 and r.err == "", cmd .. " exited " .. r.code .. ":\n" .. r.out .. r.err)
    assert.truthy(r.out:find("\nthey differ\n$"), r.out)
  end)

  for _, b in ipairs(all) do
    local where = b.file .. ":" .. b.line
    it(where .. " (" .. tostring(b.kind) .. ") runs as written", function()
      assert(RUN[b.kind], where .. ": unknown kind")
      RUN[b.kind](b, where)
    end)
  end
end)
