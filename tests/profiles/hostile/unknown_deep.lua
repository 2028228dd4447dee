-- An unknown key deep inside a list, where only the entries 1..n used to be looked at.
return { namespaces = { "user", "mount", evil = { { { "deep" } } } } }
