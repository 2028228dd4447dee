-- busted's TAP output, as tests/run counts it: a pending test is a skip with its full
-- name and reason ("ok N - # SKIP name: reason"), never a pass, and an error outside a
-- test (setup, teardown, a spec that does not load) is a failure that says where.
return function(options)
  local busted = require "busted"
  local handler = require("busted.outputHandlers.base")()
  local counter = 0

  local function line(s)
    io.write(s, "\n")
    io.flush()
  end

  local function one_line(s)
    return (tostring(s or ""):gsub("\n", " "))
  end

  local function failure(t)
    local msg = t.message
    if type(msg) ~= "string" then msg = require("pl.pretty").write(msg) end
    line(string.format("not ok %d - %s", counter, t.name))
    local tr = t.element.trace
    if tr and tr.short_src then line("# " .. tr.short_src .. " @ " .. tostring(tr.currentline)) end
    line("# Failure message: " .. (msg or "nil"):gsub("\n", "\n# "))
    if options.verbose and t.trace and t.trace.traceback then
      line("# " .. t.trace.traceback:gsub("^\n", "", 1):gsub("\n", "\n# "))
    end
  end

  handler.suiteReset = function()
    counter = 0
    return nil, true
  end

  handler.suiteEnd = function()
    line("1.." .. counter)
    return nil, true
  end

  handler.testEnd = function(element, parent, status)
    counter = counter + 1
    if status == "success" then
      line(string.format("ok %d - %s", counter, handler.successes[#handler.successes].name))
    elseif status == "pending" then
      local t = handler.pendings[#handler.pendings]
      local msg = t.message and tostring(t.message):gsub("^[^\n]-:%d+: ", "")
      local why = msg and msg ~= t.name and (": " .. one_line(msg)) or ""
      line(string.format("ok %d - # SKIP %s%s", counter, one_line(t.name), why))
    elseif status == "failure" then
      failure(handler.failures[#handler.failures])
    elseif status == "error" then
      failure(handler.errors[#handler.errors])
    end
    return nil, true
  end

  handler.error = function(element)
    if element.descriptor ~= "it" then
      counter = counter + 1
      failure(handler.errors[#handler.errors])
    end
    return nil, true
  end

  busted.subscribe({ "suite", "reset" }, handler.suiteReset)
  busted.subscribe({ "suite", "end" }, handler.suiteEnd)
  busted.subscribe({ "test", "end" }, handler.testEnd, { predicate = handler.cancelOnPending })
  busted.subscribe({ "error" }, handler.error)
  return handler
end
