-- Loaded by busted before any spec (tests/run passes --helper): the temporary files specs
-- make with os.tmpname go into the suite's own directory, which tests/run removes, instead
-- of piling up in /tmp. Lua's os.tmpname always uses /tmp, whatever TMPDIR says.
local dir = os.getenv("LSH_TEST_TMP")
if dir and dir ~= "" then
  local n = 0
  local tag = tostring(os.time()) .. tostring(math.random(1000000))
  os.tmpname = function()
    while true do
      n = n + 1
      local path = string.format("%s/t%s_%d", dir, tag, n)
      local f = io.open(path, "r")
      if not f then
        f = assert(io.open(path, "w"))
        f:close()
        return path
      end
      f:close()
    end
  end
end
