-- README's Layout is the one map of the tree: every source file of core/, bindings/ and
-- scripts/lunshare/ is named there (under its directory's paragraph), and every file name
-- it gives exists, so the map cannot drift from the tree. #unit
local H = require "helpers"

local function layout()
  local readme = H.read(H.root .. "/README.md")
  local text = readme:match("\n## Layout\n.-```text\n(.-)```")
  assert(text, "README.md has no Layout block")
  -- The paragraph of each top-level entry: its label at column 0 or 2, then the text
  -- indented under it.
  local paragraphs, current = {}, nil
  for line in text:gmatch("[^\n]*") do
    local label = line:match("^(%S+)%s") or line:match("^  (%S+)%s")
    if label then
      current = label
      paragraphs[current] = (paragraphs[current] or "") .. " " .. line:sub(#label + 1)
    elseif current then
      paragraphs[current] = paragraphs[current] .. " " .. line
    end
  end
  return paragraphs
end

local function files(dir, pattern)
  local list = {}
  local r = H.sh("cd " .. H.quote(H.root .. "/" .. dir) .. " && ls")
  assert(r.code == 0, r.err)
  for name in r.out:gmatch("[^\n]+") do
    if name:match(pattern) then list[#list + 1] = name end
  end
  return list
end

local function names_in(paragraph)
  local set = {}
  for name in paragraph:gmatch("[%w_/<>-]+[%w_/.<>-]*%.[%a]+") do
    local ext = name:match("%.(%a+)$")
    if ext == "c" or ext == "h" or ext == "lua" or ext == "in" then set[name] = true end
  end
  return set
end

-- Each directory, the paragraph that maps it, and the files it must name.
local DIRS = {
  { dir = "core", label = "core/", pattern = "%.[ch]$", extra = { ["include/lunshare.h"] = true, ["lunshare.pc.in"] = true } },
  { dir = "bindings", label = "bindings/", pattern = "%.[ch]$", extra = { ["tools/embed.c"] = true } },
  -- The CLI's shared modules sit in scripts/lunshare/ and are told with the commands.
  { dir = "scripts/lunshare", label = "lunshare/", also = "lunshare/cmd/", pattern = "%.lua$" },
  { dir = "scripts/lunshare/cmd", label = "lunshare/cmd/", pattern = "%.lua$", extra = { ["cli.lua"] = true,
    ["command.lua"] = true, ["command_line.lua"] = true, ["run_plan.lua"] = true, ["options.lua"] = true, ["cmdline_layer.lua"] = true } },
  { dir = "scripts/lunshare/topology", label = "lunshare/topology/", pattern = "%.lua$" },
}

describe("README's Layout", function()
  local paragraphs = layout()

  for _, d in ipairs(DIRS) do
    it("names every file of " .. d.dir .. "/, and nothing that is not there", function()
      local paragraph = assert(paragraphs[d.label], "no paragraph for " .. d.label)
      local named = names_in(paragraph)
      local also = d.also and names_in(paragraphs[d.also]) or {}
      local missing, stale = {}, {}
      for _, f in ipairs(files(d.dir, d.pattern)) do
        if not named[f] and not also[f] then missing[#missing + 1] = f end
      end
      for name in pairs(named) do
        local path = H.root .. "/" .. d.dir .. "/" .. name
        local elsewhere = d.extra and d.extra[name]
        if not elsewhere and not name:find("<", 1, true) and not io.open(path) then stale[#stale + 1] = name end
        if elsewhere and not (io.open(path) or io.open(H.root .. "/" .. d.dir .. "/../" .. name)) then
          stale[#stale + 1] = name
        end
      end
      table.sort(missing)
      table.sort(stale)
      assert.same({}, missing, d.dir .. ": not in README's Layout")
      assert.same({}, stale, d.dir .. ": in README's Layout, not in the tree")
    end)
  end
end)
