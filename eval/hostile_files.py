"""Hostile documents, made on the spot for the tests and ``qa bench hostile``: nothing of them is committed.

* :func:`zip_bomb_docx`: a real Word file whose ``word/document.xml`` unpacks to ``unpacked_mb`` MB
  (one paragraph of one repeated letter: 1 GB packs into about 1 MB);
* :func:`nested_html`: ``depth`` nested ``<div>`` elements around a sentence (the parser's time grows
  with the square of the depth);
* :func:`many_pages_pdf`: a PDF of ``pages`` pages, each with a line of text;
* :func:`big_text`: a Markdown file of ``mb`` MB.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from index.limits import MB

_DOCUMENT_START = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
    b"<w:body><w:p><w:r><w:t>"
)
_DOCUMENT_END = b"</w:t></w:r></w:p></w:body></w:document>"


def _small_docx() -> bytes:
    import docx

    document = docx.Document()
    document.add_paragraph("A small Word document.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def zip_bomb_docx(path: Path, unpacked_mb: int) -> Path:
    """Write a Word file at ``path`` whose document part unpacks to ``unpacked_mb`` MB; return ``path``."""
    template = zipfile.ZipFile(io.BytesIO(_small_docx()))
    chunk = b"a" * MB
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out:
        for member in template.infolist():
            if member.filename != "word/document.xml":
                out.writestr(member, template.read(member))
                continue
            info = zipfile.ZipInfo("word/document.xml")
            info.compress_type = zipfile.ZIP_DEFLATED
            with out.open(info, "w", force_zip64=True) as part:
                part.write(_DOCUMENT_START)
                for _ in range(unpacked_mb):
                    part.write(chunk)
                part.write(_DOCUMENT_END)
    return path


def nested_html(path: Path, depth: int) -> Path:
    """Write a page at ``path`` nesting ``depth`` ``<div>`` elements around one sentence."""
    body = "<div>" * depth + "<p>The deepest sentence of the page.</p>" + "</div>" * depth
    path.write_text(f"<!doctype html><html><head><title>Nested</title></head><body>{body}</body></html>")
    return path


def many_pages_pdf(path: Path, pages: int) -> Path:
    """Write a PDF of ``pages`` pages at ``path``, each holding one line of text (all share one content stream)."""
    stream = b"BT /F1 11 Tf 72 720 Td (A page of the long report.) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(b"%d 0 R" % (5 + i) for i in range(pages)), pages),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
    ]
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
    page += b"/Contents 4 0 R >>"
    objects += [page] * pages
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.write(b"".join(b"%010d 00000 n \n" % offset for offset in offsets))
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    path.write_bytes(out.getvalue())
    return path


def big_text(path: Path, mb: int) -> Path:
    """Write a Markdown file of about ``mb`` MB at ``path``."""
    line = b"Citizens file their complaints through the provincial portal.\n"
    with path.open("wb") as f:
        f.write(b"# Big\n\n")
        while f.tell() < mb * MB:
            f.write(line * 1000)
    return path
