-- `lunshare diff`: what two profiles grant, compared. The grants are the effective summary
-- of lunshare.grants (the same whatever way a profile spells them), as text by category;
-- nothing of a profile's raw data is printed back.
local util = require "lunshare.util"
local grants = require "lunshare.grants"

local M = {}

-- { [heading] = { "item", … } } for profile p as seen by caller ctx (by default, this
-- process: grants.context()).
function M.grants(profile, ctx)
  return grants.lines(grants.summary(profile, ctx or grants.context()))
end

-- Every grant of both, by category: "    item" in both, "  - item" only in old, "  + item"
-- only in new; and whether they differ.
function M.text(old, new, old_name, new_name)
  local order, cats = {}, {}
  for _, c in ipairs(grants.CATEGORIES) do order[#order + 1], cats[c[2]] = c[2], true end
  for _, side in ipairs({ old, new }) do
    for _, k in ipairs(util.sorted_keys(side)) do
      if not cats[k] then order[#order + 1], cats[k] = k, true end
    end
  end
  local out, differ = { "--- " .. util.text(old_name) .. "\n+++ " .. util.text(new_name) .. "\n" }, false
  for _, cat in ipairs(order) do
    local a, b = {}, {}
    for _, x in ipairs(old[cat] or {}) do a[x] = true end
    for _, x in ipairs(new[cat] or {}) do b[x] = true end
    -- Items and categories hold what the profiles wrote: escaped once (util.text), one line each.
    local lines = {}
    for _, x in ipairs(old[cat] or {}) do
      if b[x] then lines[#lines + 1] = "    " .. util.text(x) else lines[#lines + 1] = "  - " .. util.text(x) end
    end
    for _, x in ipairs(new[cat] or {}) do
      if not a[x] then
        differ = true
        lines[#lines + 1] = "  + " .. util.text(x)
      end
    end
    for _, x in ipairs(old[cat] or {}) do
      if not b[x] then differ = true end
    end
    if #lines > 0 then out[#out + 1] = util.text(cat) .. ":\n" .. table.concat(lines, "\n") .. "\n" end
  end
  out[#out + 1] = differ and "they differ\n" or "they grant the same\n"
  return table.concat(out), differ
end

return M
