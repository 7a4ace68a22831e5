"""What a passage reads as: its setting (the document's title and headings, and any sentence it needs) and
its text. Embedding reads it (:mod:`index.write`) and so does the reader (:mod:`qa.reading`): one definition.
"""

from __future__ import annotations

from dataclasses import dataclass

from index.types import Passage


@dataclass(frozen=True, slots=True)
class Context:
    """One passage as the reader sees it: ``text = prefix + body``. ``text[body_start:]`` answers, and so
    does each range of ``quotable`` in the prefix: ``(start, end, offset)``, the characters
    ``text[start:end]`` standing character for character at ``offset`` in the passage's document (a
    heading's own line). An answer never runs from one of these pieces into another."""

    text: str
    body_start: int = 0
    quotable: tuple[tuple[int, int, int], ...] = ()

    @classmethod
    def of(cls, prefix: str, body: str) -> Context:
        prefix = f"{prefix}\n" if prefix else ""
        return cls(prefix + body, len(prefix))

    def pieces(self) -> list[tuple[int, int]]:
        """The answerable character ranges of ``text``: the body first, then the quotable headings."""
        return [(self.body_start, len(self.text)), *((a, b) for a, b, _ in self.quotable)]

    def document_offset(self, start: int, end: int, body_offset: int) -> tuple[int, int]:
        """``[start, end)`` of ``text`` as offsets into the document, whose body starts at ``body_offset``."""
        for a, b, offset in self.quotable:
            if a <= start and end <= b:
                return offset + start - a, offset + end - a
        return body_offset + start - self.body_start, body_offset + end - self.body_start


def _prefix(title: str, passage: Passage) -> tuple[str, list[tuple[int, int, int]]]:
    """The prefix and, for each heading in it that stands verbatim in the document (``passage.headings``),
    its range in the prefix and its offset in the document."""
    parts = [title]
    quotable: list[tuple[int, int, int]] = []
    spans = passage.headings if len(passage.headings) == len(passage.heading_path) else ()
    own = len(passage.heading_path) - 1  # the passage's own section heading: the only one that answers
    pos = len(title)
    for i, heading in enumerate(passage.heading_path):
        if heading == title:
            continue
        pos += 3  # " > "
        line = spans[i] if spans else None
        if i == own and line is not None and line.text == heading:
            quotable.append((pos, pos + len(heading), line.start))
        parts.append(heading)
        pos += len(heading)
    prefix = " > ".join(parts)
    return (f"{prefix}. {passage.context}" if passage.context else prefix), quotable


def passage_context(title: str, passage: Passage) -> Context:
    """What the reader reads of a retrieved passage: its prefix, then its text. The text answers, and so do
    the headings of the prefix that stand verbatim on their own lines of the document."""
    prefix, quotable = _prefix(title, passage)
    body = Context.of(prefix, passage.text)
    return Context(body.text, body.body_start, tuple(quotable))
