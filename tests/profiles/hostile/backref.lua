-- Back-references (%1) compare a whole capture at every attempt: uncounted, a pattern the
-- guard let through took minutes (366 s in the report) before printing ok.
local s = ("a"):rep(5000000)
return { description = s:find("^(a*)%1b") and "found" or "x", cwd = 1 }
