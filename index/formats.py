"""Text out of the formats people keep documents in: PDF, HTML and Word (.docx), besides .txt and .md.

The extracted text *is* the document's text: it is stored in the index, every offset points into it,
and the document page shows it. Structure becomes Markdown-like lines, so the chunker finds headings
in every format the same way: a heading is ``#`` to ``######`` and its words, a list item ``- ``, a
table row its cells joined by `` | ``; blocks are separated by a blank line.

Why these libraries: ``pdfminer.six`` (MIT, pure Python) gives the words of a PDF with their places
and fonts, and ``pdfplumber``'s table finder (MIT) its ruled tables, from which :mod:`index.pdf`
recovers headings, tables, columns and paragraphs; ``pypdf`` (BSD-3) reads its outline, metadata and
encryption; ``selectolax`` (MIT, the Lexbor parser, fast and tolerant of broken markup) walks HTML;
``python-docx`` (MIT) reads paragraphs with their styles and tables in body order. Each turns a bad
file into :class:`~index.errors.DocumentError` naming it, never a traceback.

Each is bounded by :class:`~index.limits.ReadLimits`, checked before the work they bound: a Word file's
members by the sizes its zip directory declares (``zipfile`` never unpacks a member past its declared
size), HTML by a linear scan of how deep its elements nest (the parser's time grows with the square of
the depth), a PDF by its page count, every document by the characters extracted.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from index.errors import DocumentError
from index.limits import ReadLimits, mb
from index.markdown import TABLE_CELLS, join_blocks

if TYPE_CHECKING:
    from selectolax.lexbor import LexborNode

log = logging.getLogger(__name__)

TEXT_SUFFIXES = (".txt", ".md")
BINARY_SUFFIXES = (".pdf", ".docx")
MARKUP_SUFFIXES = (".html", ".htm")
SUFFIXES = TEXT_SUFFIXES + MARKUP_SUFFIXES + BINARY_SUFFIXES


@dataclass(frozen=True, slots=True)
class Extracted:
    """A document's text and what its format says about it (``title`` when it has one)."""

    text: str
    title: str | None = None
    format: str = "text"


def extract(path: Path, data: bytes, limits: ReadLimits | None = None) -> Extracted | None:
    """The text of a PDF, HTML or DOCX file read within ``limits``; ``None`` for .txt/.md (their bytes are
    the text). This runs the parser in the calling process: :mod:`index.sandbox` runs it in a worker."""
    limits = limits or ReadLimits()
    suffix = path.suffix.lower()
    extractor = EXTRACTORS.get(suffix)
    if extractor is None:
        return None
    try:
        extracted = extractor(path, data, limits)
    except (DocumentError, ImportError, MemoryError):  # a missing library is not a bad file; memory: see sandbox
        raise
    except Exception as err:  # the parsers raise many types on damaged files; all mean "cannot be read"
        kind = suffix.lstrip(".").upper()
        raise DocumentError(path, f"cannot be read as {kind} ({type(err).__name__}: {_first_line(err)})") from err
    if not extracted.text.strip():
        raise DocumentError(path, "holds no text")
    check_chars(path, len(extracted.text), limits)
    return extracted


def check_chars(path: Path, chars: int, limits: ReadLimits) -> None:
    """A document's text may hold at most ``limits.max_chars`` characters."""
    if chars > limits.max_chars:
        raise DocumentError(
            path,
            f"holds {chars:,} characters of text, over the {limits.max_chars:,} limit (QA_MAX_DOCUMENT_CHARS); "
            "split it or raise the limit",
        )


def _first_line(err: Exception) -> str:
    text = str(err).strip().splitlines()
    return text[0][:200] if text else "no detail"


def _squash(text: str) -> str:
    return " ".join(text.split())


# ---------------------------------------------------------------- PDF


def _pdf(path: Path, data: bytes, limits: ReadLimits) -> Extracted:
    from index.pdf import read_pdf  # pdfplumber's layout analysis: headings, tables, columns (index/pdf.py)

    text, title = read_pdf(path, data, limits)
    return Extracted(text, title, "pdf")


# ---------------------------------------------------------------- HTML

_SKIP_TAGS = frozenset(
    {
        "script",
        "style",
        "noscript",
        "template",
        "svg",
        "nav",
        "header",
        "footer",
        "aside",
        "form",
        "iframe",
        "button",
        "select",
        "head",
        "title",
        "dialog",
        "menu",
    }
)
_BLOCK_TAGS = frozenset(
    {
        "p",
        "div",
        "section",
        "article",
        "main",
        "li",
        "dt",
        "dd",
        "pre",
        "blockquote",
        "tr",
        "table",
        "ul",
        "ol",
        "dl",
        "figure",
        "figcaption",
        "caption",
        "address",
        "details",
        "summary",
        "body",
        "hr",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
    }
)
# Elements that never hold others (void) or whose end tag may be left out (the parser closes them itself):
# not counted as nesting when the depth is scanned, so that sloppy but ordinary HTML is not refused.
_VOID = "area base br col embed hr img input link meta source track wbr param keygen frame basefont isindex"
_OPTIONAL_END = "p li dt dd tr td th tbody thead tfoot option optgroup rt rp colgroup caption html head body"
_NOT_NESTING = frozenset(f"{_VOID} {_OPTIONAL_END}".split(" "))
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9:-]*)[^>]*>")


class _Blocks:
    """Collects the text of block elements in document order, one block per paragraph-like element."""

    def __init__(self) -> None:
        self.blocks: list[str] = []
        self.buffer: list[str] = []
        self.prefix = ""

    def text(self, value: str) -> None:
        self.buffer.append(value)

    def flush(self) -> None:
        text = _squash("".join(self.buffer))
        self.buffer.clear()
        if text:
            self.blocks.append(self.prefix + text)
            self.prefix = ""


