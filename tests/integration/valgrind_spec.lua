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
end)
