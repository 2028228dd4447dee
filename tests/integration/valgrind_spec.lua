-- valgrind finds no leak and no memory error in the CLI's normal paths. The sandbox's own
-- processes (forked, then exec'd or _exit'ed) are not the CLI's; valgrind follows only the
-- supervisor. #integration
local H = require "helpers"

local VG = "valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect " ..
  "--show-leak-kinds=definite,indirect --child-silent-after-fork=yes --error-exitcode=99 "

local cases = {
  { "version" }, { "help" }, { "check", "default" }, { "explain", "default" },
  { "explain", "default", "--json" }, { "run", "default", "--", "true" },
  { "run", "default", "--", "sh", "-c", "exit 3" }, { "run", "no-such-profile" },
  { "frobnicate" }, { "run", "default", "--", "no-such-command-lsh" },
}

describe("valgrind #valgrind", function()
  if H.sh("command -v valgrind").code ~= 0 then
    it("needs valgrind", function() pending("valgrind is not installed") end)
    return
  end
  for _, mode in ipairs(H.modes) do
    for _, args in ipairs(cases) do
      it("is clean for lunshare " .. table.concat(args, " ") .. " (" .. mode .. ")", function()
        local r = H.sh(VG .. H.quote(H.bin) .. " " .. H.join(args), { mode = mode, timeout = 600 })
        assert.not_equal(99, r.code, r.err)
        assert.falsy(r.err:find("==%d+=="), r.err)
      end)
    end
  end

  -- The netlink requests send the kernel no byte the heap left there (their buffer is
  -- malloc'ed; libmnl leaves an attribute's padding as it was). In a network namespace of
  -- the test's own.
  it("is clean for core.netlink's requests", function()
    local script = H.file(table.concat({
      "package.cpath = " .. string.format("%q", H.build .. "/lua/?.so") .. " .. ';' .. package.cpath",
      "local core = require 'lunshare.core'",
      "local h = assert(core.netlink())",
      "assert(h:link_index('lo') == 1)",
      "assert(h:links())",
      "assert(not h:link_del('nope0'))",
      "assert(h:addrs() and h:routes())",
      "h:close()",
    }, "\n"))
    local r = H.sh("unshare -n " .. VG .. "lua5.4 " .. H.quote(script), { timeout = 600 })
    assert.equal(0, r.code, r.err)
    assert.falsy(r.err:find("==%d+=="), r.err)
  end)
end)
