-- convert: ImageMagick on one untrusted image, into one output directory. Image parsers
-- are a classic way in (ImageTragick, CVE-2016-3714, and many since): the input is
-- read-only at /in/input, the output directory writable at /work, and nothing else of
-- the host is writable or readable; no network, so a delegate or a URL in an SVG reaches
-- nothing. Debian's own policy (/etc/ImageMagick-6, read-only) still refuses PS, PDF and
-- the other ghostscript coders.
local param = params {
  input = { description = "the image to convert (read-only at /in/input)",
    test = { file = [[
P1
4 4
1 0 0 1
0 1 1 0
0 1 1 0
1 0 0 1
]] } },
  output = { default = "output.png", description = "the name of the file to write in /work; its suffix picks the format" },
}

return {
  extends = "builtin:base-workdir",
  description = "ImageMagick convert of one untrusted image into one directory: no network, nothing else writable",

  mounts = { ro_bind(param.input, "/in/input"), ro_bind_try "/etc/ImageMagick-6" },
  env = { set = { MAGICK_TEMPORARY_PATH = "/tmp" } },
  command = { "convert", "/in/input", "/work/" .. param.output },

  checks = {
    { "converts an image", run = { "sh", "-c", "convert /in/input /work/out.png && identify /work/out.png" },
      prints = "PNG 4x4" },
    { "an image URL reaches nothing", run = { "convert", "http://127.0.0.1:1/x.png", "/work/x.png" }, fails = true },
  },
}
