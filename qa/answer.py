"""Extractive answers: retrieve passages, read them all at once with the trained reader, answer or abstain.

Every answer is a span of a document: ``answer.text == document.text[answer.start:answer.end]``,
returned with the sentence (or sentences) it stands in and the passage it was read from.

The reader (:mod:`qa.reader_model`, trained by ``qa train-reader``) reads the question against
every retrieved passage in one batched forward pass; its scores are shared-normalised over the
passages (:mod:`qa.reading`), so the best span of all of them wins and "none of them says" is one of
the outcomes. :meth:`Reader.decide` is the one place where a reading becomes an answer or an
abstention: the calibrated :class:`~qa.confidence.Confidence` of the span, against the expected-value
threshold ``cost / (1 + cost)``.
"""

from __future__ import annotations

import calendar
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

from index.lexical import tokenize
from index.passages import Context, passage_context
from index.store import Index
from index.types import Passage, Sentence
from qa.answer_type import fits
from qa.confidence import Confidence, decide, default_confidence
from qa.fusion import TOP_K
from qa.language import script_of
from qa.reader_model import ReaderModel, default_reader_model
from qa.reading import READ_PASSAGES, READER_SCORES, GroupReading, make_windows, read_windows
from qa.retriever import Retriever
from qa.spans import counted, trim_markup, with_quantity, within_one_cell
from qa.types import Answer, Hit, Result

__all__ = ["READ_PASSAGES", "SCORES", "Reader", "Reading", "answer", "read", "reader_for", "sentence_of"]


# What the confidence model may read: the reader's own scores, how close the retrieved passages came to
# the question (the dense cosine of the passage answered from, and of the best passage), and how many of the
# question's names and numbers the passage answered from never mentions (``missing_terms``).
SCORES = (*READER_SCORES, "passage_dense", "top_dense", "missing_terms")
_MONTH_NAMES = frozenset(m.lower() for m in calendar.month_name[1:]) - {"may"}  # "who may apply?"
_TERM = re.compile(r"\b(?:[A-Z][\w’'-]*|\d[\d,.]*|[a-z]+\d\w*)")


def key_terms(question: str) -> set[str]:
    """The question's names and numbers: capitalised words past its first word, acronyms, numbers and month
    names, in the BM25 analysis (lowercased, stemmed). "Who chaired the March meeting?" → {"march"}."""
    words = question.split()
    body = " ".join(words[1:]) if words else ""
    found = {m.group(0) for m in _TERM.finditer(body)} | {w for w in body.lower().split() if w in _MONTH_NAMES}
    return {t for term in found for t in tokenize(term)}


def missing_terms(question: str, context: str) -> float:
    """How many of the question's names and numbers (:func:`key_terms`) the context never mentions (at most 3):
    a passage about the February meeting does not answer who chaired the March one."""
    terms = key_terms(question)
    return float(min(3, len(terms - set(tokenize(context))))) if terms else 0.0


@dataclass(frozen=True, slots=True)
class Reading:
    """What the reader read for one question: the passages as it read them (``contexts``, one per hit
    read), the group reading (None: nothing to read), the named scores the confidence model reads and the
    calibrated confidence computed from them."""

    question: str
    hits: tuple[Hit, ...]
    group: GroupReading | None
    confidence: float
    scores: dict[str, float] | None = None  # every score of :data:`SCORES` by name (None when nothing was read)
    contexts: tuple[Context, ...] = ()


def reading_scores(group: GroupReading | None, hits: Sequence[Hit], missing: float) -> dict[str, float] | None:
    """Every score of :data:`SCORES` by name for a group reading of ``hits`` (None when nothing was read);
    ``missing`` is :func:`missing_terms` of the passage answered from."""
    if group is None:
        return None
    dense = [h.dense_score or 0.0 for h in hits]
    return group.features | {
        "passage_dense": dense[group.context],
        "top_dense": max(dense),
        "missing_terms": missing,
    }


def sentence_of(doc_text: str, passage: Passage, start: int, end: int) -> Sentence:
    """The sentence of ``passage`` that holds ``[start, end)``, or the run of sentences it spans (one
    ``Sentence`` from the first one's start to the last one's end); the passage itself if none does."""
    inside = [s for s in passage.sentences if s.end > start and s.start < end]
    if not inside:
        inside = [h for h in passage.headings if h.start <= start and end <= h.end][:1]
    if not inside:
        return Sentence(passage.start, passage.end, passage.text, "text")
    if len(inside) == 1:
        return inside[0]
    a, b = inside[0].start, inside[-1].end
    return Sentence(a, b, doc_text[a:b], inside[0].kind)


