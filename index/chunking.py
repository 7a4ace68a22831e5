"""Sentence-aware chunking with offsets into the document's original text.

``segment`` turns a document body into units (headings, sentences, list items, table rows, code
lines), each with ``start``/``end`` into ``document.text``. ``chunk`` packs the units of each
section into passages of about ``target_chars`` characters, with about ``overlap_chars`` of
whole sentences repeated between neighbours, never cutting a sentence and never separating a
list from the sentence that introduces it when they fit together.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from index.markdown import ATX, FENCE, LIST_ITEM, SETEXT, TABLE_CELLS, TABLE_SEP, THEMATIC
from index.titles import first_title_line, iter_lines, looks_like_title
from index.types import Document, Passage, Sentence


@dataclass(frozen=True, slots=True)
class ChunkSettings:
    """Passage size and overlap in characters; recorded in the index manifest."""

    target_chars: int = 700
    overlap_chars: int = 150

    def __post_init__(self) -> None:
        if self.target_chars < 50:
            raise ValueError(f"target_chars must be at least 50, got {self.target_chars}")
        if not 0 <= self.overlap_chars < self.target_chars:
            raise ValueError(f"overlap_chars must be in [0, target_chars), got {self.overlap_chars}")

    def as_dict(self) -> dict[str, int]:
        return {"target_chars": self.target_chars, "overlap_chars": self.overlap_chars}


@dataclass(frozen=True, slots=True)
class Unit:
    start: int
    end: int
    kind: str  # heading | text | item | row | code
    level: int = 0  # heading level


_ABBREVIATIONS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "sr",
        "jr",
        "st",
        "vs",
        "etc",
        "e.g",
        "i.e",
        "no",
        "nos",
        "vol",
        "fig",
        "al",
        "inc",
        "ltd",
        "co",
        "corp",
        "gov",
        "govt",
        "dept",
        "approx",
        "est",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "u.s",
        "u.k",
        "u.n",
    ]
)
# A sentence ends at . ! ? (or the Urdu full stop) plus closing quotes/brackets, before whitespace.
_SENTENCE_END = re.compile(r"[.!?۔؟…]+[\"'”’)\]]*(?=\s)")


def segment(doc: Document) -> list[Unit]:
    """Split the body of ``doc`` into units with offsets into ``doc.text``."""
    text = doc.text
    units: list[Unit] = []
    markdown_headings = any(ATX.match(text, s) for s, _ in iter_lines(text, doc.body_start))
    title_line = None if markdown_headings else first_title_line(text, doc.body_start)
    cell_rows = _cell_rows(text, doc.body_start)

    paragraph: list[tuple[int, int]] = []
    in_fence: str | None = None
    item: list[tuple[int, int]] | None = None

    plain = not markdown_headings
    after_blank = True  # the line before the current one was blank (or the body starts there)
    item_alone = False  # the current list item started right after a blank line

    def flush(blank_follows: bool = False) -> None:
        nonlocal item
        if item:
            start, end = item[0][0], item[-1][1]
            marker_line = text[_line_start(text, start) : end]
            # In plain text a lone numbered line between blank lines ("1. Key Policies") is a heading.
            lone = plain and item_alone and blank_follows and len(item) == 1 and marker_line.lstrip()[:1].isdigit()
            if lone and _title_like(text[start:end]):
                units.extend(Unit(u.start, u.end, "heading", 2) for u in _trimmed(text, start, end, "heading"))
            else:
                units.extend(_trimmed(text, start, end, "item"))
            item = None
        if paragraph:
            units.extend(_paragraph_units(text, paragraph, plain=plain, alone=blank_follows))
            paragraph.clear()

    lines = iter_lines(text, doc.body_start)
    for start, end in lines:
        line = text[start:end]
        if in_fence is not None:
            if line.lstrip().startswith(in_fence):
                in_fence = None
            elif line.strip():
                units.extend(_trimmed(text, start, end, "code"))
            continue
        fence = FENCE.match(line)
        if fence:
            flush()
            in_fence = fence.group(1)
            continue
        if not line.strip():
            flush(blank_follows=True)
            after_blank = True
            continue
        if title_line is not None and start <= title_line[0] < end:
            flush()
            units.append(Unit(title_line[0], title_line[1], "heading", 1))
            continue
        atx = ATX.match(line)
        if atx:
            flush()
            content_start = start + atx.end()
            units.extend(
                Unit(u.start, u.end, "heading", len(atx.group(1)))
                for u in _trimmed(text, content_start, start + len(line.rstrip(" \t#")) or end, "heading")
            )
            continue
        if SETEXT.match(line) and len(paragraph) == 1 and item is None:
            p_start, p_end = paragraph.pop()
            units.extend(
                Unit(u.start, u.end, "heading", 1 if "=" in line else 2)
                for u in _trimmed(text, p_start, p_end, "heading")
            )
            continue
        if THEMATIC.match(line):
            flush()
            continue
        if TABLE_SEP.match(line) and "|" in line:
            continue
        if line.lstrip().startswith("|") or start in cell_rows:
            flush()
            units.extend(_trimmed(text, start, end, "row"))
            continue
        marker = LIST_ITEM.match(line)
        if marker:
            flush()
            item = [(start + marker.end(), end)]
            item_alone, after_blank = after_blank, False
            continue
        if item is not None:
            # A continuation line of a list item (indented, or a lazy continuation).
            item.append((start, end))
            continue
        paragraph.append((start, end))
        after_blank = False
    flush(blank_follows=True)
    # A lone line ending in ':' right before a list introduces the list: it is a sentence, not a heading.
    for i, unit in enumerate(units[:-1]):
        if unit.kind == "heading" and unit.level == 3 and text[unit.end - 1] == ":" and units[i + 1].kind == "item":
            units[i] = Unit(unit.start, unit.end, "text")
    return [u for unit in units for u in _split_long(text, unit)]


def _cell_rows(text: str, body_start: int) -> set[int]:
    """Where the lines start that are rows of a table as the PDF, HTML and DOCX readers write one: cells
    joined by `` | ``, two or more such lines in a row (a sentence never runs from one row into the next)."""
    lines = [(start, TABLE_CELLS in text[start:end]) for start, end in iter_lines(text, body_start)]
    return {
        start
        for i, (start, cells) in enumerate(lines)
        if cells and ((i > 0 and lines[i - 1][1]) or (i + 1 < len(lines) and lines[i + 1][1]))
    }


def _trimmed(text: str, start: int, end: int, kind: str) -> list[Unit]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return [Unit(start, end, kind)] if end > start else []


def _paragraph_units(text: str, lines: list[tuple[int, int]], plain: bool, alone: bool) -> Iterator[Unit]:
    """Sentences of a paragraph; in plain text a lone short line between blank lines is a heading."""
    start, end = lines[0][0], lines[-1][1]
    if plain and alone and len(lines) == 1 and _title_like(text[start:end]):
        yield from (Unit(u.start, u.end, "heading", 3) for u in _trimmed(text, start, end, "heading"))
        return
    yield from _sentences(text, start, end)


def _title_like(line: str) -> bool:
    """Short and not ending like a sentence; a trailing ':' is allowed ("Conclusion:")."""
    stripped = line.strip()
    return looks_like_title(stripped[:-1] if stripped.endswith(":") else stripped) and len(stripped.split()) <= 12


def _line_start(text: str, pos: int) -> int:
    return text.rfind("\n", 0, pos) + 1


def _sentences(text: str, start: int, end: int) -> Iterator[Unit]:
    pos = start
    for match in _SENTENCE_END.finditer(text, start, end):
        cut = match.end()
        if not _is_boundary(text, match.start(), cut, end):
            continue
        yield from _trimmed(text, pos, cut, "text")
        pos = cut
    yield from _trimmed(text, pos, end, "text")


def _is_boundary(text: str, punct: int, cut: int, end: int) -> bool:
    nxt = cut
    while nxt < end and text[nxt].isspace():
        nxt += 1
    if nxt >= end:
        return False
    following = text[nxt]
    if following.islower():
        return False
    if text[punct] == ".":
        word_start = punct
        while word_start > 0 and not text[word_start - 1].isspace():
            word_start -= 1
        word = text[word_start:punct].lower().lstrip("(\"'“‘")
        if word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha()):
            return False
        if word[:1].isdigit() and following.isdigit():
            return False
    return True


def _split_long(text: str, unit: Unit, limit: int = 1000) -> Iterator[Unit]:
    """Cut a unit longer than ``limit`` characters at whitespace (run-on lines, huge table rows)."""
    if unit.end - unit.start <= limit:
        yield unit
        return
    pos = unit.start
    while unit.end - pos > limit:
        cut = text.rfind(" ", pos + limit // 2, pos + limit)
        if cut <= pos:
            cut = pos + limit
        yield from (Unit(u.start, u.end, unit.kind, unit.level) for u in _trimmed(text, pos, cut, unit.kind))
        pos = cut
    yield from (Unit(u.start, u.end, unit.kind, unit.level) for u in _trimmed(text, pos, unit.end, unit.kind))


def chunk(doc: Document, settings: ChunkSettings | None = None) -> list[Passage]:
    """Cut ``doc`` into passages of whole units, each section (heading) on its own."""
    settings = settings or ChunkSettings()
    text = doc.text
    passages: list[Passage] = []
    headings: list[tuple[int, str, Sentence]] = []
    section: list[Unit] = []

    def flush_section() -> None:
        if section:
            path = tuple(h for _, h, _ in headings)
            lines = tuple(line for _, _, line in headings)
            passages.extend(_pack(doc, section, path, settings, lines))
            section.clear()

    for unit in segment(doc):
        if unit.kind == "heading":
            flush_section()
            while headings and headings[-1][0] >= unit.level:
                headings.pop()
            start, end = _unmarked(text, unit.start, unit.end)
            line = Sentence(start, end, text[start:end], "heading")
            headings.append((unit.level, _clean(text[unit.start : unit.end]), line))
        else:
            section.append(unit)
    flush_section()
    return passages


def _clean(heading: str) -> str:
    return re.sub(r"[*_`]+", "", heading).strip()


def _unmarked(text: str, start: int, end: int) -> tuple[int, int]:
    """A heading's line without the emphasis marks around it (``**Fees**`` → ``Fees``)."""
    while end - start > 1 and text[start] in "*_` " and text[end - 1] in "*_` ":
        start, end = start + 1, end - 1
    return start, end


