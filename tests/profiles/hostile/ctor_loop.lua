-- Constructor calls in a loop: each goes through the call and return hooks.
for _ = 1, 1e9 do local _ = ro_bind "/usr" end