def html_depth(text: str) -> int:
    """How deep the elements of ``text`` nest, from one linear scan of its tags (before any parsing)."""
    depth = deepest = 0
    for match in _TAG.finditer(text):
        if match.group(2).lower() in _NOT_NESTING:
            continue
        if match.group(1):
            depth = max(0, depth - 1)
        else:
            depth += 1
            deepest = max(deepest, depth)
    return deepest


def _html(path: Path, data: bytes, limits: ReadLimits) -> Extracted:
    from selectolax.lexbor import LexborHTMLParser as HTMLParser

    html = _decode_html(data)
    depth = html_depth(html)
    if depth > limits.max_html_depth:
        raise DocumentError(
            path,
            f"nests its elements {depth:,} deep, over the {limits.max_html_depth:,} limit (QA_MAX_HTML_DEPTH; a "
            "real page nests a few dozen deep); save it flatter or raise the limit",
        )
    tree = HTMLParser(html)
    title = None
    title_node = tree.css_first("title")
    if title_node is not None:
        title = _squash(title_node.text()) or None
    h1 = tree.css_first("h1")
    if title is None and h1 is not None:
        title = _squash(h1.text()) or None
    root = tree.css_first("main") or tree.css_first("article") or tree.css_first("[role=main]") or tree.body
    if root is None:
        return Extracted("", title, "html")
    out = _Blocks()
    _walk_html(root, out)
    out.flush()
    return Extracted(join_blocks(out.blocks), title, "html")


def _walk_html(root: LexborNode, out: _Blocks) -> None:
    """Every text of ``root`` in document order, into blocks; a loop with its own stack, so that no depth
    the parser builds drops text."""
    stack: list[tuple[LexborNode, bool]] = [(root, False)]  # (node, True once its children are done)
    while stack:
        node, done = stack.pop()
        if done:  # the end of a block element
            out.flush()
            out.prefix = ""  # an empty heading or item marks nothing after it
            continue
        tag = node.tag
        if tag == "-text":
            out.text(node.text_content or "")
            continue
        if tag is None or tag in _SKIP_TAGS or tag.startswith("-"):  # None: a node Lexbor cannot name
            continue
        attrs = node.attributes
        if "hidden" in attrs or attrs.get("aria-hidden") == "true" or attrs.get("role") == "navigation":
            continue
        if tag == "br":
            out.text("\n")
            continue
        if tag in _BLOCK_TAGS:
            out.flush()
            if len(tag) == 2 and tag[0] == "h" and tag[1].isdigit():
                out.prefix = "#" * int(tag[1]) + " "
            elif tag == "li":
                out.prefix = "- "
            stack.append((node, True))
        elif tag in ("td", "th") and out.buffer and _squash("".join(out.buffer)):
            out.text(TABLE_CELLS)
        children = list(node.iter(include_text=True))
        stack.extend((child, False) for child in reversed(children))


def _decode_html(data: bytes) -> str:
    """UTF-8 (with or without BOM), else the charset the page declares, else Windows-1252."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    declared = re.search(rb"""charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", data[:4096])
    for encoding in ([declared.group(1).decode("ascii")] if declared else []) + ["cp1252"]:
        try:
            return data.decode(encoding, errors="replace")
        except LookupError:
            continue
    return data.decode("latin-1")


# ---------------------------------------------------------------- DOCX


def _check_zip(path: Path, data: bytes, limits: ReadLimits) -> None:
    """Refuse a zip whose members unpack past ``limits.max_unpacked_bytes``, each or all together, from the
    sizes its directory declares (``zipfile`` stops unpacking a member at its declared size, so a lie only
    truncates it)."""
    import zipfile

    try:
        members = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except zipfile.BadZipFile as err:
        raise DocumentError(path, f"cannot be read as DOCX (not a Word file: {err})") from err
    limit = limits.max_unpacked_bytes
    total = 0
    for member in members:
        total += member.file_size
        if member.file_size > limit or total > limit:
            what = f"its part {member.filename} to {mb(member.file_size)}" if member.file_size > limit else ""
            what = what or f"to {mb(sum(m.file_size for m in members))} in all"
            raise DocumentError(
                path, f"unpacks {what}, over the {mb(limit)} limit (QA_MAX_UNPACKED_MB); split it or raise the limit"
            )


def _docx(path: Path, data: bytes, limits: ReadLimits) -> Extracted:
    import docx
    from docx.table import Table

    _check_zip(path, data, limits)
    document = docx.Document(io.BytesIO(data))
    blocks: list[str] = []
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            for row in item.rows:
                cells = [_squash(cell.text) for cell in row.cells]
                deduped = [c for i, c in enumerate(cells) if c and (i == 0 or c != cells[i - 1])]  # merged cells
                if deduped:
                    blocks.append(TABLE_CELLS.join(deduped))
            continue
        text = _squash(item.text)
        if not text:
            continue
        style = (item.style.name if item.style is not None else "") or ""
        blocks.append(_docx_prefix(style) + text)
    core_title = document.core_properties.title
    title = _squash(core_title) if core_title and core_title.strip() else None
    return Extracted(join_blocks(blocks), title, "docx")


def _docx_prefix(style: str) -> str:
    lowered = style.lower()
    if lowered == "title":
        return "# "
    heading = re.fullmatch(r"heading ([1-9])", lowered)
    if heading:
        return "#" * min(int(heading.group(1)), 6) + " "
    if "list" in lowered:
        return "- "
    return ""


EXTRACTORS: dict[str, Callable[[Path, bytes, ReadLimits], Extracted]] = {
    ".pdf": _pdf,
    ".html": _html,
    ".htm": _html,
    ".docx": _docx,
}
