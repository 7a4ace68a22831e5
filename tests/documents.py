"""Small PDF, DOCX and HTML files written by the tests themselves (no third-party fixtures, no licence to track)."""

from __future__ import annotations

import io
from dataclasses import dataclass


def _pdf_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


@dataclass(frozen=True, slots=True)
class Text:
    """A line of a PDF page with its place and font (``make_pdf`` takes plain strings too).

    ``x``: its left edge; ``y``: its baseline from the page's bottom, or ``None`` for the line after the
    one before; a tuple of ``Text`` is one line whose parts sit at their ``x`` (the cells of a table row).
    """

    text: str
    x: float = 72
    y: float | None = None
    size: float = 11
    bold: bool = False


PdfLine = str | Text | tuple[Text, ...]


def make_pdf(
    pages: list[list[PdfLine]],
    *,
    title: str | None = None,
    outline: list[tuple[str, int]] = (),
    size: tuple[float, float] = (612, 792),
) -> bytes:
    """A PDF with a real text layer: one line of Helvetica per string (``""`` leaves a line empty), or
    :class:`Text` placed and sized as given; ``[]`` for a page with no text (a scan).

    ``outline`` adds bookmarks (title, page index), the headings of a PDF's structure.
    """
    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    add(b"<< /Type /Catalog /Pages 2 0 R >>")
    add(b"")  # the page tree, filled in below
    font = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    bold = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>")
    kids = []
    for lines in pages:
        ops = []
        y = size[1] - 72.0
        for line in lines:
            parts = line if isinstance(line, tuple) else (Text(line) if isinstance(line, str) else line,)
            top = parts[0].y if parts[0].y is not None else y
            for part in parts:
                if part.text:
                    name = "F2" if part.bold else "F1"
                    text = _pdf_escape(part.text)
                    ops.append(f"BT /{name} {part.size:g} Tf 1 0 0 1 {part.x:g} {top:g} Tm ({text}) Tj ET")
            y = top - max(part.size for part in parts) * 14 / 11
        stream = "\n".join(ops).encode("cp1252") if lines else b""
        content = add(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        kids.append(
            add(
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Resources << /Font << /F1 %d 0 R /F2 %d 0 R >> "
                b">> /Contents %d 0 R >>" % (size[0], size[1], font, bold, content)
            )
        )
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % k for k in kids),
        len(kids),
    )
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    data = out.getvalue()
    if title is None and not outline:
        return data

    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    if title is not None:
        writer.add_metadata({"/Title": title})
    for heading, page in outline:
        writer.add_outline_item(heading, page)
    final = io.BytesIO()
    writer.write(final)
    return final.getvalue()


def make_docx(blocks: list[tuple[str, str]], *, title: str | None = None) -> bytes:
    """A Word file; each block is (style, text): ``"Heading 1"``, ``"List Bullet"``, ``"Normal"``, or
    ``"table"`` with cells separated by ``|``."""
    import docx

    document = docx.Document()
    if title is not None:
        document.core_properties.title = title
    for style, text in blocks:
        if style == "table":
            cells = [c.strip() for c in text.split("|")]
            table = document.add_table(rows=1, cols=len(cells))
            for cell, value in zip(table.rows[0].cells, cells, strict=True):
                cell.text = value
        else:
            document.add_paragraph(text, style=style)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def make_html(title: str, body: str) -> bytes:
    """A page with navigation, a header and a footer around ``body`` (the main text)."""
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>"
        "<style>p {{ color: red }}</style><script>var tracking = 1;</script></head><body>"
        "<header><a href='/'>Home</a> <a href='/about'>About us</a></header>"
        "<nav><ul><li><a href='/a'>Menu item one</a></li><li><a href='/b'>Menu item two</a></li></ul></nav>"
        f"<main>{body}</main>"
        "<footer>Follow us on social media. Copyright 2024.</footer></body></html>"
    ).encode()
