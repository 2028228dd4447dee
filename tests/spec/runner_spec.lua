-- tests/run builds in a tree of its own: the developer's build/ and the options of its
-- cache (LSH_WERROR, a Debug build, a sanitizer) are never touched by a run of the suite. #unit
--
-- The run is made in a throwaway checkout (tests/run, the helpers and one passing spec)
-- with a cmake of its own on PATH that does what cmake does to a cache (-B DIR -DNAME=VALUE
-- writes NAME into DIR/CMakeCache.txt) and builds nothing, so that the case takes a second
-- and, if tests/run ever configures build/ again, spoils only the throwaway one.
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
    -- hold a link or a mount for a moment, which the inner run would count as its own.)
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
end)
