"""What a document says about itself: its title and its date.

Titles: the declared one (front matter, the format's own), else the first heading, else a first line
that stands alone like a title, else the first line or sentence of the body (shortened), else the
file name. Dates: a date written in the opening lines ("Nov 1, 2021", "1 November 2021",
"2021-11-01").
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

_ATX_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.+?)[ \t#]*$", re.MULTILINE)

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("January", "Jan"),
            ("February", "Feb"),
            ("March", "Mar"),
            ("April", "Apr"),
            ("May",),
            ("June", "Jun"),
            ("July", "Jul"),
            ("August", "Aug"),
            ("September", "Sept", "Sep"),
            ("October", "Oct"),
            ("November", "Nov"),
            ("December", "Dec"),
        ),
        1,
    )
    for name in names
}
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_WRITTEN_DATES = (
    re.compile(rf"(?P<month>{_MONTH})\.? (?P<day>\d{{1,2}})(?:st|nd|rd|th)?, (?P<year>(?:19|20)\d\d)\b"),
    re.compile(rf"\b(?P<day>\d{{1,2}})(?:st|nd|rd|th)? (?P<month>{_MONTH})\.?,? (?P<year>(?:19|20)\d\d)\b"),
    re.compile(r"\b(?P<year>(?:19|20)\d\d)-(?P<month>\d\d)-(?P<day>\d\d)\b"),
)
OPENING_CHARS = 300


def opening_date(text: str, body_start: int = 0) -> str | None:
    """A date written in the first lines of the body ("Nov 1, 2021", "1 November 2021", "2021-11-01"),
    as ``YYYY-MM-DD``; ``None`` when there is none or it is not a real date."""
    opening = text[body_start : body_start + OPENING_CHARS]
    found = [(m.start(), m) for pattern in _WRITTEN_DATES for m in pattern.finditer(opening)]
    for _, match in sorted(found, key=lambda pair: pair[0]):
        raw = match.group("month")
        month = int(raw) if raw.isdigit() else _MONTHS[raw]
        try:
            return datetime.date(int(match.group("year")), month, int(match.group("day"))).isoformat()
        except ValueError:
            continue
    return None


def document_title(
    metadata: dict[str, Any], text: str, body_start: int, path: Path, *, line_first: bool = False
) -> tuple[str, str | None]:
    """The document's title, and the title its passages are read with when that differs (else ``None``).

    The declared title, else the first heading, else a first line that stands alone like a title,
    else the first line or sentence of the body (shortened), else the file name. ``line_first``: a
    title-like first line wins over a later heading (text extracted from a PDF, whose outline marks
    section headings and whose cover line is its title).

    A title made from the body's first line or sentence is for people (pages, citations): passages
    keep being embedded and read with the file name, as the shipped reader was trained and
    calibrated, rather than repeating one sentence before every passage of the document.
    """
    title = metadata.get("title")
    if isinstance(title, str) and title.strip():
        return title.strip(), None
    if line_first:
        line = next((text[a:b] for a, b in iter_lines(text, body_start) if text[a:b].strip()), "")
        if looks_like_title(line.lstrip("#")):
            return line.lstrip("#").strip(), None
    heading = _ATX_HEADING.search(text, body_start)
    if heading:
        return _clean_heading(heading.group(1)), None
    first = first_title_line(text, body_start)
    if first is not None:
        return text[first[0] : first[1]].strip(), None
    derived = opening_title(text, body_start)
    if derived:
        return derived, path.stem
    return path.stem, None


_SENTENCE_END = re.compile(r"(?<=[.!?۔])[\"”’')\]]*\s")
TITLE_CHARS = 110  # a whole first sentence this long is a title; a longer one is cut at a word, with "…"


def opening_title(text: str, body_start: int = 0) -> str | None:
    """The body's first line when it reads like a heading (no sentence end, at most 150 characters),
    else its first sentence, shortened to about :data:`TITLE_CHARS` at a word boundary."""
    line = next((" ".join(text[a:b].split()) for a, b in iter_lines(text, body_start) if text[a:b].strip()), "")
    if not line:
        return None
    if len(line) <= 150 and line[-1] not in ".!?;,…۔:\"”'’":
        return line
    end = _SENTENCE_END.search(line)
    sentence = line[: end.start()] if end else line
    if len(sentence) <= TITLE_CHARS:
        return sentence.rstrip(".")
    cut = sentence[:TITLE_CHARS].rsplit(" ", 1)[0].rstrip(",;:—–- ")
    return cut + "…"


def _clean_heading(raw: str) -> str:
    return re.sub(r"[*_`]+", "", raw).strip()


def first_title_line(text: str, body_start: int) -> tuple[int, int] | None:
    """The first line of a plain-text body when it stands alone like a title, else ``None``.

    A title line is short, does not end like a sentence and is followed by a blank line.
    """
    lines = iter_lines(text, body_start)
    for start, end in lines:
        line = text[start:end]
        if not line.strip():
            continue
        nxt = next(lines, None)
        followed_by_blank = nxt is None or not text[nxt[0] : nxt[1]].strip()
        if followed_by_blank and looks_like_title(line):
            lead = len(line) - len(line.lstrip())
            return start + lead, start + len(line.rstrip())
        return None
    return None


def looks_like_title(line: str) -> bool:
    stripped = line.strip()
    if not stripped or len(stripped) > 120 or len(stripped.split()) > 16:
        return False
    return stripped[-1] not in ".!?;,…۔\"”'’"


def iter_lines(text: str, start: int = 0) -> Iterator[tuple[int, int]]:
    """Yield (start, end) of each line from ``start``, the end excluding the line break."""
    pos = start
    n = len(text)
    while pos < n:
        nl = text.find("\n", pos)
        if nl == -1:
            yield pos, n
            return
        end = nl - 1 if nl > pos and text[nl - 1] == "\r" else nl
        yield pos, end
        pos = nl + 1
