"""Running headers and footers of PDF pages, and the stamps printers put in page margins.

A line in the top or bottom margin of a page (its first or last two lines there) is dropped when it
recurs at the same place on most pages, numbers counting as one ("Page 3" is "Page 4"), or when it holds
a print stamp: a page number, "Page 2 of 5", a date or a time, a URL (what a browser prints around a
page). A page is never emptied by repetition alone (a document of one line a page keeps its lines).
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from index.pdf_lines import Row, Table

_URL = r"(?:(?:https?|file|ftp)://|www\.)\S+"
_DATE = r"\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}"
_TIME = r"\d{1,2}:\d{2}(?::\d{2})?(?:\s*[ap]\.?m\.?)?"
_PAGE = r"(?:page|p\.|pg\.?)?\s*\d{1,5}(?:\s*(?:/|of)\s*\d{1,5})?"
_STAMP_PART = re.compile(rf"{_URL}|{_DATE}|{_TIME}|\b(?:{_PAGE})\b|[-–—]\s*\d{{1,5}}\s*[-–—]", re.IGNORECASE)
_ROMAN = re.compile(r"[ivxlc]{1,5}", re.IGNORECASE)  # a page number of a preface
MARGIN = 0.12  # the top and bottom share of a page where running headers and footers are looked for


def is_stamp(text: str) -> bool:
    """A page number, date, time or URL and nothing else: what a printer puts in the margins."""
    if _ROMAN.fullmatch(text.strip()):
        return True
    rest = _STAMP_PART.sub("", text)
    return bool(text.strip()) and not re.sub(r"[\s,.;:|·•()\[\]–—-]+", "", rest)


def drop_running_lines(pages: list[tuple[list[Row], list[Table], float]]) -> None:
    """Remove, in place, the rows in the margins that are print stamps or recur at the same place on most pages."""
    candidates: list[tuple[int, int, str, float]] = []  # (page, row index, key, top)
    for number, (rows, _, height) in enumerate(pages):
        marked = {i for i in range(min(2, len(rows))) if rows[i][0].top < MARGIN * height}
        marked |= {i for i in range(max(0, len(rows) - 2), len(rows)) if rows[i][-1].bottom > (1 - MARGIN) * height}
        for i in sorted(marked):
            text = " ".join(line.text for line in rows[i])
            side = "top" if i < 2 and rows[i][0].top < MARGIN * height else "bottom"
            key = side + ":" + re.sub(r"\d+", "#", " ".join(text.casefold().split()))
            candidates.append((number, i, key, rows[i][0].top))
    with_text = sum(1 for rows, tables, _ in pages if rows or tables)
    needed = max(2, 0.4 * with_text)
    tops: dict[str, list[tuple[float, int]]] = {}
    for number, _, key, top in candidates:
        tops.setdefault(key, []).append((top, number))
    for values in tops.values():
        values.sort()
    drop: dict[int, set[int]] = {}
    repeated: dict[int, set[int]] = {}
    for number, i, key, top in candidates:
        row = pages[number][0][i]
        stamped = any(is_stamp(line.text) for line in row) and all(len(line.text.split()) <= 12 for line in row)
        values = tops[key]
        near = values[bisect_left(values, (top - 4, -1)) : bisect_right(values, (top + 4, len(pages)))]
        if stamped:
            drop.setdefault(number, set()).add(i)
        elif len({page for _, page in near}) >= needed:
            repeated.setdefault(number, set()).add(i)
    for number, (rows, tables, _) in enumerate(pages):
        gone = drop.get(number, set())
        again = repeated.get(number, set())
        if again and (len(gone | again) < len(rows) or tables):  # a page is never emptied by repetition alone
            gone = gone | again
        if gone:
            rows[:] = [row for i, row in enumerate(rows) if i not in gone]
