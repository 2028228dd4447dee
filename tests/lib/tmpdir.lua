-- For specs: a new directory (in the suite's own temp dir) holding files = { [name] = text };
-- the suite removes it.
local H = require "helpers"

return function(files)
  local dir = H.tmpdir()
  for name, src in pairs(files) do
    local f = assert(io.open(dir .. "/" .. name, "w"))
    f:write(src)
    f:close()
  end
  return dir
end
