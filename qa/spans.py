"""The span a person reads, shaped from the reader's choice: kept inside one list item, table cell or heading,
moved to the number that counts what a "how many" question asks about, a bare number read with its qualifier
and unit, and no Markdown marks at its edges. Every function takes and returns offsets into the document's
text: the answer is always ``text[start:end]``.
"""

from __future__ import annotations

import re

from index.lexical import tokenize
from index.types import Passage, Sentence
from qa.answer_type import NUMBER_WORDS


def within_one_cell(text: str, passage: Passage, start: int, end: int) -> tuple[int, int]:
    """``[start, end)`` kept inside one list item, one table cell or one heading: a span the reader runs from
    one item or cell into the next is cut to the one holding most of it (a fee, not a fee and the next
    row's name)."""
    units = [u for u in (*passage.sentences, *passage.headings) if u.end > start and u.start < end]
    if len(units) > 1 and any(u.kind in ("item", "row", "heading") for u in units):
        best = max(units, key=lambda u: min(end, u.end) - max(start, u.start))
        start, end = max(start, best.start), min(end, best.end)
    if "|" in text[start:end]:
        cells, pos = [], start
        for piece in text[start:end].split("|"):
            cells.append((pos, pos + len(piece)))
            pos += len(piece) + 1
        a, b = max(cells, key=lambda c: len(text[c[0] : c[1]].strip()))
        if text[a:b].strip():
            start, end = a, b
    while start < end - 1 and text[start].isspace():
        start += 1
    while end > start + 1 and text[end - 1].isspace():
        end -= 1
    return start, end


_NUMBER = re.compile(r"(?:[$£€₹]|rs\.?|pkr)?\s?\d[\d,.]*%?|" + "|".join(NUMBER_WORDS), re.IGNORECASE)
_QUALIFIER = re.compile(
    r"(?:at least|at most|no more than|no less than|more than|less than|fewer than|up to|over|under|about|around|"
    r"nearly|almost|approximately|roughly|only|some|version)\s+$",
    re.IGNORECASE,
)
_UNIT = re.compile(r"\s(%|per cent|percent|[a-z][a-z-]*)\b")
_NOT_UNITS = frozenset(
    re.findall(
        r"\w+",
        "a an and are as at be but by for from has have in into is it of on or than that the their then this to "
        "was were which who will with out up down off so not also after before since until during while when "
        "where if each per across between among through",
    )
)


_HOW_MANY = re.compile(r"\bhow many\s+(.+)", re.IGNORECASE)
_COUNT = re.compile(r"(?<![\w.,])(\d[\d,]*(?:\.\d+)?|" + "|".join(NUMBER_WORDS) + r")(?![\w])", re.IGNORECASE)


def counted(question: str, text: str, sentence: Sentence, start: int, end: int) -> tuple[int, int]:
    """For "how many <things>?", the number of its sentence that counts those things: "How many graduates
    ...?" read as "85" from "connects 7,884 graduates with 85 IT companies" becomes "7,884". A number counts
    the things named within three words after it; the span is moved only when it holds no such number."""
    asked = _HOW_MANY.search(question)
    if asked is None:
        return start, end
    things = tokenize(asked.group(1))[:1]
    if not things:
        return start, end
    candidates = []
    for m in _COUNT.finditer(sentence.text):
        after = tokenize(" ".join(sentence.text[m.end() :].split()[:3]))
        if things[0] in after:
            candidates.append((sentence.start + m.start(), sentence.start + m.end()))
    if not candidates or any(start <= a and b <= end for a, b in candidates):
        return start, end
    return candidates[0]


def with_quantity(text: str, start: int, end: int) -> tuple[int, int]:
    """A bare number read as the answer, with what it counts and how it is qualified: "5" → "at least 5
    hours", "six" → "six phases", "4.0" → "version 4.0". The number alone leaves the reader guessing
    (five what? exactly five?); the words around it stand in the text, so offsets stay the source."""
    if not _NUMBER.fullmatch(text[start:end].strip()):
        return start, end
    year = re.fullmatch(r"(19|20)\d\d", text[start:end].strip())
    line_start = text.rfind("\n", 0, start) + 1
    before = _QUALIFIER.search(text, line_start, start)
    if before is not None:
        start = before.start()
    unit = _UNIT.match(text, end)
    if unit is not None and year is None and unit.group(1).lower() not in _NOT_UNITS:
        end = unit.end()
    return start, end


_MARKUP = "*_`|>"
_PAIRS = {"[": "]", "(": ")", "]": "[", ")": "("}


def trim_markup(text: str, start: int, end: int) -> tuple[int, int]:
    """``[start, end)`` without the Markdown marks and unpaired brackets at its edges ("**", a link's "["),
    which word pieces of their own can bring into a span; never empties it. The offsets stay the source:
    the answer is still ``text[start:end]``."""

    def edge(c: str, span: str) -> bool:
        return c.isspace() or c in _MARKUP or (c in _PAIRS and _PAIRS[c] not in span)

    s, e = start, end
    while e - s > 1 and edge(text[s], text[s:e]):
        s += 1
    while e - s > 1 and edge(text[e - 1], text[s:e]):
        e -= 1
    return s, e
