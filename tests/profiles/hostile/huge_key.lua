-- An unknown field whose name is a megabyte long, for the suggestion to measure.
return { [("hostname"):rep(1 << 17)] = 1 }
