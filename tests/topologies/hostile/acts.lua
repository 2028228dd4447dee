-- Acting while being loaded: reaching the core (through require, package or the lunshare
-- table the REPL has) to add a netns before anyone runs up.
local core = (lunshare and lunshare.core) or package.loaded["lunshare.core"] or require("lunshare.core")
core.netns_add("lshevil")
return { hosts = { lshevil = {} } }
