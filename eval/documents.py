"""Small PDF, DOCX and HTML files written in code, for the tests and `qa bench` (no third-party fixtures, no licence to
track)."""

from __future__ import annotations

import io
from collections.abc import Sequence
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
    outline: Sequence[tuple[str, int]] = (),
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
        writer.add_outline_item(title=heading, page_number=page)
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


def handbook_pdf(repeat: int = 1) -> bytes:
    """A district services handbook as offices print them: a running header, a page number and a print stamp
    on every page, headings set larger or in bold, a fee table, a word hyphenated at a line end, and a page in
    two columns. ``repeat`` prints its three pages that many times (a long document for timings)."""

    def margins(number: int, count: int) -> list[PdfLine]:
        return [
            Text("District Services Handbook", x=72, y=760, size=9),
            Text(f"Page {number} of {count}", x=280, y=40, size=9),
            (
                Text("file:///home/clerk/handbook.html", x=24, y=20, size=8),
                Text(f"{number}/{count}", x=560, y=20, size=8),
            ),
        ]

    def row(*cells: str, bold: bool = False) -> tuple[Text, ...]:
        return tuple(Text(cell, x=x, bold=bold) for cell, x in zip(cells, (72, 300, 420), strict=False))

    births: list[PdfLine] = [
        Text("Birth registration", y=700, size=20, bold=True),
        "",
        "A birth is registered at the Union Council office where the child was born. The",
        "parents bring the hospital slip and the CNIC of both parents to the district govern-",
        "ment office, which issues the birth certificate within seven working days.",
        "",
        Text("Fees", size=15, bold=True),
        row("Service", "Fee", "Days", bold=True),
        row("Registration within 60 days", "Free", "1"),
        row("Late registration", "Rs. 500", "7"),
        row("Certificate copy", "Rs. 300", "3"),
        "",
        Text("Documents needed", bold=True),
        "Bring the original hospital slip. A copy is not accepted by the office.",
    ]
    hours: list[PdfLine] = [
        Text("Opening hours", y=700, size=15, bold=True),
        "",
        "The Union Council office is open from nine in the morning to three in the after-",
        "noon, Monday to Friday. A self-service kiosk prints copies of certificates. The",
        "kiosk stands beside the self-",
        "service counter in the hall.",
    ]
    left = [
        "The water board connects a new",
        "house within thirty days of a",
        "complete application made at the",
        "nearest customer centre by the",
        "owner of the house.",
    ]
    right = [
        "After the survey the board lays",
        "the pipe from the main line to the",
        "boundary wall of the house; the",
        "plumbing inside is the owner's",
        "responsibility.",
    ]
    water: list[PdfLine] = [Text("Water connections", y=700, size=15, bold=True), ""]
    water += [(Text(a, x=72, size=10), Text(b, x=320, size=10)) for a, b in zip(left, right, strict=True)]
    pages = [births, hours, water] * repeat
    return make_pdf(
        [page + margins(n, len(pages)) for n, page in enumerate(pages, 1)], title="District Services Handbook"
    )


# A birth-registration guide as a web page: headings, a fee table, paragraphs and a part in two columns
# (printed to PDF by Chromium in the tests, and the same content in each format in eval/pdf_bench.py).
GUIDE_HTML = """<!doctype html><html><head><meta charset="utf-8"><title>Birth registration guide</title>
<style>body{font-family:sans-serif} table{border-collapse:collapse} td,th{border:1px solid #999;padding:4px 8px}
.cols{column-count:2;column-gap:2em}</style></head><body>
<h1>Birth registration guide</h1>
<p>A birth must be registered with the Union Council where the child was born. Parents bring the hospital
birth slip and the CNIC of both parents to the office of the secretary.</p>
<h2>Fees</h2>
<table><tr><th>Service</th><th>Fee</th><th>Time</th></tr>
<tr><td>Registration within 60 days</td><td>Free</td><td>1 day</td></tr>
<tr><td>Late registration</td><td>Rs. 500</td><td>7 days</td></tr>
<tr><td>Computerised certificate</td><td>Rs. 300</td><td>3 days</td></tr></table>
<h2>Documents needed</h2>
<ul><li>Hospital birth slip</li><li>CNIC of both parents</li></ul>
<h2>Opening hours</h2>
<p>The Union Council office is open from nine in the morning to three in the afternoon, Monday to Friday,
except public holidays.</p>
<h2>Water connections</h2>
<div class="cols"><p>The water board connects a new house within thirty days of a complete application. The owner
fills the form at the nearest customer centre and pays the connection charge before the survey.</p>
<p>After the survey the board lays the pipe from the main line to the boundary wall. Plumbing inside the boundary
is the owner's responsibility and must be done by a licensed plumber.</p></div>
</body></html>
"""
