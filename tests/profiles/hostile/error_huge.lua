-- An error whose message is 32 MiB, with control characters in it.
error(("\27[2J\n"):rep(1 << 23))
