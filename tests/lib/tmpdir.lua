-- For specs: a new directory holding files = { [name] = text }; the caller removes it.
return function(files)
  local dir = os.tmpname()
  os.remove(dir)
  os.execute("mkdir -p " .. dir)
  for name, src in pairs(files) do
    local f = assert(io.open(dir .. "/" .. name, "w"))
    f:write(src)
    f:close()
  end
  return dir
end
