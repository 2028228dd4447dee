-- tests/run builds in a tree of its own: the developer's build/ and the options of its
-- cache (LSH_WERROR, a Debug build, a sanitizer) are never touched by a run of the suite. #unit
--
-- The run is made in a throwaway checkout (tests/run, the helpers and one passing spec)
-- with a cmake of its own on PATH that does what cmake does to a cache (-B DIR -DNAME=VALUE
-- writes NAME into DIR/CMakeCache.txt) and builds nothing, so that the case takes a second
-- and, if tests/run ever configures build/ again, spoils only the throwaway one.
--
-- The house rule "every test passes from a checkout in /root (mode 0700), beside another
-- run of the suite": a real run from a throwaway 0700 checkout whose path holds a space,
-- and a leftover check that blames a run for its own objects only. Both need root (the
-- nested run's integration cases, unshare) and tests/run's build tree, else they pend.
local H = require "helpers"

local FAKE_CMAKE = [[#!/bin/sh
if [ "$1" = --build ]; then
  touch "$2/lunshare" "$2/lunshare-probe" && chmod 755 "$2/lunshare" "$2/lunshare-probe"
  exit
fi
dir= opts=
while [ $# -gt 0 ]; do
  case $1 in
    -B) dir=$2; shift ;;
    -D*) opts="$opts ${1#-D}" ;;
  esac
  shift
done
mkdir -p "$dir" && touch "$dir/CMakeCache.txt" || exit 1
for o in $opts; do
  name=${o%%=*}
  grep -v "^$name:" "$dir/CMakeCache.txt" >"$dir/cache.new"
  echo "$name:BOOL=${o#*=}" >>"$dir/cache.new"
  mv "$dir/cache.new" "$dir/CMakeCache.txt"
done
]]

