-- identify: what ImageMagick reads of one untrusted image (format, size, metadata)
-- without converting it. The image is read-only at /in/input and identify can write
-- nothing of the host and reach no network.
local param = params {
  input = { description = "the image to describe (read-only at /in/input)",
    test = { file = [[
P1
4 4
1 0 0 1
0 1 1 0
0 1 1 0
1 0 0 1
]] } },
}

return {
  extends = "builtin:base-tool",
  description = "ImageMagick identify of one untrusted image: read-only, no network, nothing writable",

  mounts = { ro_bind(param.input, "/in/input"), ro_bind_try "/etc/ImageMagick-6" },
  command = { "identify", "/in/input" },

  checks = {
    { "describes the image", prints = "PBM 4x4" },
  },
}
