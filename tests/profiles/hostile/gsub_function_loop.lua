-- gsub with a function replacement that never returns.
return { description = ("abc"):gsub(".", function() while true do end end) }
