"""Markdown's block syntax, line by line: one definition for chunking (:mod:`index.chunking`) and for
the document page (:mod:`web.render`). The extracted text of PDF, HTML and DOCX files is written with
the same syntax (:mod:`index.formats`), so it chunks and renders alike."""

from __future__ import annotations

import re
from collections.abc import Iterable

ATX = re.compile(r" {0,3}(#{1,6})[ \t]+")  # "## Heading"
SETEXT = re.compile(r" {0,3}(=+|-+)[ \t]*$")  # the underline of a "Heading\n======="
THEMATIC = re.compile(r" {0,3}([-*_])([ \t]*\1){2,}[ \t]*$")  # a rule: "---", "***", "_ _ _"
FENCE = re.compile(r" {0,3}(```|~~~)")  # opens and closes a code block
LIST_ITEM = re.compile(r"[ \t]*(?:[-*+•▪◦‣–]|\(?\d{1,3}[.)]|\(?[a-zA-Z][.)])[ \t]+(?=\S)")  # any list marker
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
