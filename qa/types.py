"""The pipeline's result types: a retrieved passage (``Hit``), an answer and a question's result.

Frozen dataclasses with character offsets into the documents of :mod:`index.types`; the web layer mirrors
them with pydantic models at its edge only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from index.types import Passage, Sentence


@dataclass(frozen=True, slots=True)
class Hit:
    """One retrieved passage: the fused score and the per-retriever evidence behind it.

    Ranks are 1-based; ``None`` means the passage was not among that retriever's candidates.
    """

    passage: Passage
    title: str
    score: float
    rank: int
    bm25_rank: int | None = None
    bm25_score: float | None = None
    dense_rank: int | None = None
    dense_score: float | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    """An extractive answer: ``text == document.text[start:end]``, inside ``sentence``.

    ``confidence`` is in [0, 1]; ``band`` is ``sure`` or ``possible`` (check the source), from the
    calibration (:meth:`qa.confidence.Confidence.band`); ``passage`` is the retrieved passage the
    answer was read from (the citation).
    """

    text: str
    doc_id: str
    title: str
    start: int
    end: int
    sentence: Sentence
    confidence: float
    passage: Passage
    band: str = "possible"


@dataclass(frozen=True, slots=True)
class Result:
    """What one question gets: an answer or an honest ``no_answer``, and the passages behind it.

    ``timings`` holds milliseconds per stage (``encode``, ``search``, ``read``).
    """

    question: str
    no_answer: bool
    answer: Answer | None
    passages: tuple[Hit, ...]
    confidence: float
    timings: dict[str, float] = field(default_factory=dict, hash=False, compare=False)
    method: str = "reader"  # how it was found: "reader" (the span reader) or "sentence" (Urdu script, qa.multilingual)
