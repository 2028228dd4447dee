-- The plan cache's parts without a sandbox: the serialization its keys and entries use,
-- the recorder that finds every host input of a load and plan, and the plan codec, whose
-- decoder validates as the executor does. #unit
local core = require "lunshare.core"
local plancache = require "lunshare.plancache"

local function plan_of(steps) return { steps = steps } end

local GOOD = plan_of({
  { op = "clone", namespaces = { "user", "pid", "mount" }, origin = "p.lua:1" },
  { op = "uid_map", map = "0 1000 1\n" },
  { op = "hostname", name = "box" },
  { op = "exec", argv = { "/bin/echo", "a b", "line\nnext", "" }, env = { "PATH=/bin" }, reaper = true,
    origin = "command line" },
})

describe("plan cache #unit", function()
  describe("serialization", function()
    it("gives equal bytes for equal values, whatever the order of the keys", function()
      local a = plancache.serialize({ x = 1, y = { "a", true, 2.5 }, [3] = "three" })
      local b = plancache.serialize({ [3] = "three", y = { "a", true, 2.5 }, x = 1 })
      assert.equal(a, b)
      assert.not_equal(a, plancache.serialize({ x = 1, y = { "a", true, 2.5 }, [3] = "thre" }))
      assert.not_equal(plancache.serialize({ 1 }), plancache.serialize({ "1" }))
    end)

    it("reads back what it wrote, and refuses what it did not", function()
      local v = { key = "k", calls = { { "read_file", plancache.serialize(table.pack("/x", nil)), "d" } },
        n = 3, f = -0.5, t = true, s = "with\nnewline and \0 byte" }
      assert.same(v, plancache.deserialize(plancache.serialize(v)))
      for _, bad in ipairs({ "", "x", "s5:abc", "t", "i12", "s99999999999:a", "tT", "i1;i2;", ("t"):rep(100) }) do
        assert.is_nil(plancache.deserialize(bad), bad)
      end
    end)
  end)

  describe("serialization in C", function()
    it("writes the form lunshare.plancache describes, byte for byte", function()
      assert.equal("ti1;s1:ai2;Ts1:nf0.5;e", core.serialize({ "a", true, n = 0.5 }))
      -- a nil is no entry of a table
      assert.equal("ts1:xFe", core.serialize({ [1] = nil, x = false }))
      assert.equal(plancache.serialize, core.serialize)
    end)

    it("sorts keys of mixed kinds and refuses what it cannot write", function()
      local t = { b = 1, a = 2, [10] = 3, [2] = 4, [1.5] = 5, B = 6 }
      assert.equal("ti1;i4;f1.5;i5;i2;i4;i10;i3;s1:Bi6;s1:ai2;s1:bi1;e",
        core.serialize({ [1] = 4, [1.5] = 5, [2] = 4, [10] = 3, B = 6, a = 2, b = 1 }))
      assert.equal(core.serialize(t), core.serialize({ B = 6, [1.5] = 5, a = 2, [10] = 3, b = 1, [2] = 4 }))
      local cycle = {}
      cycle.self = cycle
      assert.has_error(function() core.serialize(cycle) end)
      assert.has_error(function() core.serialize({ f = print }) end)
      assert.has_error(function() core.serialize({ [true] = 1 }) end)
    end)

    it("digests what table.pack holds, and nothing it cannot write", function()
      assert.equal(core.sha256(core.serialize(table.pack(1, nil, "x"))), core.digest(1, nil, "x"))
      assert.equal(core.sha256(core.serialize(table.pack())), core.digest())
      assert.is_nil(core.digest(print))
    end)

    it("frames an entry with a checksum that every one-byte change changes", function()
      -- FNV-1a 64 of "a" (the published test vector)
      assert.equal(core.PLANCACHE_FORMAT .. "\naf63dc4c8601ec8c\na", core.plancache_entry("a"))
      local body = core.serialize({ key = "k", plan = "\0\1" .. ("x"):rep(200) })
      local sum = core.plancache_entry(body):match("^[^\n]*\n(%x+)\n")
      assert.equal(16, #sum)
      for i = 1, #body do
        for _, b in ipairs({ 0, 1, 0x80, 0xff }) do
          local c = string.char(b)
          if body:sub(i, i) ~= c then
            local other = body:sub(1, i - 1) .. c .. body:sub(i + 1)
            assert.not_equal(sum, core.plancache_entry(other):match("^[^\n]*\n(%x+)\n"))
          end
        end
      end
      assert.not_equal(sum, core.plancache_entry(body .. "\0"):match("^[^\n]*\n(%x+)\n"))
    end)

    it("reads with bounds: depth, a number that is not one, a short string", function()
      assert.same({ 1 }, core.deserialize("ti1;i1;e"))
      local deep = ("ti1;"):rep(40) .. "n" .. ("e"):rep(40)
      local v, why = core.deserialize(deep)
      assert.is_nil(v)
      assert.equal("too deep", why)
      assert.same({ nil, "a number" }, { core.deserialize("i1.5;") })
      assert.same({ nil, "a string" }, { core.deserialize("s3:ab") })
      assert.same({ nil, "a key" }, { core.deserialize("tnne") })
      assert.same({ nil, "trailing bytes" }, { core.deserialize("TT") })
    end)

    it("places the state directories from the real uid", function()
      local root, path = core.state_base()
      if core.ids().uid == 0 then
        assert.same({ "/run", "lunshare" }, { root, path })
      else
        assert.truthy(path == "lunshare" or path == "lunshare-" .. core.ids().uid .. "/lunshare")
      end
    end)
  end)

  describe("the recorder", function()
    it("records the host readers with what they returned, and passes the pure functions", function()
      local f = os.tmpname()
      local rec, got = plancache.record(function()
        core.ops()
        local text = core.read_file(f)
        os.getenv("LSH_NOT_SET_ANYWHERE")
        return text
      end)
      assert.equal("", got)
      assert.is_nil(rec.uncacheable)
      local names = {}
      for _, c in ipairs(rec.calls) do names[#names + 1] = c[1] end
      assert.same({ "read_file", "getenv" }, names)
      assert.equal(core.read_file, rawget(core, "read_file") and core.read_file) -- put back
      os.remove(f)
    end)

    it("makes a run uncacheable when it calls a function it does not know as a reader", function()
      local rec = plancache.record(function() core.pipe() end)
      assert.truthy(rec.uncacheable and rec.uncacheable:find("core.pipe", 1, true), rec.uncacheable)
    end)

    it("does not count the pid among the caller's ids", function()
      local rec = plancache.record(function() return core.ids() end)
      local ids = core.ids()
      assert.truthy(ids.pid)
      local d = rec.calls[1][3]
      assert.not_equal(core.sha256(plancache.serialize(table.pack(ids))), d)
      ids.pid = nil
      assert.equal(core.sha256(plancache.serialize(table.pack(ids))), d)
    end)

    it("puts the functions back when what it runs raises", function()
      local read = core.read_file
      assert.has_error(function() plancache.record(function() error("boom", 0) end) end, "boom")
      assert.equal(read, core.read_file)
    end)
  end)

  describe("plan codec", function()
    it("reads back the plan it wrote, field for field", function()
      local text = core.plan_encode(GOOD)
      local back = assert(core.plan_decode(text))
      assert.equal(text, core.plan_encode(back))
      assert.same(GOOD.steps[4].argv, back.steps[4].argv)
      assert.equal(true, back.steps[4].reaper)
      assert.equal("p.lua:1", back.steps[1].origin)
      assert.equal("supervisor", back.steps[2].where)
    end)

    it("refuses a plan the executor would refuse, as lsh_plan_validate does", function()
      -- A reaper without a pid namespace; exec before the end: each a well-formed text.
      local no_pid = core.plan_encode(plan_of({ { op = "clone", namespaces = { "user" } },
        { op = "exec", argv = { "x" }, env = {}, reaper = true } }))
      local v, msg = core.plan_decode(no_pid)
      assert.is_nil(v)
      assert.truthy(msg:find("reaper needs a pid namespace", 1, true), msg)
      local text = core.plan_encode(GOOD)
      local swapped = text:gsub("step uid_map 0 %-\ns map 9:0 1000 1\n\nend\n", "")
      swapped = swapped .. "step uid_map 0 -\ns map 9:0 1000 1\n\nend\n"
      v, msg = core.plan_decode(swapped)
      assert.is_nil(v)
      assert.truthy(msg:find("exec must be the last step", 1, true), msg)
    end)

    it("refuses malformed text: unknown ops and fields, wrong types, bad lengths, NUL bytes", function()
      local text = core.plan_encode(GOOD)
      local function bad(from, to)
        local t, n = text:gsub(from, to, 1)
        assert.equal(1, n, from)
        local v, msg = core.plan_decode(t)
        assert.is_nil(v, to)
        assert.truthy(msg:match("^cached plan: "), msg)
      end
      bad("step hostname", "step hostnam")
      bad("s name 3:box", "s nam 3:box")
      bad("s name 3:box", "i name 3")
      bad("i reaper 1", "i reaper 2")
      bad("s name 3:box", "s name 4:box")
      bad("s name 3:box", "s name 3:b\0x")
      bad("s name 3:box", "s name 03:box")
      bad("l argv 4", "l argv 5")
      bad("^LSHPLAN 1", "LSHPLAN 2")
      assert.is_nil(core.plan_decode(text:sub(1, -2)))
    end)
  end)
end)