def _blocks(text: str, units: list[Unit]) -> list[list[Unit]]:
    """Group a sentence ending in ':' with the list items (or rows) that follow it."""
    blocks: list[list[Unit]] = []
    for unit in units:
        prev = blocks[-1] if blocks else None
        if (
            prev
            and unit.kind in ("item", "row")
            and (prev[-1].kind == unit.kind or text[prev[-1].start : prev[-1].end].rstrip().endswith(":"))
        ):
            prev.append(unit)
        else:
            blocks.append([unit])
    return blocks


def _pack(
    doc: Document, units: list[Unit], path: tuple[str, ...], settings: ChunkSettings, lines: tuple[Sentence, ...] = ()
) -> list[Passage]:
    text = doc.text
    out: list[Passage] = []
    current: list[Unit] = []
    carried = 0  # how many units at the head of ``current`` repeat the previous passage
    intro: Unit | None = None  # the sentence introducing the list a passage continues

    def size(us: list[Unit]) -> int:
        return us[-1].end - us[0].start if us else 0

    def push(new: list[Unit], list_intro: Unit | None) -> None:
        nonlocal current, carried, intro
        if current and size(current + new) > settings.target_chars:
            if len(current) > carried:
                context = text[intro.start : intro.end] if intro and intro not in current else ""
                out.append(_passage(doc, current, path, context, lines))
                current = _overlap(current, settings.overlap_chars)
                carried = len(current)
                intro = list_intro
            if current and size(current + new) > settings.target_chars:
                current, carried = [], 0
        current = current + new

    for block in _blocks(text, units):
        if size(block) <= settings.target_chars or len(block) == 1:
            push(block, None)
            continue
        # The block alone is too long: split it between units; continuations keep the intro as context.
        head = block[0] if block[0].kind == "text" else None
        for unit in block:
            push([unit], head if unit is not head else None)
    if len(current) > carried:
        context = text[intro.start : intro.end] if intro and intro not in current else ""
        out.append(_passage(doc, current, path, context, lines))
    return out


def _overlap(units: list[Unit], overlap_chars: int) -> list[Unit]:
    """The trailing units of a passage (at most ``overlap_chars``) that start the next one."""
    kept: list[Unit] = []
    for unit in reversed(units[1:]):
        if (kept and kept[-1].end - unit.start > overlap_chars) or unit.end - unit.start > overlap_chars:
            break
        kept.insert(0, unit)
    return kept


def _passage(
    doc: Document, units: list[Unit], path: tuple[str, ...], context: str, lines: tuple[Sentence, ...] = ()
) -> Passage:
    text = doc.text
    start, end = units[0].start, units[-1].end
    sentences = tuple(Sentence(u.start, u.end, text[u.start : u.end], u.kind) for u in units)
    return Passage(doc.doc_id, start, end, text[start:end], path, sentences, context, lines)
