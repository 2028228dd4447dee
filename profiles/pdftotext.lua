-- pdftotext: the text of one untrusted PDF, from poppler-utils. PDF parsers are large
-- and much fuzzed; the PDF is read-only at /in/input.pdf, the text comes out on stdout,
-- and pdftotext can write nothing of the host and reach no network.
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
  input = { description = "the PDF to read (read-only at /in/input.pdf)", test = { file = hello } },
}

return {
  extends = "builtin:base-tool",
  description = "pdftotext of one untrusted PDF to stdout: read-only, no network, nothing writable",

  mounts = { ro_bind(param.input, "/in/input.pdf") },
  command = { "pdftotext", "-layout", "/in/input.pdf", "-" },

  checks = {
    { "extracts the text", prints = "Hello lunshare" },
  },
}