describe("tests/run #unit", function()
  it("--only leaves the developer's build/ and its cache options as they were", function()
    local t = H.tmpdir()
    finally(function() H.sh("rm -rf " .. H.quote(t)) end)
    local q = H.quote
    local r = H.sh(table.concat({
      "mkdir -p " .. q(t .. "/tests/spec") .. " " .. q(t .. "/fake") .. " " .. q(t .. "/build"),
      "cp " .. q(H.root .. "/tests/run") .. " " .. q(t .. "/tests/run"),
      "cp " .. q(H.root .. "/.busted") .. " " .. q(t .. "/.busted"),
      "ln -s " .. q(H.root .. "/tests/lib") .. " " .. q(t .. "/tests/lib"),
      "ln -s " .. q(H.root .. "/scripts") .. " " .. q(t .. "/scripts"),
      "printf '%s' " .. q(FAKE_CMAKE) .. " >" .. q(t .. "/fake/cmake") .. " && chmod 755 " .. q(t .. "/fake/cmake"),
      "printf 'LSH_WERROR:BOOL=OFF\\nCMAKE_BUILD_TYPE:STRING=Debug\\n' >" .. q(t .. "/build/CMakeCache.txt"),
      "printf 'describe(\"x\", function() it(\"passes\", function() end) end)\\n' >" .. q(t .. "/tests/spec/ok_spec.lua"),
    }, " && "))
    assert.equal(0, r.code, r.err)
    local before = H.read(t .. "/build/CMakeCache.txt")
    r = H.sh("env -u LSH_TEST_BUILD -u LUNSHARE_BUILD -u LSH_SPECS PATH=" .. q(t .. "/fake") .. ":\"$PATH\" " ..
      q(t .. "/tests/run") .. " --only tests/spec/ok_spec.lua", { cwd = t })
    -- The spec ran and passed. (Not the run's last line: another suite on this machine may
    -- start pasta or make /dev/shm/lsh* meanwhile, which the inner run, counting those by
    -- before and after, would take for its own.)
    assert.truthy(r.out:find("# selected specs: 1 passed, 0 skipped, 0 failed\n", 1, true), r.out .. r.err)
    assert.equal(before, H.read(t .. "/build/CMakeCache.txt"))
    -- It did configure, with warnings as errors, in its own tree.
    assert.truthy(H.read(t .. "/build-test/CMakeCache.txt"):find("LSH_WERROR:BOOL=ON", 1, true))
  end)

  -- HACKING's "one spec by hand": no variable at all (env -i, and a $PWD that lies), in a
  -- checkout where only tests/run has built (build-test/, no build/).
  it("lets a spec run by hand with no environment, finding the checkout and build-test/'s module", function()
    local t = H.tmpdir()
    finally(function() H.sh("rm -rf " .. H.quote(t)) end)
    local q = H.quote
    local real = H.sh("cd " .. q(t) .. " && pwd -P").out:gsub("\n$", "")
    local spec = "local H = require 'helpers'\n" ..
      "describe('by hand', function() it('finds it all', function()\n" ..
      "  assert.is_string(require('lunshare.core').version)\n" ..
      "  assert.equal('./build-test/lua/lunshare/core.so', package.searchpath('lunshare.core', package.cpath))\n" ..
      "  assert.equal(" .. string.format("%q", real) .. ", H.root)\n" ..
      "  assert.equal(H.root .. '/build', H.build)\n" ..
      "end) end)\n"
    local r = H.sh(table.concat({
      "mkdir -p " .. q(t .. "/tests/spec") .. " " .. q(t .. "/build-test"),
      "cp " .. q(H.root .. "/.busted") .. " " .. q(t .. "/.busted"),
      "ln -s " .. q(H.root .. "/tests/lib") .. " " .. q(t .. "/tests/lib"),
      "ln -s " .. q(H.root .. "/scripts") .. " " .. q(t .. "/scripts"),
      "ln -s " .. q(H.build .. "/lua") .. " " .. q(t .. "/build-test/lua"),
      "printf '%s' " .. q(spec) .. " >" .. q(t .. "/tests/spec/hand_spec.lua"),
    }, " && "))
    assert.equal(0, r.code, r.err)
    r = H.sh("env -i PATH=/usr/bin:/bin PWD=/ lua5.4 /usr/bin/busted tests/spec/hand_spec.lua", { cwd = t })
    assert.equal(0, r.code, r.out .. r.err)
    assert.truthy(r.out:find("1 success / 0 failures / 0 errors", 1, true), r.out)
  end)

  local function needs_root_and_build()
    if H.sh("id -u").out ~= "0\n" then return "needs root (the nested run's integration cases, unshare)" end
    if not os.getenv("LUNSHARE_BUILD") then return "needs tests/run's build tree (LUNSHARE_BUILD)" end
  end

  -- What a 0700 checkout breaks is the rootless half: nobody cannot reach a binary, a
  -- probe, a profile or a spec's file inside it, so tests/run and the helpers copy what
  -- nobody runs or reads out of the checkout. The build tree is inside the throwaway
  -- checkout too (a link to this run's, which tests/run uses as built: no second build).
  -- The checkout is the working tree as it is (git stash create: edits included), cloned
  -- with --shared, so that nothing is registered in this repository (no worktree to
  -- prune) and removing the directory removes it all.
  it("passes an integration spec in both modes from a 0700 checkout whose path holds a space", function()
    local why = needs_root_and_build()
    if why then return pending(why) end
    local q = H.quote
    local SPEC = "tests/integration/composition_spec.lua"
    local t = H.tmpdir("700")
    finally(function() H.rm(t) end)
    local co = t .. "/a b/lunshare"
    local r = H.sh(table.concat({
      "mkdir -m 700 " .. q(t .. "/a b"),
      "c=$(git -C " .. q(H.root) .. " -c user.name=lunshare-tests -c user.email=tests@localhost stash create)",
      "c=${c:-$(git -C " .. q(H.root) .. " rev-parse HEAD)}",
      "git clone -q --shared --no-checkout " .. q(H.root) .. " " .. q(co),
      "git -C " .. q(co) .. " checkout -q --detach \"$c\"",
      "ln -s " .. q(os.getenv("LUNSHARE_BUILD")) .. " " .. q(co .. "/build-test"),
    }, " && "), { timeout = 120 })
    assert.equal(0, r.code, r.out .. r.err)
    -- The cases the spec has, each mode's: all of them must pass (or pend, never fail).
    local list = H.sh("lua5.4 /usr/bin/busted --list " .. SPEC, { cwd = H.root })
    assert.equal(0, list.code, list.out .. list.err)
    local cases = #H.lines(list.out)
    assert.truthy(list.out:find("(root)\n", 1, true) and list.out:find("(rootless)\n", 1, true), list.out)
    r = H.sh("env -u LSH_SPECS -u LUNSHARE_BIN -u LUNSHARE_PROBES -u LUNSHARE_ROOT -u LUNSHARE_BUILD " ..
      "-u LSH_TEST_TMP -u LSH_TEST_RUN LSH_TEST_BUILD=" .. q(co .. "/build-test") .. " " ..
      q(co .. "/tests/run") .. " --only " .. SPEC, { cwd = co, timeout = 900 })
    local all = r.out .. r.err
    assert.truthy(all:find("configured from " .. H.root .. ", used as built there", 1, true), all)
    local p, s, f = r.out:match("\n# selected specs: (%d+) passed, (%d+) skipped, (%d+) failed\n")
    assert.truthy(p, all)
    assert.equal(0, tonumber(f), all)
    assert.equal(cases, tonumber(p) + tonumber(s), all)
    assert.truthy(tonumber(p) > 0, all)
    -- The summary line ends the run, and nothing was left behind.
    assert.truthy(r.out:find("\n" .. p .. " passed, 0 failed\n$"), all)
    assert.equal(0, r.code, all)
  end)

  -- A second run on this machine must not count the first one's objects as its own
  -- leftovers, and a run must still count its own. In a throwaway world (unshare --net
  -- --mount, a tmpfs on /run), a spec leaves a veth pair, a named netns and a mount in
  -- lunshare's state directory (there before the run: shared) under this run's tag, and
  -- the same under another tag, as a run beside it would.
  it("counts as left behind the links and netns named with its own tag, and not another run's", function()
    local why = needs_root_and_build()
    if why then return pending(why) end
    local t = H.tmpdir()
    finally(function() H.rm(t) end)
    local q = H.quote
    local leak = "local H = require 'helpers'\n" ..
      "describe('a leak', function() it('leaves a link and a netns under each of two tags', function()\n" ..
      "  local other = string.format('%04x', (tonumber(H.RUN, 16) + 1) % 0x10000)\n" ..
      "  local r = H.sh('ip link add ls' .. H.RUN .. '-m type veth peer name ls' .. H.RUN .. '-n' ..\n" ..
      "    ' && ip link add ls' .. other .. '-m type veth peer name ls' .. other .. '-n' ..\n" ..
      "    ' && ip netns add lsn' .. H.RUN .. ' && ip netns add lsn' .. other ..\n" ..
      "    ' && for n in ls' .. H.RUN .. '-s ls' .. other .. '-s; do d=/run/lunshare/sandboxes/$n; ' ..\n" ..
      "    'mkdir -p $d && mount -t tmpfs lsh-leak $d || exit 1; done')\n" ..
      "  assert.equal(0, r.code, r.err)\n" ..
      "end) end)\n"
    local r = H.sh(table.concat({
      "mkdir -p " .. q(t .. "/tests/spec") .. " " .. q(t .. "/fake"),
      "cp " .. q(H.root .. "/tests/run") .. " " .. q(t .. "/tests/run"),
      "cp " .. q(H.root .. "/.busted") .. " " .. q(t .. "/.busted"),
      "ln -s " .. q(H.root .. "/tests/lib") .. " " .. q(t .. "/tests/lib"),
      "ln -s " .. q(H.root .. "/scripts") .. " " .. q(t .. "/scripts"),
      "printf '%s' " .. q(FAKE_CMAKE) .. " >" .. q(t .. "/fake/cmake") .. " && chmod 755 " .. q(t .. "/fake/cmake"),
      "printf '%s' " .. q(leak) .. " >" .. q(t .. "/tests/spec/leak_spec.lua"),
    }, " && "))
    assert.equal(0, r.code, r.err)
    local inner = "mount -t tmpfs lsh-run /run && mkdir /run/lunshare && exec env -u LSH_TEST_BUILD -u LUNSHARE_BUILD -u LSH_SPECS " ..
      "-u LSH_TEST_TMP -u LSH_TEST_RUN PATH=" .. q(t .. "/fake") .. ":\"$PATH\" " ..
      q(t .. "/tests/run") .. " --only tests/spec/leak_spec.lua"
    r = H.sh("unshare --net --mount --propagation private sh -c " .. q(inner), { cwd = t, timeout = 120 })
    local all = r.out .. r.err
    assert.truthy(r.out:find("# selected specs: 1 passed, 0 skipped, 0 failed\n", 1, true), all)
    local left = {}
    for l in r.out:gmatch("not ok %- left behind: ([^\n]*)") do left[#left + 1] = l end
    table.sort(left)
    assert.equal(4, #left, all)
    local tag = left[1]:match("^link ls(%x%x%x%x)%-m$")
    assert.truthy(tag, all)
    assert.same({ "link ls" .. tag .. "-m", "link ls" .. tag .. "-n",
      "mount /run/lunshare/sandboxes/ls" .. tag .. "-s", "named netns lsn" .. tag }, left)
    assert.truthy(r.out:find("\n1 passed, 4 failed\n$"), all)
    assert.is_not.equal(0, r.code)
  end)
end)
