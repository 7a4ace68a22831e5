"""PDF pages read as a document with structure, from where and how each word is printed.

A PDF holds positioned glyphs, not paragraphs: :mod:`index.pdf_words` gives each word with its box,
size and weight (``pdfminer.six``, MIT, pure Python), and the ruled tables drawn on each page
(``pdfplumber``'s table finder, MIT). From those this module writes the same Markdown-like text the HTML
and Word readers write (:mod:`index.formats`):

- **running headers and footers** are dropped: a line in the top or bottom margin that recurs at the
  same place on most pages (page numbers and dates counting as one), and print stamps (a page number,
  "Page 2 of 5", a date or time, a URL: what a browser prints around a page) in those margins;
- **tables** become one line per row, cells joined by `` | ``: ruled tables from their drawn edges,
  unruled ones from words aligned in columns on consecutive lines;
- **reading order** follows columns: lines side by side with a gutter between them, each side prose
  (or one side going on alone below the other: a sidebar), are read column by column;
- **list items**: a line after a bullet, typed or drawn as a small dot or square, becomes ``- item``;
- **headings** are lines set clearly larger than the body text (levels by size), or short lines all
  in bold; the outline (bookmarks) names headings too, at its depth;
- **paragraphs**: the lines of one are joined into one line, a word hyphenated at a line end is
  joined ("govern-" + "ment"), and paragraphs end at a wider gap, a change of font or a line that
  stops short of the column's edge.

What it cannot recover: text that is an image (a scan needs OCR first), tables drawn without rules
whose cells wrap onto several lines, footnotes apart from the text, and the structure of tagged PDFs
beyond what the print shows.
"""

from __future__ import annotations

import io
import logging
import re
from collections import Counter
from itertools import pairwise
from pathlib import Path
from typing import Any

from index import pdf_words
from index.errors import DocumentError
from index.limits import ReadLimits
from index.markdown import TABLE_CELLS, join_blocks
from index.pdf_lines import Line, Row, Table
from index.pdf_margins import drop_running_lines
from index.pdf_words import tidy_table

log = logging.getLogger(__name__)

_BULLET = re.compile(r"[•◦▪‣●■○·*–\uf0b7\uf0a7-]\s+(?=\S)")
_NUMBERED = re.compile(r"\(?\d{1,2}[.)]\s+(?=\S)")
_ENDS_SENTENCE = ".!?:;"


