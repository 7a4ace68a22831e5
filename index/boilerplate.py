"""Boilerplate: lines that stand in several documents of an index (a footer, "Follow us on ...", a
navigation line that survived extraction). A passage made only of them tells a reader nothing about
the question, so the page does not list it among the sources when real passages are there."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from index.types import Document

MIN_DOCUMENTS = 3  # a line in this many documents is boilerplate
MIN_CHARS = 3  # shorter lines ("-", "|", "**") say nothing either way


def _line(text: str) -> str:
    return " ".join(text.split()).casefold()


def repeated_lines(documents: Iterable[Document], min_documents: int = MIN_DOCUMENTS) -> frozenset[str]:
    """The (normalised) lines that stand in at least ``min_documents`` of ``documents``."""
    counts: Counter[str] = Counter()
    for doc in documents:
        counts.update({line for raw in doc.text[doc.body_start :].splitlines() if len(line := _line(raw)) >= MIN_CHARS})
    return frozenset(line for line, n in counts.items() if n >= min_documents)


def is_boilerplate(text: str, repeated: frozenset[str]) -> bool:
    """Whether every line of ``text`` that says anything is one of the ``repeated`` lines."""
    lines = [line for raw in text.splitlines() if len(line := _line(raw)) >= MIN_CHARS]
    return bool(lines) and all(line in repeated for line in lines)
