-- bash completion (scripts/bash-completion/lunshare) through bash itself: the function
-- is given the words a person has typed and what it offers is read back. #integration
local H = require "helpers"

-- What _lunshare offers for the words typed so far, the last one being completed.
local function offers(words, env)
  local w = { H.bin }
  for _, x in ipairs(words) do w[#w + 1] = x end
  local script = "source " .. H.quote(H.root .. "/scripts/bash-completion/lunshare") .. " && COMP_WORDS=(" ..
    H.join(w) .. ") && COMP_CWORD=" .. #words .. " && _lunshare && printf '%s\\n' \"${COMPREPLY[@]}\""
  local r = H.sh("bash -c " .. H.quote(script), { env = env })
  assert.equal(0, r.code, r.err)
  return H.lines(r.out)
end

describe("bash completion", function()
  it("completes subcommands", function()
    assert.same({ "remove", "repl", "run" }, offers({ "r" }))
    assert.same({ "show" }, offers({ "sh" }))
  end)

  it("completes profile names, builtin: ones and files", function()
    local o = offers({ "test", "ag" })
    assert.same({ "agent" }, o)
    assert.same({ "builtin:tar" }, offers({ "run", "builtin:ta" }))
    local d = H.tmpdir()
    H.sh("touch " .. H.quote(d .. "/mine.lua"))
    assert.same({ d .. "/mine.lua" }, offers({ "check", d .. "/mi" }))
    H.rm(d)
  end)

  it("completes a profile's parameters after --set, and a command after --", function()
    assert.same({ "cpu=", "memory=", "work=" }, offers({ "run", "agent", "--set", "" }))
    assert.same({ "memory=" }, offers({ "show", "agent", "--set", "m" }))
    assert.same({ "sha256sum" }, offers({ "run", "tar", "--", "sha256s" }))
  end)

  it("completes plug and unplug: the caller's running sandboxes, bind or veth, and what is plugged", function()
    local name = "ls" .. H.RUN .. "-cmp"
    local function complete(words)
      return "(source " .. H.quote(H.root .. "/scripts/bash-completion/lunshare") .. " && COMP_WORDS=(" ..
        H.join({ H.bin, table.unpack(words) }) .. ") && COMP_CWORD=" .. #words ..
        " && _lunshare && printf '%s\\n' \"${COMPREPLY[@]}\")"
    end
    local r = H.after_ready(H.quote(H.bin) .. " run --no-pty --name " .. name .. " -- sh -c 'echo ready; exec sleep 60'",
      table.concat({
        "bash -c " .. H.quote(complete({ "plug", name:sub(1, -3) })),
        "bash -c " .. H.quote(complete({ "plug", name, "" })),
        "bash -c " .. H.quote(complete({ "plug", name, "veth", "lsx0", "--to", name:sub(1, -3) })),
        H.quote(H.bin) .. " plug " .. name .. " bind /etc /tmp/lscmp",
        "bash -c " .. H.quote(complete({ "unplug", name, "/tmp/ls" })),
        "kill $P; wait $P",
      }, "; "))
    assert.equal(name .. "\nbind\nveth\n" .. name .. "\n/tmp/lscmp\n", r.out, r.err .. r.cmd_err)
  end)

  it("completes the installed recipes for remove", function()
    local d = H.tmpdir("700")
    local prof = d .. "/lunshare/profiles"
    H.sh("mkdir -p " .. H.quote(prof) .. " && chmod -R 700 " .. H.quote(d) .. " && echo " ..
      H.quote(string.rep("a", 64) .. "  mine.lua") .. " > " .. H.quote(prof .. "/.lunshare-manifest"))
    assert.same({ "mine" }, offers({ "remove", "m" }, "XDG_CONFIG_HOME=" .. H.quote(d)))
    H.rm(d)
  end)
end)