def read_pdf(path: Path, data: bytes, limits: ReadLimits) -> tuple[str, str | None]:
    """The structured text of a PDF and its title (from its metadata); the checks of :mod:`index.formats`."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted and not reader.decrypt(""):
        raise DocumentError(path, "is encrypted; save an unprotected copy to index it")
    count = len(reader.pages)
    if count > limits.max_pdf_pages:
        limit = f"the {limits.max_pdf_pages:,} limit (QA_MAX_PDF_PAGES)"
        raise DocumentError(path, f"has {count:,} pages, over {limit}; split it or raise the limit")
    outline = _outline(reader)
    try:
        meta_title = reader.metadata.title if reader.metadata else None
    except Exception:  # damaged document information: no title, the text still counts
        meta_title = None
    title = " ".join(meta_title.split()) if isinstance(meta_title, str) and meta_title.strip() else None

    pages: list[tuple[list[Row], list[Table], float]] = []
    for number, (words, ruled, marks, height) in enumerate(pdf_words.pages(data)):
        upright = [w for w in words if w["upright"]]
        if len(upright) * 2 >= len(words):
            words = upright  # rotated words (a diagonal "DRAFT") are a watermark, unless they are the page
        rows = _rows(words, number)
        _mark_bullets(rows, marks)
        pages.append((rows, [Table(rows, top) for top, rows, _ in ruled], height))
    empty = [n for n, (rows, tables, _) in enumerate(pages, 1) if not rows and not tables]
    if pages and len(empty) == len(pages):
        raise DocumentError(path, "has no text layer (a scanned PDF?); run OCR on it (e.g. ocrmypdf) first")
    if empty:
        shown = ", ".join(map(str, empty[:10])) + (" ..." if len(empty) > 10 else "")
        log.warning("%s: page(s) %s have no text layer (scanned?); indexed the other pages", path, shown)
    drop_running_lines(pages)
    stream: list[Line | Table] = []
    for number, (rows, tables, _) in enumerate(pages):
        stream.extend(_reading_order(rows, tables, number))
    lines = [item for item in stream if isinstance(item, Line)]
    _mark_headings(lines, outline)
    return _write(stream), title


# ---------------------------------------------------------------- words into lines


def _rows(words: list[dict[str, Any]], page: int) -> list[Row]:
    """Words grouped into the rows of a page (by height), each row cut into lines at gaps wider than a space."""
    rows: list[list[dict[str, Any]]] = []
    anchor = (0.0, 0.0)
    for word in sorted(words, key=lambda w: (w["top"], w["x0"])):
        middle = (word["top"] + word["bottom"]) / 2
        if rows and anchor[0] <= middle <= anchor[1]:
            rows[-1].append(word)
        else:
            rows.append([word])
            anchor = (word["top"], word["bottom"])
    out: list[Row] = []
    for row in rows:
        row.sort(key=lambda w: w["x0"])
        pieces: list[list[dict[str, Any]]] = [[row[0]]]
        for before, word in pairwise(row):
            if word["x0"] - before["x1"] > 0.9 * max(before["size"], word["size"]):
                pieces.append([word])
            else:
                pieces[-1].append(word)
        out.append([_line(piece, page) for piece in pieces])
    return out


def _mark_bullets(rows: list[Row], marks: list[tuple[float, float, float, float]]) -> None:
    """A line with a small filled shape just before it, at its height, is a list item (a drawn bullet)."""
    for _, top, x1, bottom in marks:
        middle = (top + bottom) / 2
        for row in rows:
            for line in row:
                if line.top <= middle <= line.bottom and 0 <= line.x0 - x1 <= 1.5 * line.size:
                    line.bullet = True


def _line(words: list[dict[str, Any]], page: int) -> Line:
    sizes: Counter[float] = Counter()
    for word in words:
        sizes[round(word["size"] * 2) / 2] += len(word["text"])
    return Line(
        text=" ".join(w["text"] for w in words),
        x0=min(w["x0"] for w in words),
        x1=max(w["x1"] for w in words),
        top=min(w["top"] for w in words),
        bottom=max(w["bottom"] for w in words),
        size=sizes.most_common(1)[0][0],
        bold=all(w["bold"] for w in words),
        lead=words[0]["x1"] - words[0]["x0"],
        page=page,
    )


def _merged(lines: list[Line]) -> Line:
    """Lines of one row read as one line (what was side by side without forming columns or a table)."""
    if len(lines) == 1:
        return lines[0]
    first = lines[0]
    widest = max(lines, key=lambda line: len(line.text))
    return Line(
        " ".join(line.text for line in lines),
        first.x0,
        max(line.x1 for line in lines),
        min(line.top for line in lines),
        max(line.bottom for line in lines),
        widest.size,
        all(line.bold for line in lines),
        first.lead,
        first.page,
        bullet=first.bullet,
    )


# ---------------------------------------------------------------- reading order: columns and tables


def _reading_order(rows: list[Row], tables: list[Table], page: int) -> list[Line | Table]:
    """A page's lines and tables in reading order; rows side by side in columns are read column by column."""
    if not rows:
        return list(tables)
    sizes = sorted(line.size for row in rows for line in row)
    gap = 0.9 * sizes[len(sizes) // 2]
    out: list[Line | Table] = []
    pending = sorted(tables, key=lambda t: t.top)
    run: list[Row] = []
    bands = 0
    for row in [*sorted(rows, key=lambda r: r[0].top), None]:
        while pending and (row is None or pending[0].top <= row[0].top):
            bands = _place(run, gap, page, bands, out)
            run = []
            out.append(pending.pop(0))
        if row is not None:
            run.append(row)
    _place(run, gap, page, bands, out)
    return out


def _spans(rows: list[Row], gap: float) -> list[tuple[float, float]]:
    """The horizontal extents the lines of ``rows`` cover together, apart where at least ``gap`` is empty."""
    spans: list[tuple[float, float]] = []
    for x0, x1 in sorted((line.x0, line.x1) for row in rows for line in row):
        if spans and x0 - spans[-1][1] < gap:
            spans[-1] = (spans[-1][0], max(spans[-1][1], x1))
        else:
            spans.append((x0, x1))
    return spans


def _place(rows: list[Row], gap: float, page: int, bands: int, out: list[Line | Table]) -> int:
    """Rows in reading order into ``out``: runs of rows sharing empty gutters become columns or a table."""
    i = 0
    while i < len(rows):
        j, spans = i, _spans(rows[i : i + 1], gap)
        while j + 1 < len(rows):
            wider = _spans(rows[i : j + 2], gap)
            if len(wider) < max(2, len(spans) if j > i else 2):
                break  # no gutter left, or the next row bridges one (a paragraph below a table)
            j, spans = j + 1, wider
        taken = _band(rows[i : j + 1], spans, page, bands, out) if j > i else 0
        if taken:
            bands += 1
            i += taken
        else:
            line = _merged(rows[i])
            line.region = f"{page}"
            out.append(line)
            i += 1
    return bands


def _band(rows: list[Row], spans: list[tuple[float, float]], page: int, band: int, out: list[Line | Table]) -> int:
    """Read ``rows`` (sharing the gutters between ``spans``) as columns of prose or as a table; how many rows
    that took (0: neither, the first row is read as a line)."""
    if len(spans) < 2:
        return 0

    def column(line: Line) -> int:
        middle = (line.x0 + line.x1) / 2
        return min(range(len(spans)), key=lambda k: 0 if spans[k][0] <= middle <= spans[k][1] else 1 + k)

    sides = [{column(line) for line in row} for row in rows]
    multi = [i for i, used in enumerate(sides) if len(used) >= 2]
    if len(multi) < 2:
        return 0
    columns: list[list[Line]] = [[] for _ in spans]
    for row in rows:
        for line in row:
            columns[column(line)].append(line)
    width = spans[-1][1] - spans[0][0]
    prose = all(
        sorted(len(line.text.split()) for line in lines)[len(lines) // 2] >= 4 and (x1 - x0) >= 0.2 * width
        for lines, (x0, x1) in zip(columns, spans, strict=True)
        if lines
    )
    if multi[0] > 0 and not prose:
        return 0  # the rows above the table are read first, as lines
    # Columns of prose, or a column that goes on alone in prose below the last row with text beside it (a
    # sidebar, notes in the margin): read one column after the other. A table ends at its last row.
    going_on = [row for row in rows[multi[-1] + 1 :] if sum(len(line.text.split()) for line in row) >= 4]
    if len(rows) >= 3 and ((prose and len(spans) <= 4) or len(going_on) >= 2):
        for k, lines in enumerate(columns):
            for line in _rejoined(sorted(lines, key=lambda line: line.top)):
                line.region = f"{page}:{band}:{k}"
                out.append(line)
        return len(rows)
    table: list[list[str]] = []
    last_bottom = 0.0
    for row in rows[: multi[-1] + 1]:
        cells = [" ".join(line.text for line in row if column(line) == k) for k in range(len(spans))]
        size = max(line.size for line in row)
        top = min(line.top for line in row)
        if table and not cells[0] and top - last_bottom < 0.35 * size:  # a cell's text wrapping onto a line
            table[-1] = [" ".join(filter(None, pair)) for pair in zip(table[-1], cells, strict=True)]
        else:
            table.append(cells)
        last_bottom = max(line.bottom for line in row)
    rows_out = tidy_table(table)
    if not rows_out:
        return 0
    out.append(Table(rows_out, rows[0][0].top))
    return multi[-1] + 1


def _rejoined(lines: list[Line]) -> list[Line]:
    """Lines of one column at the same height (a wide justified space split them) made one again."""
    out: list[Line] = []
    for line in lines:
        if out and abs(line.top - out[-1].top) < 0.5 * line.size:
            out[-1] = _merged(sorted([out[-1], line], key=lambda item: item.x0))
        else:
            out.append(line)
    return out


# ---------------------------------------------------------------- headings


def _body_size(lines: list[Line]) -> float:
    weights: Counter[float] = Counter()
    for line in lines:
        weights[line.size] += len(line.text)
    return weights.most_common(1)[0][0] if weights else 0.0


def _mark_headings(lines: list[Line], outline: dict[int, list[tuple[int, str]]]) -> None:
    """Set ``level`` on heading lines: larger than the body text (levels by size), short and all bold, or
    named by the outline; a heading wrapped onto several lines becomes one."""
    body = _body_size(lines)
    if not body:
        return
    larger = [line for line in lines if line.size >= body * 1.12 and len(line.text.split()) <= 20]
    sizes = sorted({line.size for line in larger}, reverse=True)
    for line in larger:
        line.level = min(sizes.index(line.size) + 1, 6)
    for i, line in enumerate(lines):
        if line.level or not line.bold or len(line.text.split()) > 12 or line.text[-1] in ".,;":
            continue
        after = lines[i + 1] if i + 1 < len(lines) else None
        below = after and after.bold and after.region == line.region and after.top - line.bottom < 0.6 * line.size
        if (
            below
            and after is not None
            and after.size == line.size
            and len(line.text.split()) + len(after.text.split()) > 12
        ):
            continue  # a bold paragraph, not a heading
        line.level = min(len(sizes) + 1, 6)
    for page, entries in outline.items():
        on_page = [line for line in lines if line.page == page]
        for depth, title in entries:
            wanted = title.casefold()
            for line in on_page:
                if " ".join(line.text.split()).casefold() == wanted:
                    line.level = depth
                    break
    # A heading wrapped onto the next lines, at the same size just below, is one heading (the lines it took
    # are left empty, and not written).
    i = 0
    while i < len(lines):
        a, j = lines[i], i + 1
        while j < len(lines) and a.level and _wraps(a, lines[j]):
            a.text = _glue(a.text, lines[j].text, set())
            a.x1, a.bottom = max(a.x1, lines[j].x1), lines[j].bottom
            lines[j].text = ""
            j += 1
        i = j
    for line in lines:
        if line.level and len(line.text.split()) > 25:
            line.level = 0  # a paragraph set large is not a heading


def _wraps(a: Line, b: Line) -> bool:
    """Whether heading line ``b`` goes on with heading ``a``, wrapped onto the line just below it."""
    same = b.level == a.level and a.region == b.region and a.size == b.size
    return same and 0 <= b.top - a.bottom < 0.6 * a.size and a.text[-1] not in _ENDS_SENTENCE


# ---------------------------------------------------------------- paragraphs into text


def _write(stream: list[Line | Table]) -> str:
    """Blocks in Markdown-like lines (``## Heading``, paragraphs, ``- item``, ``cell | cell``) joined by
    :func:`index.markdown.join_blocks`."""
    stream = [item for item in stream if isinstance(item, Table) or item.text.strip()]
    lines = [item for item in stream if isinstance(item, Line)]
    edges: dict[str, float] = {}
    for line in lines:
        if not line.level:
            edges[line.region] = max(edges.get(line.region, 0.0), line.x1)
    for line in lines:
        line.edge = edges.get(line.region, line.x1)
    spacing = _spacing(lines)
    compounds = {w.strip(".,;:()").casefold() for line in lines for w in line.text.split() if "-" in w[1:-1]}
    blocks: list[str] = []
    paragraph = ""
    before: Line | None = None
    for item in stream:
        if isinstance(item, Table):
            blocks.extend([paragraph, *(TABLE_CELLS.join(row) for row in item.rows)])
            paragraph, before = "", None
            continue
        if item.level:
            blocks.extend([paragraph, "#" * item.level + " " + " ".join(item.text.split())])
            paragraph, before = "", None
            continue
        text = item.text
        bullet = _BULLET.match(text)
        starts_item = bool(bullet) or item.bullet or bool(_NUMBERED.match(text))
        if bullet or item.bullet:
            text = "- " + text[bullet.end() if bullet else 0 :]
        if before is not None and not starts_item and _continues(before, item, spacing):
            paragraph = _glue(paragraph, text, compounds)
        else:
            blocks.append(paragraph)
            paragraph = text
        before = item
    blocks.append(paragraph)
    return join_blocks(blocks)


def _spacing(lines: list[Line]) -> float:
    """The usual distance from one line to the next within a paragraph, in font sizes (the lower quartile)."""
    ratios = sorted(
        (b.top - a.top) / a.size
        for a, b in pairwise(lines)
        if a.region == b.region and a.size == b.size and not a.level and not b.level and 0 < b.top - a.top < 3 * a.size
    )
    return ratios[len(ratios) // 4] if ratios else 1.2


def _continues(a: Line, b: Line, spacing: float) -> bool:
    """Whether line ``b`` goes on with the paragraph that line ``a`` is part of."""
    if abs(a.size - b.size) > 0.6 or a.bold != b.bold:
        return False
    hyphenated = re.search(r"\w[-\u00ad\u2010]$", a.text) is not None and b.text[:1].islower()
    if not hyphenated and a.x1 + 0.3 * a.size + b.lead <= a.edge + 1:
        return False  # b's first word would have fitted on a's line: a ended its paragraph
    if b.page == a.page and b.region == a.region and b.top > a.top:
        return b.top - a.top <= spacing * a.size * 1.3 + 0.5
    # a new column or page: the paragraph goes on when a did not end a sentence and b starts lower-case
    return a.text[-1] not in _ENDS_SENTENCE and (b.text[:1].islower() or a.text[-1] in "-\u00ad")


def _glue(text: str, after: str, compounds: set[str]) -> str:
    """Two lines of a paragraph as one: a word hyphenated at the line end joined ("govern-" + "ment"), unless
    the document writes it with its hyphen elsewhere ("self-" + "service")."""
    if not text:
        return after
    if text.endswith("\u00ad"):
        return text[:-1] + after
    hyphenated = re.search(r"(\w+)[-\u2010]$", text)
    if hyphenated:
        if after[:1].islower():
            whole = hyphenated.group(1) + "-" + after.split()[0].strip(".,;:()")
            return text + after if whole.casefold() in compounds else text[:-1] + after
        return text + after  # "Khyber-" + "Pakhtunkhwa": a name with its hyphen
    return text + " " + after


# ---------------------------------------------------------------- outline


def _outline(reader: Any) -> dict[int, list[tuple[int, str]]]:
    """Page index → [(depth, title)] of the PDF's outline (bookmarks), the headings of its structure."""
    out: dict[int, list[tuple[int, str]]] = {}

    def walk(items: list[Any], depth: int) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item, depth + 1)
                continue
            try:
                page = reader.get_destination_page_number(item)
                title = " ".join(str(item.title).split())
            except Exception:  # an outline entry pointing nowhere: not a heading we can place
                continue
            if page is not None and title:
                out.setdefault(page, []).append((min(depth, 5), title))

    try:
        walk(list(reader.outline), 1)
    except Exception as err:  # a damaged outline costs the headings, not the text
        log.info("outline unreadable (%s); no headings", err)
    return out
