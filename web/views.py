"""What the templates show, computed from offsets: answers, citations and highlighted ranges.

Highlights are cut from character offsets, never found by searching text. Templates get plain
strings and autoescape them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from index.boilerplate import is_boilerplate
from index.store import Index
from index.types import Document, Passage
from qa.language import script_of
from qa.types import Answer, Result
from web.citations import doc_href
from web.render import plain_text
from web.schemas import DocumentOut, DocumentsOut

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
    sure: bool
    doc_id: str
    start: int
    end: int
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
    closest: list[str] = field(default_factory=list)  # on an abstention: the documents that came closest
    language: str = "en"  # the question's script (qa.language.script_of): the page's own words follow it


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


# The least dense cosine a passage needs to be listed as a source on the answer page. On the civic dev sets
# (2,240 top-5 passages) 0.15 left out 7.4 % of the passages of other documents than the one asked about
# and 1.5 % of that one's.
SOURCE_FLOOR = 0.15


def percent(confidence: float) -> str:
    return f"{round(max(0.0, min(1.0, confidence)) * 100)}%"


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + " …"


def documents_page(index: Index, limit: int, offset: int) -> DocumentsOut:
    """The documents of ``index`` from ``offset`` (at most ``limit``), as ``GET /documents`` and the home page
    list them."""
    counts = index.manifest["documents"]  # per-document passage counts, written by the build
    docs = list(index.documents.values())
    page = [DocumentOut.of(d, int(counts[d.doc_id].get("passages", 0))) for d in docs[offset : offset + limit]]
    return DocumentsOut(total=len(docs), offset=offset, documents=page)


def closest_titles(result: Result, index: Index, limit: int = 3) -> list[str]:
    """The titles of the documents whose passages came closest to a question, best first."""
    titles: list[str] = []
    for hit in result.passages:
        doc = index.document(hit.passage.doc_id)
        title = doc.title if doc else hit.title
        if title not in titles:
            titles.append(title)
    return titles[:limit]


def present(result: Result, index: Index, took_ms: float) -> ResultView:
    """The answer page for ``result``: the answer, its sentence marked, and the citations."""
    question = result.question
    answer_view = None
    # Sources the question barely touches are not listed (the answer's passage always is).
    passages = [h.passage for h in result.passages if h.dense_score is None or h.dense_score >= SOURCE_FLOOR]
    passages = passages or [hit.passage for hit in result.passages[:1]]
    if result.answer is not None and not result.no_answer:
        a = result.answer
        s = a.sentence
        sentence = cut(s.text, a.start - s.start, a.end - s.start) or Marked("", s.text, "")
        doc = index.document(a.doc_id)
        answer_view = AnswerView(
            text=a.text,
            # The sentence route's score is a match score (similarity and shared names), not a probability.
            confidence=percent(a.confidence)
            if result.method == "reader"
            else f"unknown (match score {a.confidence:.2f})",
            sure=a.band == "sure",
            doc_id=a.doc_id,
            start=a.start,
            end=a.end,
            sentence=sentence,
            title=a.title,
            date=doc.date if doc else None,
            href=doc_href(a.doc_id, doc, (a.start, a.end), (s.start, s.end), question),
        )
        # The passage the answer was read from is the first citation.
        passages = [a.passage, *(p for p in passages if (p.doc_id, p.start, p.end) != _key(a.passage))]
    answer = result.answer if answer_view is not None else None
    sources = distinct_sources(passages, index.repeated_lines(), keep_first=answer is not None)
    citations = [_citation(p, index.document(p.doc_id), question, answer) for p in sources]
    closest = closest_titles(result, index) if answer_view is None else []
    return ResultView(question, answer_view is None, answer_view, citations, took_ms, closest, script_of(question))


def distinct_sources(
    passages: list[Passage], repeated: frozenset[str] = frozenset(), keep_first: bool = False
) -> list[Passage]:
    """``passages`` without those that overlap an earlier one of the same document (neighbouring chunks
    share sentences: they are one source), those whose text an earlier one already shows, and those made
    only of ``repeated`` lines (boilerplate: a footer, "Follow us ...") while a real passage is there.
    With ``keep_first``, the first passage (the answer's) stays whatever it is."""
    kept: list[Passage] = []
    for p in passages:
        text = " ".join(p.text.split())
        if any(
            (k.doc_id == p.doc_id and k.start < p.end and p.start < k.end) or " ".join(k.text.split()) == text
            for k in kept
        ):
            continue
        kept.append(p)
    real = [p for i, p in enumerate(kept) if (keep_first and i == 0) or not is_boilerplate(p.text, repeated)]
    return real or kept


def _key(p: Passage) -> tuple[str, int, int]:
    return (p.doc_id, p.start, p.end)


def _citation(p: Passage, doc: Document | None, question: str, answer: Answer | None) -> Citation:
    """A source of the page: the passage marked lightly, and the answer strongly when it stands in it."""
    title = doc.title if doc else p.doc_id
    mark: tuple[int, int] | None = None
    if answer is not None and answer.doc_id == p.doc_id and p.start <= answer.start and answer.end <= p.end:
        mark = (answer.start, answer.end)
    headings = " › ".join(h for h in p.heading_path if h != title)
    return Citation(
        title=title,
        date=doc.date if doc else None,
        href=doc_href(p.doc_id, doc, mark, (p.start, p.end), question),
        excerpt=excerpt(plain_text(p.text)),
        headings=headings,
    )
