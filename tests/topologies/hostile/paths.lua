-- Host names that are paths: up would make /run/netns/../../etc/lshx, or a pin outside the
-- topology's directory. Each is refused by check (and so by up) before anything is made.
return { hosts = { [".."] = {}, ["."] = {}, ["../../etc/lshx"] = {}, ["/tmp/lshx"] = {}, ["lsh1"] = {} },
  links = { { { name = "../lsa" }, { host = "lsh1", name = "lsb/x" } } } }
