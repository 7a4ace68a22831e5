"""What the templates show, computed from offsets: answers, citations and highlighted ranges.

Highlights are cut from character offsets, never found by searching text. Templates get plain
strings and autoescape them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from index.store import Index
from qa.types import Document, Passage, Result

EXCERPT_CHARS = 280
_OFFSET = re.compile(r"[0-9]{1,9}")


@dataclass(frozen=True, slots=True)
class Marked:
    """A text cut in three at ``[start, end)``: the middle part is the one to mark."""

    before: str
    marked: str
    after: str


@dataclass(frozen=True, slots=True)
class Citation:
    title: str
    date: str | None
    href: str
    excerpt: str
    headings: str


@dataclass(frozen=True, slots=True)
class AnswerView:
    text: str
    confidence: str
    sentence: Marked
    title: str
    date: str | None
    href: str


@dataclass(frozen=True, slots=True)
class ResultView:
    question: str
    no_answer: bool
    answer: AnswerView | None
    citations: list[Citation]
    took_ms: float


def cut(text: str, start: int, end: int) -> Marked | None:
    """``text`` split at ``start`` and ``end``, or ``None`` unless ``0 <= start < end <= len(text)``."""
    if not 0 <= start < end <= len(text):
        return None
    return Marked(text[:start], text[start:end], text[end:])


def parse_range(start: str | None, end: str | None, length: int) -> tuple[int, int] | None:
    """Offsets from query parameters: plain ASCII digits with ``0 <= start < end <= length``, else ``None``."""
    if start is None or end is None or not _OFFSET.fullmatch(start) or not _OFFSET.fullmatch(end):
        return None
    s, e = int(start), int(end)
    return (s, e) if 0 <= s < e <= length else None


def doc_href(doc_id: str, start: int | None = None, end: int | None = None, question: str | None = None) -> str:
    """The document page's URL, with the range to highlight and the question to go back to."""
    href = "/doc/" + quote(doc_id, safe="/")
    params: dict[str, str | int] = {}
    if start is not None and end is not None:
        params = {"start": start, "end": end}
    if question:
        params["q"] = question
    if params:
        href += "?" + urlencode(params)
    return href + ("#hl" if start is not None else "")


def percent(confidence: float) -> str:
    return f"{round(max(0.0, min(1.0, confidence)) * 100)}%"


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + " …"


def present(result: Result, index: Index, took_ms: float) -> ResultView:
    """The answer page for ``result``: the answer, its sentence marked, and the citations."""
    question = result.question
    answer_view = None
    passages: list[Passage] = [hit.passage for hit in result.passages]
    if result.answer is not None and not result.no_answer:
        a = result.answer
        s = a.sentence
        sentence = cut(s.text, a.start - s.start, a.end - s.start) or Marked("", s.text, "")
        doc = index.document(a.doc_id)
        answer_view = AnswerView(
            text=a.text,
            confidence=percent(a.confidence),
            sentence=sentence,
            title=a.title,
            date=doc.date if doc else None,
            href=doc_href(a.doc_id, a.start, a.end, question),
        )
        # The passage the answer was read from is the first citation.
        passages = [a.passage, *(p for p in passages if (p.doc_id, p.start, p.end) != _key(a.passage))]
    citations = [_citation(p, index.document(p.doc_id), question) for p in passages]
    return ResultView(question, answer_view is None, answer_view, citations, took_ms)


def _key(p: Passage) -> tuple[str, int, int]:
    return (p.doc_id, p.start, p.end)


def _citation(p: Passage, doc: Document | None, question: str) -> Citation:
    title = doc.title if doc else p.doc_id
    headings = " › ".join(h for h in p.heading_path if h != title)
    return Citation(
        title=title,
        date=doc.date if doc else None,
        href=doc_href(p.doc_id, p.start, p.end, question),
        excerpt=excerpt(p.text),
        headings=headings,
    )
