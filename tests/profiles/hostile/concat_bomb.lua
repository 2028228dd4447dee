-- Concatenation: one instruction copies everything, and the loop makes ever bigger
-- strings, then keeps copying one forever.
local s = ("x"):rep(1 << 20)
for _ = 1, 8 do s = s .. s .. s end
while true do local _ = s .. "y" end
