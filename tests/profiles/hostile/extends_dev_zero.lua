-- Extends a file that never ends.
return { extends = "/dev/zero" }
