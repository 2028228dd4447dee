-- pdftoppm: one untrusted PDF rendered to PNG pages in one output directory, by
-- poppler-utils. Rendering reaches fonts and images inside the PDF: the PDF is read-only
-- at /in/input.pdf, the pages go to /work (page-1.png, …), the host's fonts are
-- readable, nothing else of the host is writable, and there is no network.
local hello = [[
%PDF-1.4
1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj
2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj
3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 300 100] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >> endobj
4 0 obj << /Length 44 >> stream
BT /F1 18 Tf 20 40 Td (Hello lunshare) Tj ET
endstream endobj
5 0 obj << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> endobj
trailer << /Root 1 0 R /Size 6 >>
%%EOF
]]

local param = params {
  input = { description = "the PDF to render (read-only at /in/input.pdf)", test = { file = hello } },
  resolution = { type = "integer", default = 72, description = "dots per inch of the pages" },
}

return {
  extends = "builtin:base-workdir",
  description = "pdftoppm of one untrusted PDF into PNG pages in one directory: no network, nothing else writable",

  mounts = { ro_bind(param.input, "/in/input.pdf"), ro_bind_try "/etc/fonts" },
  command = { "pdftoppm", "-png", "-r", tostring(param.resolution), "/in/input.pdf", "/work/page" },

  checks = {
    { "renders the pages", run = { "sh", "-c", "pdftoppm -png -r 36 /in/input.pdf /work/page && ls /work" },
      prints = "page-1.png" },
  },
}
