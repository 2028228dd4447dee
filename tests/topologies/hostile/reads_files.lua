-- Reading another file while being loaded: io, dofile, loadfile and require are not there.
local text = io.open("/etc/shadow"):read("a") or dofile("/etc/shadow") or loadfile("/etc/passwd")()
return { description = text, hosts = { lsh1 = {} } }
