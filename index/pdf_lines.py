"""What a PDF page is read as (:mod:`index.pdf`): lines of words with their boxes and fonts, rows of lines, tables."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Line:
    """Words printed on one line (of a column, or one cell): its text, box, font size and weight."""

    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float
    bold: bool
    lead: float  # the width of its first word: would it have fitted at the end of the line before?
    page: int = 0
    region: str = ""  # the column (or the page's single column) it is read in
    level: int = 0  # heading level, 0 for body text
    edge: float = 0.0  # the right edge of its region's text
    bullet: bool = False  # a list item's first line (its bullet drawn as a shape beside it)


@dataclass(slots=True)
class Table:
    rows: list[list[str]]
    top: float


Row = list[Line]  # the lines printed side by side at one height of a page, left to right
