"""A tiny deterministic PDF writer: one page of Helvetica text, enough to make invoice fixtures.

No dependency and no timestamps, so the same lines always give the same bytes. Reading PDFs back
uses ``pypdf`` (see `taskwarden.workflows.invoices.documents`).
"""

from __future__ import annotations

import textwrap

PAGE_WIDTH, PAGE_HEIGHT = 612, 792  # US Letter, in points
MARGIN, FONT_SIZE, LEADING = 72, 11, 15
WRAP_AT = 90
MAX_LINES = (PAGE_HEIGHT - 2 * MARGIN) // LEADING


def write_pdf(lines: list[str]) -> bytes:
    """A single-page PDF showing `lines` (long ones wrapped) in Helvetica.

    Text is encoded as Latin-1 (other characters become ``?``); more lines than fit on a page
    raise ValueError.
    """
    wrapped = [piece for line in lines for piece in (textwrap.wrap(line, WRAP_AT) or [""])]
    if len(wrapped) > MAX_LINES:
        raise ValueError(f"{len(wrapped)} lines do not fit on one page (at most {MAX_LINES})")
    shown = "\n".join(f"({_escape(line)}) Tj T*" for line in wrapped)
    content = (f"BT\n/F1 {FONT_SIZE} Tf\n{LEADING} TL\n{MARGIN} {PAGE_HEIGHT - MARGIN} Td\n{shown}\nET\n"
               .encode("latin-1", errors="replace"))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}] "
        f"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"endstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _escape(line: str) -> str:
    return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
