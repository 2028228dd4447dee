-- require "lunshare": a table given to load, plan or run goes through the loader and the
-- schema as a file's value does (extends honoured, every field checked). #unit
local lunshare = require "lunshare"
local H = require "helpers"

local DEFAULT = H.root .. "/profiles/default.lua"

local function step(plan, op)
  for _, s in ipairs(plan.steps) do
    if s.op == op then return s end
  end
end

describe("a profile table through the API #unit", function()
  it("is an error with the nearest name for a misspelt namespace, never dropped", function()
    local plan, err = lunshare.plan({ namespaces = { "nett" } })
    assert.is_nil(plan)
    assert.equal("<table>: namespaces[1]: unknown namespace 'nett' (did you mean 'net'?); " ..
      "expected one of user, mount, pid, net, ipc, uts, cgroup, time", err)
  end)

  it("honours extends: the parent's fields are merged under the table's", function()
    local plan = assert(lunshare.plan({ extends = DEFAULT, namespaces = { "+uts" }, hostname = "zz" }))
    assert.equal("zz", step(plan, "hostname").name)
    assert.same({ "user", "mount", "pid", "net", "ipc", "uts", "cgroup" }, step(plan, "clone").namespaces)
    assert.truthy(step(plan, "pivot"), "the parent's mounts are planned")
    assert.equal(#assert(lunshare.plan(DEFAULT)).steps, #plan.steps)
  end)

  it("names a bad field in a message, not an error of the planner", function()
    local plan, err = lunshare.plan({ mounts = { ro_bind = 3 } })
    assert.is_nil(plan)
    assert.equal("<table>: mounts.ro_bind: unknown field: mounts is a list of mounts", err)
    local _, err2 = lunshare.plan({ mounts = { 3 } })
    assert.falsy(err2:find("plan.lua", 1, true), err2)
    assert.truthy(H.has_line(err2, "<table>: mounts[1]: expected a mount (a table with a kind, e.g. ro_bind \"/usr\"), got number"), err2)
  end)

  it("is loaded by load, with every error, and opts.file names it", function()
    local p, errs = lunshare.load({ namespaces = { "nett" }, hostnme = "x" }, { file = "repl" })
    assert.is_nil(p)
    assert.same({
      "repl: hostnme: unknown field (did you mean 'hostname'?); expected one of " ..
        table.concat(require("lunshare.schema").FIELDS, ", "),
      "repl: namespaces[1]: unknown namespace 'nett' (did you mean 'net'?); " ..
        "expected one of user, mount, pid, net, ipc, uts, cgroup, time",
    }, errs)
    local ok = assert(lunshare.load({ extends = DEFAULT }))
    assert.equal("lunshare", ok.hostname)
  end)

  it("checks a loaded profile again when it comes back, with its own lines", function()
    local p = assert(lunshare.load(DEFAULT))
    assert.equal(#assert(lunshare.plan(DEFAULT)).steps, #assert(lunshare.plan(p)).steps)
    p.hostname = "bad name"
    local plan, err = lunshare.plan(p)
    assert.is_nil(plan)
    assert.truthy(err:find("^" .. DEFAULT:gsub("%p", "%%%0") .. ":%d+: hostname: expected a host name"), err)
  end)

  it("is refused by run before anything runs", function()
    local code, err = lunshare.run({ namespaces = { "nett" } }, { "true" })
    assert.is_nil(code)
    assert.truthy(err:find("did you mean 'net'", 1, true), err)
  end)

  it("raises for what is neither a name nor a table", function()
    assert.has_error(function() lunshare.plan(42) end,
      "bad argument #1 to 'plan' (expected a profile name, a path or a table, got number)")
    assert.has_error(function() lunshare.load(true) end,
      "bad argument #1 to 'load' (expected a profile name, a path or a table, got boolean)")
  end)
end)
