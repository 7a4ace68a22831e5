"""The words on each page of a PDF, with their boxes, size and weight, and the ruled tables drawn there.

``pdfminer.six`` (MIT, pure Python) interprets the pages; a small device of ours records each glyph's box
and font as the interpreter draws it (pdfminer's own layout objects, and ``pdfplumber``'s dictionary per
glyph, cost several times more for the same boxes), and glyphs become words in the order they are drawn.
``pdfplumber``'s table finder (MIT) is given the lines and rectangles drawn on a page, and finds the
grid of a ruled table there; the words in each of its cells are that cell's text.

Coordinates are as a page is read: ``top`` and ``bottom`` from the top edge, in points.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

Word = dict[str, Any]  # x0, x1, top, bottom, text, size, bold, upright
TableRows = tuple[float, list[list[str]], tuple[float, float, float, float]]  # (top, rows, bbox)
Box = tuple[float, float, float, float]  # x0, top, x1, bottom

_BOLD_NAMES = ("bold", "black", "heavy", "semibold", "demibold")
_LIGATURES = str.maketrans({"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"})


def pages(data: bytes) -> Iterator[tuple[list[Word], list[TableRows], list[Box], float]]:
    """For each page: its words (those in a table's cells left out), its ruled tables, the small filled
    shapes drawn on it (list bullets, as browsers print them), its height."""
    from pdfminer.pdfdocument import PDFDocument
    from pdfminer.pdfinterp import PDFPageInterpreter, PDFResourceManager
    from pdfminer.pdfpage import PDFPage
    from pdfminer.pdfparser import PDFParser

    document = PDFDocument(PDFParser(io.BytesIO(data)), password="")
    resources = PDFResourceManager(caching=True)
    device = _glyph_device(resources)
    interpreter = PDFPageInterpreter(resources, device)
    for page in PDFPage.create_pages(document):
        device.glyphs = []
        interpreter.process_page(page)
        layout = device.layout
        width, height = layout.width, layout.height
        words = _words(device.glyphs, height)
        device.glyphs, device.layout = [], None
        tables: list[TableRows] = []
        edges, marks = _shapes(layout, height) if words else ([], [])
        if edges:
            tables, words = _ruled_tables(edges, words, width, height)
        yield words, tables, marks, height


def _glyph_device(resources: Any) -> Any:
    from pdfminer.converter import PDFLayoutAnalyzer
    from pdfminer.pdffont import PDFUnicodeNotDefined
    from pdfminer.utils import apply_matrix_rect

    class Glyphs(PDFLayoutAnalyzer):
        """Records (x0, y0, x1, y1, text, bold, size, upright) per glyph; keeps the page's drawn shapes."""

        glyphs: list[tuple[float, float, float, float, str, bool, float, bool]]
        layout: Any = None

        def render_char(
            self, matrix: Any, font: Any, fontsize: float, scaling: float, rise: float, cid: int, *_: Any
        ) -> float:
            try:
                text = font.to_unichr(cid)
            except PDFUnicodeNotDefined:
                text = "\ufffd"
            advance: float = font.char_width(cid) * fontsize * scaling
            known = fonts.get(id(font))
            if known is None or known[0] is not font:
                name = font.fontname.lower() if isinstance(font.fontname, str) else ""
                known = fonts[id(font)] = (font, any(w in name for w in _BOLD_NAMES), font.is_vertical())
            if known[2]:
                return advance  # vertical writing: not read
            low = font.get_descent() * fontsize + rise
            a, b, c, d, e, f = matrix
            if b == 0 and c == 0:  # neither rotated nor skewed: the box without the general transform
                x0, x1, y0, y1 = e, e + a * advance, f + d * low, f + d * (low + fontsize)
            else:
                x0, y0, x1, y1 = apply_matrix_rect(matrix, (0, low, advance, low + fontsize))
            if x1 < x0:
                x0, x1 = x1, x0
            if y1 < y0:
                y0, y1 = y1, y0
            self.glyphs.append((x0, y0, x1, y1, text, known[1], y1 - y0, a * d * scaling > 0 and b * c <= 0))
            return advance

        def receive_layout(self, ltpage: Any) -> None:
            self.layout = ltpage

    fonts: dict[int, tuple[Any, bool, bool]] = {}  # id → (font, bold, vertical), worked out once per font
    return Glyphs(resources, laparams=None)


def _words(glyphs: list[tuple[float, float, float, float, str, bool, float, bool]], height: float) -> list[Word]:
    """Glyphs into words, in the order they were drawn: a word ends at a space, a jump, or a new line."""
    words: list[Word] = []
    chars: list[str] = []
    sizes: Counter[float] = Counter()
    x0 = x1 = y0 = y1 = 0.0
    bold = upright = True

    def close() -> None:
        if chars:
            words.append(
                {
                    "x0": x0,
                    "x1": x1,
                    "top": height - y1,
                    "bottom": height - y0,
                    "text": "".join(chars).translate(_LIGATURES),
                    "size": sizes.most_common(1)[0][0],
                    "bold": bold,
                    "upright": upright,
                }
            )
            chars.clear()
            sizes.clear()

    for gx0, gy0, gx1, gy1, text, gbold, size, gupright in glyphs:
        if not text or text.isspace():
            close()
            continue
        same = chars and abs(gy0 - y0) < 0.3 * size and -0.5 * size <= gx0 - x1 <= 0.2 * size
        if not same:
            close()
            x0, y0, y1, bold, upright = gx0, gy0, gy1, True, True
        x1 = max(x1, gx1) if same else gx1
        y1 = max(y1, gy1)
        chars.append(text)
        sizes[round(size * 2) / 2] += 1
        bold = bold and gbold
        upright = upright and gupright
    close()
    return words


def _shapes(layout: Any, height: float) -> tuple[list[dict[str, Any]], list[Box]]:
    """The lines and rectangle sides drawn on a page, as ``pdfplumber``'s table finder takes them, and the
    small filled dots and squares (bullets)."""
    from pdfminer.layout import LTContainer, LTCurve, LTLine, LTRect
    from pdfplumber.utils.geometry import curve_to_edges, line_to_edge, rect_to_edges

    edges: list[dict[str, Any]] = []
    marks: list[Box] = []
    stack = [layout]
    while stack:
        for item in stack.pop():
            if isinstance(item, LTContainer):
                stack.append(item)
                continue
            if not isinstance(item, LTCurve):
                continue
            top, bottom = height - item.y1, height - item.y0
            w, h = item.x1 - item.x0, bottom - top
            if item.fill and 1 <= w <= 8 and 1 <= h <= 8 and 0.5 <= w / h <= 2:
                marks.append((item.x0, top, item.x1, bottom))
                continue
            shape = {
                "x0": item.x0,
                "x1": item.x1,
                "y0": item.y0,
                "y1": item.y1,
                "top": top,
                "bottom": bottom,
                "doctop": top,
                "width": item.x1 - item.x0,
                "height": bottom - top,
            }
            if isinstance(item, LTRect):
                edges.extend(rect_to_edges({**shape, "object_type": "rect"}))
            elif isinstance(item, LTLine):
                edges.append(line_to_edge({**shape, "object_type": "line"}))
            else:
                points = [(x, height - y) for x, y in item.pts]
                edges.extend(e for e in curve_to_edges({**shape, "object_type": "curve", "pts": points}))
    return [edge for edge in edges if edge.get("orientation") in ("h", "v")], marks


def _ruled_tables(
    edges: list[dict[str, Any]], words: list[Word], width: float, height: float
) -> tuple[list[TableRows], list[Word]]:
    """The tables the drawn lines rule, each cell's words as its text; the words left outside them."""
    from pdfplumber.table import TableFinder

    page = SimpleNamespace(edges=edges, bbox=(0, 0, width, height), chars=[])  # all of a Page TableFinder reads
    finder = TableFinder(page)  # type: ignore[arg-type]  # pdfplumber types it a Page; it reads only those three
    tables: list[TableRows] = []
    for table in finder.tables:
        x0, top, x1, bottom = table.bbox
        inside = [w for w in words if _within(w, (x0, top, x1, bottom))]
        rows = [
            [_cell_text([w for w in inside if _within(w, cell)]) if cell else "" for cell in row.cells]
            for row in table.rows
        ]
        rows = tidy_table(rows)
        if rows:
            tables.append((top, rows, table.bbox))
            words = [w for w in words if not _within(w, (x0, top, x1, bottom))]
    return tables, words


def _within(word: Word, box: tuple[float, float, float, float]) -> bool:
    x: float = (word["x0"] + word["x1"]) / 2
    y: float = (word["top"] + word["bottom"]) / 2
    return box[0] <= x <= box[2] and box[1] <= y <= box[3]


def _cell_text(words: list[Word]) -> str:
    """A cell's words line by line (a line: words whose middles are within the first one's height)."""
    lines: list[list[Word]] = []
    for word in sorted(words, key=lambda w: (w["top"], w["x0"])):
        middle = (word["top"] + word["bottom"]) / 2
        if lines and lines[-1][0]["top"] <= middle <= lines[-1][0]["bottom"]:
            lines[-1].append(word)
        else:
            lines.append([word])
    return " ".join(w["text"] for line in lines for w in sorted(line, key=lambda w: w["x0"]))


def tidy_table(rows: list[list[str]]) -> list[list[str]]:
    """Rows without empty ones, columns without always-empty ones; nothing when it is not a table (one
    row or one column: a box drawn around text)."""
    rows = [row for row in rows if any(row)]
    if len(rows) < 2:
        return []
    keep = [i for i in range(max(map(len, rows))) if any(i < len(r) and r[i] for r in rows)]
    rows = [[row[i] if i < len(row) else "" for i in keep] for row in rows]
    return rows if len(keep) >= 2 else []