class Reader:
    """Reads answers out of retrieved passages with a trained reader model and a confidence model."""

    def __init__(
        self,
        index: Index,
        model: ReaderModel | None = None,
        confidence: Confidence | None = None,
        *,
        passages: int = READ_PASSAGES,
    ) -> None:
        if passages < 1:
            raise ValueError(f"passages must be at least 1, got {passages}")
        self.index = index
        self._model = model
        self._confidence = confidence
        self.passages = passages

    @property
    def model(self) -> ReaderModel:
        return self._model or default_reader_model()

    @property
    def confidence(self) -> Confidence:
        return self._confidence or default_confidence()

    def readings(self, questions: Sequence[str], hits: Sequence[Sequence[Hit]]) -> list[Reading]:
        """Read every question against its first ``passages`` hits, all windows of all questions in one
        batched pass (the other hits are still returned, as further reading)."""
        model = self.model
        groups = []
        for question, h in zip(questions, hits, strict=True):
            read = h[: self.passages]
            contexts = [passage_context(self.index.documents[x.passage.doc_id].context_title, x.passage) for x in read]
            groups.append((question, contexts))
        readable = [i for i, (_, contexts) in enumerate(groups) if contexts]
        found: dict[int, GroupReading | None] = {}
        if readable:
            windows = make_windows(model.tokenizer, [groups[i] for i in readable], model.settings)
            starts, ends = model.logits(windows)
            for i, r in zip(readable, read_windows(windows, starts, ends, model.settings, len(readable)), strict=True):
                found[i] = r
        out = []
        for i, ((question, contexts), h) in enumerate(zip(groups, hits, strict=True)):
            group = found.get(i)
            missing = 0.0
            if group is not None:
                doc = self.index.documents[h[group.context].passage.doc_id]
                missing = missing_terms(question, f"{doc.title}\n{contexts[group.context].text}")
            scores = reading_scores(group, h, missing)
            confidence = 0.0 if scores is None else self.confidence.probability(scores)
            out.append(Reading(question, tuple(h), group, confidence, scores, tuple(contexts)))
        return out

    def decide(
        self, reading: Reading, threshold: float | None = None, timings: dict[str, float] | None = None
    ) -> Result:
        """The answer ``reading`` gives, or an abstention when its confidence is not above ``threshold``
        (default: the confidence model's operating point for the question's script, :func:`qa.language.script_of`).
        ``timings`` (milliseconds by stage) go with the result."""
        p = reading.confidence
        taken = dict(timings or {})
        if not decide(None if reading.scores is None else p, self.confidence, threshold, script_of(reading.question)):
            return Result(reading.question, True, None, reading.hits, p, taken)
        answer = self.answer_of(reading)
        band = self.confidence.band(p, fits=fits(reading.question, answer.text))
        return Result(reading.question, False, replace(answer, band=band), reading.hits, p, taken)

    def answer_of(self, reading: Reading, band: str = "possible") -> Answer:
        """The span a reading chose, as an answer with offsets into its document, shown in ``band``."""
        r = reading.group
        assert r is not None
        hit = reading.hits[r.context]
        p = hit.passage
        doc = self.index.documents[p.doc_id]
        start, end = reading.contexts[r.context].document_offset(r.start, r.end, p.start)
        start, end = trim_markup(doc.text, *within_one_cell(doc.text, p, start, end))
        start, end = counted(reading.question, doc.text, sentence_of(doc.text, p, start, end), start, end)
        start, end = with_quantity(doc.text, start, end)
        return Answer(
            text=doc.text[start:end],
            doc_id=doc.doc_id,
            title=doc.title,
            start=start,
            end=end,
            sentence=sentence_of(doc.text, p, start, end),
            confidence=reading.confidence,
            passage=p,
            band=band,
        )


_READERS: list[tuple[str, Reader]] = []


def reader_for(index: Index, precision: str = "auto", passages: int = READ_PASSAGES) -> Reader:
    """The shipped reader of ``index`` at ``precision`` (``auto``, ``fp32``, ``bf16``, ``int8``) reading
    ``passages`` passages, kept across calls; only the two most recent are kept."""
    for p, reader in _READERS:
        if reader.index is index and p == precision and reader.passages == passages:
            return reader
    reader = Reader(index, model=default_reader_model(precision), passages=passages)
    _READERS.insert(0, (precision, reader))
    del _READERS[2:]
    return reader


def read(
    questions: Sequence[str],
    retriever: Retriever,
    *,
    top_k: int = TOP_K,
    reader: Reader | None = None,
    mode: str = "hybrid",
) -> tuple[list[Reading], dict[str, float]]:
    """Retrieve and read a batch of questions; also return milliseconds per question spent encoding
    the questions, searching and reading. ``mode`` picks the retrieval (``hybrid``, ``bm25``, ``dense``)."""
    if isinstance(questions, str):
        raise TypeError("answer takes a batch of questions: pass [question]")
    if not questions:
        return [], {}
    reader = reader or reader_for(retriever.index)
    t0 = time.perf_counter()
    vectors = retriever.embedder.encode(list(questions))
    t1 = time.perf_counter()
    all_hits = retriever.search(list(questions), top_k, vectors=vectors, mode=mode)
    t2 = time.perf_counter()
    readings = reader.readings(questions, all_hits)
    t3 = time.perf_counter()
    n = len(questions)
    return readings, {"encode": (t1 - t0) * 1000 / n, "search": (t2 - t1) * 1000 / n, "read": (t3 - t2) * 1000 / n}


def answer(
    questions: Sequence[str],
    retriever: Retriever,
    *,
    top_k: int = TOP_K,
    threshold: float | None = None,
    reader: Reader | None = None,
    mode: str = "hybrid",
) -> list[Result]:
    """Answer a batch of questions (a single question is a batch of one); see :func:`read`.

    ``timings`` of each result hold milliseconds spent encoding, searching and reading.
    """
    reader = reader or reader_for(retriever.index)
    readings, timings = read(questions, retriever, top_k=top_k, reader=reader, mode=mode)
    return [reader.decide(reading, threshold, timings) for reading in readings]
