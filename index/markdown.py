"""Markdown's block syntax, line by line: one definition for chunking (:mod:`index.chunking`) and for
the document page (:mod:`web.render`). The extracted text of PDF, HTML and DOCX files is written with
the same syntax (:mod:`index.formats`), so it chunks and renders alike.

Two walkers read these definitions, on purpose: chunking cuts a document into sentence-sized units with
offsets (and guesses the headings of plain text: a short title line, a lone numbered line), while the page
builds nested HTML (lists in lists, quotes, a table's header row, inline styles). What they must agree on
— which line opens a heading, a fence, a table, a list item — is defined here once."""

from __future__ import annotations

import re
from collections.abc import Iterable

ATX = re.compile(r" {0,3}(#{1,6})[ \t]+")  # "## Heading"
SETEXT = re.compile(r" {0,3}(=+|-+)[ \t]*$")  # the underline of a "Heading\n======="
THEMATIC = re.compile(r" {0,3}([-*_])([ \t]*\1){2,}[ \t]*$")  # a rule: "---", "***", "_ _ _"
FENCE = re.compile(r" {0,3}(```|~~~)")  # opens and closes a code block
# A list item's marker, for chunking and the page alike: a bullet, a number ("1." "1)"), or a marker that an HTML
# list cannot show again ("(1)", "a)", "(b)"), which the page keeps in the item's text.
LIST_ITEM = re.compile(
    r"(?P<indent>[ \t]*)(?:(?P<bullet>[-*+•▪◦‣–])|(?P<number>\d{1,3})[.)]|\(\d{1,3}[.)]|\(?[a-zA-Z][.)])[ \t]+(?=\S)"
)
TABLE_SEP = re.compile(r"[ \t]*\|?[ \t]*:?-{2,}:?[ \t]*(\|[ \t]*:?-{2,}:?[ \t]*)*\|?[ \t]*$")  # "|---|:--:|"
TABLE_CELLS = " | "  # between the cells of a table row as the PDF, HTML and DOCX extractors write it


def join_blocks(blocks: Iterable[str]) -> str:
    """Blocks apart by a blank line, except that the items of a list and the rows of a table stay together."""
    out: list[str] = []
    previous = ""
    for block in blocks:
        if not block.strip():
            continue
        if out:
            items = block.startswith("- ") and previous.startswith("- ")
            together = items or (TABLE_CELLS in block and TABLE_CELLS in previous)
            out.append("\n" if together else "\n\n")
        out.append(block)
        previous = block
    return "".join(out) + "\n"
