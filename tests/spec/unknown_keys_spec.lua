-- Unknown keys are errors at every depth: a list holds its entries 1..n and nothing else,
-- so that no field the checks do not read can carry data past them (into diff, say).
-- #unit
local errors_of = require "profile_errors"
local profile = require "lunshare.profile"

local CASES = {
  { "return { namespaces = { 'user', x = 1 } }",
    "namespaces.x: unknown field: namespaces is a list of namespace names" },
  { "return { namespaces = { 'user' }, user = { map = { { 0, 0, 1, x = {} } } } }",
    "user.map[1].x: unknown field: user.map[1] is a list of three integers" },
  { "return { namespaces = { 'user' }, user = { map = { { 0, 0, 1 }, x = 1 } } }",
    "user.map.x: unknown field: user.map is a list of {inside, outside, count} ranges" },
  { "return { env = { keep = { 'A', x = 1 } } }", "env.keep.x: unknown field: env.keep is a list of strings" },
  { "return { env = { unset = { 'A', [3] = 'B' } } }", "env.unset[3]: unknown field: env.unset is a list of strings" },
  { "return { command = { '/bin/sh', x = 1 } }", "command.x: unknown field: command is a list of strings" },
  { "return { namespaces = { 'mount' }, mounts = { overlay { '/o', lower = { '/a', x = 1 } } } }",
    "mounts[1].lower.x: unknown field: mounts[1].lower is a list of host paths" },
  { "return { namespaces = { 'net' }, network = { links = { x = 1 } } }",
    "network.links.x: unknown field: network.links is a list of veth links" },
  { "return { namespaces = { 'net' }, network = { veth { host = 'h' }, [3] = veth { host = 'g' } } }",
    "network[3]: unknown field; expected one of join, links, or a list of veth { … }" },
  { "return { namespaces = { 'net' }, network = { links = { veth { host = 'h', routes = " ..
    "{ { to = 'default', via = '10.0.0.1' }, x = 1 } } } } }",
    "network.links[1].routes.x: unknown field: network.links[1].routes is a list of routes" },
  { "return { namespaces = { 'net' }, network = { links = { veth { host = 'h', address = { '10.0.0.1/24', x = 1 } } } } }",
    "network.links[1].address.x: unknown field: network.links[1].address is a list of addresses" },
  { "return { capabilities = { [5] = 'net_raw' } }",
    "capabilities[5]: unknown field: capabilities is a list of capability names" },
  { "return { seccomp = { allow = { 'ptrace', x = 1 } } }", "seccomp.allow.x: unknown field: seccomp.allow is a list of strings" },
  { "return { seccomp = { deny = { 'ptrace', [true] = 1 } } }",
    "seccomp.deny[true]: unknown field: seccomp.deny holds system call names and name = errno pairs" },
  { "return { limits = { nofile = { soft = 1, hard = 2, x = 1 } } }",
    "limits.nofile.x: unknown field; expected one of soft, hard, 1, 2" },
  { "return { keep_fds = { 3, x = 4 } }", "keep_fds.x: unknown field: keep_fds is a list of fd numbers" },
}

describe("unknown keys at every depth #unit", function()
  for _, case in ipairs(CASES) do
    it("are refused in " .. case[1], function()
      assert.same({ "t.lua:1: " .. case[2] }, errors_of(case[1]))
    end)
  end

  it("are refused in a params declaration's list of values", function()
    local path = os.tmpname() .. ".lua"
    local f = assert(io.open(path, "w"))
    f:write("local p = params { m = { values = { 'a', x = 'b' }, default = 'a' } }\nreturn {}\n")
    f:close()
    local p, errs = profile.load(path)
    os.remove(path)
    assert.is_nil(p)
    assert.equal(1, #errs)
    assert.equal("params.m.values", errs[1].path)
    assert.equal("expected a non-empty list of the values allowed", errs[1].msg)
  end)

  it("leave lists with only their entries alone", function()
    assert.same({}, errors_of("return { namespaces = { 'user', 'net' }, env = { keep = { 'A' } }, command = { '/bin/sh' }, " ..
      "capabilities = { 'net_raw' }, seccomp = { allow = { 'ptrace' }, deny = { 'bpf', keyctl = 'EPERM' } }, " ..
      "limits = { nofile = { 64, 128 } }, keep_fds = { 3 } }"))
  end)
end)
