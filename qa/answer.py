"""Extractive answers: retrieve, score the sentences of the top passages, narrow to a span, or abstain.

Every answer is a span of a document: ``answer.text == document.text[answer.start:answer.end]``.
Sentence features are precomputed at index time (sentence embeddings, spaCy entities, term
document frequencies), so a request costs one question encode, one search and some arithmetic.

Three small logistic models, stored as JSON in ``qa/models/reader.json`` and trained by
``qa train-reader`` (civic dev sets, SQuAD training articles; features in ``qa.features``):

- the **sentence scorer** ranks every sentence of the retrieved passages; a sentence that opens a
  section reads with the heading line above it (a heading is never read alone);
- the **span ranker** ranks the candidate spans the parser found at index time in the best
  sentence and its heading (the sentence itself is one of them); a question asking what a thing
  is or does ("What is Pehchaan?") is answered by the predicate after "is" or the whole sentence;
- the **confidence model** estimates the chance the answer is right; :class:`Calibration`
  (``qa eval --calibrate``) rescales it and abstains below ``cost / (1 + cost)``, where the
  result is ``no_answer`` and the passages are still returned.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from index.lexical import tokenize
from index.store import Index, SentenceRecord
from qa.errors import InvalidQueryError
from qa.features import (
    NUMBER_TYPES,
    SENTENCE_FEATURES,
    SPAN_FEATURES,
    Question,
    SentenceView,
    Words,
    question_type,
    sentence_features,
    span_features,
)
from qa.retriever import Retriever
from qa.types import Answer, Entity, Hit, Passage, Result, Sentence, Span

__all__ = ["Reader", "ReaderModel", "answer", "question_type"]

MODEL_PATH = Path(__file__).resolve().parent / "models" / "reader.json"
CALIBRATION_PATH = MODEL_PATH.with_name("calibration.json")
FALLBACK_COST = 1.0


@dataclass(frozen=True, slots=True)
class Calibration:
    """How raw confidence logits become probabilities of being right, and when to abstain.

    ``confidence = sigmoid(a * logit + b)`` (Platt scaling fitted by ``qa eval --calibrate`` on civic
    dev questions). Abstaining is an expected-value decision: answering gains 1 when right and
    loses ``cost`` when wrong, so it pays when ``confidence > cost / (1 + cost)`` = ``threshold``.
    """

    a: float = 1.0
    b: float = 0.0
    cost: float = 1.0

    @property
    def threshold(self) -> float:
        return self.cost / (1.0 + self.cost)

    def probability(self, logit: float) -> float:
        return float(_sigmoid(self.a * logit + self.b))


@lru_cache(maxsize=1)
def default_calibration() -> Calibration:
    """The calibration `qa eval --calibrate` wrote (``calibration.json``); identity when there is none."""
    try:
        data = json.loads(CALIBRATION_PATH.read_text(encoding="utf-8"))
        return Calibration(float(data["a"]), float(data["b"]), float(data["cost"]))
    except (OSError, ValueError, KeyError, TypeError):
        return Calibration(cost=FALLBACK_COST)


def default_threshold() -> float:
    """The abstention threshold of the default calibration: ``cost / (1 + cost)``."""
    return default_calibration().threshold


CONFIDENCE_FEATURES = (
    "logit",
    "margin",
    "sentence_prob",
    "span_prob",
    "span_logit",
    "whole_sentence",
    "dense",
    "lexical",
    "context",
    "typed",
    "typed_missing",
    "passage_dense",
    "novel",
)
# Lines that say nothing: Markdown images ("![Uber Eats](/assets/Uber-eats.png)", whose alt text
# echoed questions) and bare ":::" container fences. They stay in passages but are never answers.
_NOT_PROSE = re.compile(r"\s*(?:!\[[^\]\n]*\]\([^()\s]*\)\s*)+|\s*:::\s*")
_ADDRESSES = frozenset({"URL", "EMAIL"})  # answers only to a question asking for an address, or where
WITHIN_SPREAD = 4.0  # how far (in training standard deviations) the confidence model reads its inputs


@dataclass(frozen=True, slots=True)
class Logistic:
    """A standardised logistic model: p = sigmoid(((x - mean) / scale) · weights + bias)."""

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float

    def logit(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mean) / self.scale) @ self.weights + self.bias

    def within(self, x: np.ndarray, spread: float = WITHIN_SPREAD) -> np.ndarray:
        """``x`` clipped to ``spread`` standard deviations of the training data: a value far outside it
        (a span logit of 15 where training saw at most 8) must not be extrapolated into certainty."""
        return np.clip(x, self.mean - spread * self.scale, self.mean + spread * self.scale)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Logistic:
        return cls(
            tuple(data["features"]),
            np.asarray(data["mean"], dtype=np.float64),
            np.asarray(data["scale"], dtype=np.float64),
            np.asarray(data["weights"], dtype=np.float64),
            float(data["bias"]),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "mean": [round(float(v), 6) for v in self.mean],
            "scale": [round(float(v), 6) for v in self.scale],
            "weights": [round(float(v), 6) for v in self.weights],
            "bias": round(float(self.bias), 6),
        }


@dataclass(frozen=True, slots=True)
class ReaderModel:
    """The reader's three logistic models: sentence scorer, span ranker, confidence."""

    sentence: Logistic
    span: Logistic
    confidence: Logistic
    provenance: dict[str, Any]

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> ReaderModel:
        data = json.loads(path.read_text(encoding="utf-8"))
        try:
            models = [Logistic.from_json(data[k]) for k in ("sentence", "span", "confidence")]
        except KeyError as err:
            raise ValueError(f"{path}: no {err} model; retrain with `qa train-reader`") from err
        expected = (SENTENCE_FEATURES, SPAN_FEATURES, CONFIDENCE_FEATURES)
        for m, names in zip(models, expected, strict=True):
            if m.features != names or not len(m.weights) == len(m.features) == len(m.mean):
                raise ValueError(f"{path}: features differ from this code's; retrain with `qa train-reader`")
        return cls(*models, data.get("provenance", {}))

    def to_json(self) -> dict[str, Any]:
        return {
            "sentence": self.sentence.to_json(),
            "span": self.span.to_json(),
            "confidence": self.confidence.to_json(),
            "provenance": self.provenance,
        }


@lru_cache(maxsize=1)
def default_model() -> ReaderModel:
    return ReaderModel.load()


@dataclass(frozen=True, slots=True)
class Candidate:
    """A sentence that may answer, with its feature vector."""

    record: SentenceRecord
    hit: Hit
    features: np.ndarray
    heading: SentenceRecord | None = None  # the section heading right above, when this sentence opens it

    def sentence_of(self, span: Span) -> Sentence:
        """The line ``span`` stands in: the sentence, or the heading above it."""
        s = self.record.sentence
        if self.heading is not None and not s.start <= span.start < span.end <= s.end:
            return self.heading.sentence
        return s


@dataclass(frozen=True, slots=True)
class Reading:
    """Everything the reader decided for one question (what training and evaluation look at)."""

    question: Question
    candidates: list[Candidate]
    logits: np.ndarray  # sentence logits, one per candidate
    best: int  # index of the chosen sentence in candidates
    spans: tuple[Span, ...]  # candidate spans of the chosen sentence
    span_logits: np.ndarray
    span: int  # index of the chosen span
    confidence_features: np.ndarray
    raw_confidence: float  # the confidence model's logit, before calibration
    confidence: float  # the calibrated probability that the answer is right


class Reader:
    """Reads answers out of an index's sentences with the sentence, span and confidence models."""

    def __init__(
        self,
        index: Index,
        model: ReaderModel | None = None,
        calibration: Calibration | None = None,
        *,
        aliases: bool = True,
        headings: bool = True,
    ) -> None:
        if not index.sentences:
            raise InvalidQueryError(
                f"{index.path}: the index has no sentence features; rebuild it with `qa index --rebuild`"
            )
        self.index = index
        self._model = model
        self._calibration = calibration
        self._use_aliases = aliases
        self._use_headings = headings
        self._n = max(1, len(index.passages))
        self._words: dict[int, Words] = {}
        self._tokens: dict[tuple[str, int, int], tuple[list[str], frozenset[str]]] = {}

    @property
    def model(self) -> ReaderModel:
        return self._model or default_model()

    @property
    def calibration(self) -> Calibration:
        return self._calibration or default_calibration()

    def _idf(self, token: str) -> float:
        df = self.index.term_df.get(token, 0)
        return math.log(1 + (self._n - df + 0.5) / (df + 0.5))

    @cached_property
    def _abbreviations(self) -> list[tuple[str, list[frozenset[str]]]]:
        """The corpus's abbreviations as stems: [(abbreviation stem, [long-form stem sets])]."""
        out: list[tuple[str, list[frozenset[str]]]] = []
        if not self._use_aliases:
            return out
        for abbr, forms in self.index.abbreviations.items():
            stems = tokenize(abbr)
            longs = [frozenset(tokenize(f)) for f in forms]
            if len(stems) == 1 and all(longs):
                out.append((stems[0], longs))
        return out

    def analyse(self, question: str) -> Question:
        return Question.analyse(question, self._idf, self._abbreviations)

    def _sentence_tokens(self, doc_id: str, s: Sentence) -> tuple[list[str], frozenset[str]]:
        key = (doc_id, s.start, s.end)
        cached = self._tokens.get(key)
        if cached is None:
            toks = tokenize(s.text)
            cached = self._tokens[key] = (toks, frozenset(toks))
        return cached

    def words(self, row: int) -> Words:
        w = self._words.get(row)
        if w is None:
            s = self.index.sentences[row].sentence
            w = self._words[row] = Words.of(s.text, s.start)
        return w

    def candidates(self, q: Question, vector: np.ndarray, hits: Sequence[Hit]) -> list[Candidate]:
        """Every sentence of ``hits`` (once each; not headings, images or fences) with its features."""
        top_score = max((h.score for h in hits), default=1.0) or 1.0
        out: list[Candidate] = []
        seen: set[tuple[str, int, int]] = set()
        for hit in hits:
            p = hit.passage
            doc = self.index.documents[p.doc_id]
            heading = frozenset(tokenize(" ".join((doc.title, *p.heading_path, p.context))))
            sents = [s for s in p.sentences if s.kind != "heading" and not _NOT_PROSE.fullmatch(s.text)]
            toks = [self._sentence_tokens(p.doc_id, s) for s in sents]
            lead = self._leading_heading(p, sents)
            for i, s in enumerate(sents):
                opening = lead if i == 0 else None
                key = (p.doc_id, s.start, s.end)
                row = self.index.sentence_rows.get(key)
                if row is None or key in seen:
                    continue
                seen.add(key)
                record = self.index.sentences[row]
                view = SentenceView(
                    text=s.text,
                    tokens=toks[i][1],
                    token_list=toks[i][0],
                    previous=toks[i - 1][1] if i > 0 else frozenset(),
                    next=toks[i + 1][1] if i + 1 < len(sents) else frozenset(),
                    heading=heading,
                    dense=float(self.index.sentence_embeddings[row] @ vector),
                    passage_score=hit.score / top_score,
                    passage_rank=hit.rank,
                    passage_dense=hit.dense_score or 0.0,
                    typed_found=bool(q.labels)
                    and any(_typed_span(r, q) is not None for r in (record, opening) if r is not None),
                    item=s.kind == "item",
                    position=i,
                )
                out.append(Candidate(record, hit, sentence_features(q, view), opening))
        return out

    def _leading_heading(self, p: Passage, sents: Sequence[Sentence]) -> SentenceRecord | None:
        """The heading line right above the passage's first sentence (only blank space between them)."""
        row = self.index.section_heading(p) if self._use_headings else None
        if row is None or not sents:
            return None
        h = self.index.sentences[row]
        text = self.index.documents[p.doc_id].text
        return h if h.sentence.end <= sents[0].start and not text[h.sentence.end : sents[0].start].strip() else None

    def span_candidates(self, q: Question, c: Candidate) -> tuple[tuple[Span, ...], np.ndarray]:
        """The candidate spans of a sentence (the sentence itself when it has none) and their features.

        A sentence that opens a section reads with the heading above it: documents often name a thing
        in a heading and describe it below ("Digital Right of Way Policy (March 2024)" / "This policy
        streamlines ..."), so the heading's spans are candidates too (features taken within the heading).
        A web or e-mail address is a candidate only when the question asks for one (or asks where):
        Markdown's link targets otherwise answered "which gateway?" with "https://krakend.io".
        """
        spans: list[Span] = []
        blocks = []
        addresses = bool(q.labels & _ADDRESSES) or q.qclass == "where"
        for r in (c.record, c.heading) if c.heading is not None else (c.record,):
            s = r.sentence
            own = tuple(sp for sp in r.spans if addresses or sp.label not in _ADDRESSES) or (
                Span(s.start, s.end, dep="ROOT"),
            )
            row = self.index.sentence_rows[(r.doc_id, s.start, s.end)]
            doc = self.index.documents[r.doc_id]
            spans.extend(own)
            blocks.append(span_features(q, self.words(row), own, doc.text, s.start, s.end))
        return tuple(spans), np.vstack(blocks)

    def span_scores(self, q: Question, c: Candidate) -> tuple[tuple[Span, ...], np.ndarray]:
        """The candidate spans of a sentence (and its leading heading) and their logits under the span model."""
        spans, x = self.span_candidates(q, c)
        return spans, self.model.span.logit(x)

    def reading(self, question: str, vector: np.ndarray, hits: Sequence[Hit]) -> Reading | None:
        """Score every sentence and the spans of the best ones; None when there is no sentence."""
        q = self.analyse(question)
        cands = self.candidates(q, vector, hits)
        if not cands:
            return None
        model = self.model
        logits = model.sentence.logit(np.stack([c.features for c in cands]))
        order = np.argsort(-logits, kind="stable")
        best = int(order[0])
        spans, span_logits = self.span_scores(q, cands[best])
        ranked = int(np.argmax(span_logits))
        # The confidence is about the sentence (is the answer in it?), read with the ranker's own span
        # as in training; a definition question is then shown the whole sentence.
        x = confidence_features(cands, logits, order, spans, span_logits, ranked)
        chosen = ranked
        shown = answer_span(q, cands[best], spans[ranked])
        if shown != spans[ranked]:  # the whole sentence, offsets as stored (no "[" of a link trimmed)
            spans, span_logits = (*spans, shown), np.append(span_logits, span_logits[ranked])
            chosen = len(spans) - 1
        raw = float(model.confidence.logit(model.confidence.within(x)))
        return Reading(q, cands, logits, best, spans, span_logits, chosen, x, raw, self.calibration.probability(raw))

    def read(self, question: str, vector: np.ndarray, hits: Sequence[Hit], threshold: float | None = None) -> Result:
        """Pick the answer to ``question`` from the sentences of ``hits``, or abstain."""
        threshold = default_threshold() if threshold is None else threshold
        r = self.reading(question, vector, hits)
        if r is None:
            return Result(question, True, None, tuple(hits), 0.0)
        if r.confidence < threshold:
            return Result(question, True, None, tuple(hits), r.confidence)
        return Result(question, False, self.answer_of(r), tuple(hits), r.confidence)

    def answer_of(self, r: Reading) -> Answer:
        best = r.candidates[r.best]
        doc = self.index.documents[best.record.doc_id]
        span = r.spans[r.span]
        return Answer(
            text=doc.text[span.start : span.end],
            doc_id=doc.doc_id,
            title=doc.title,
            start=span.start,
            end=span.end,
            sentence=best.sentence_of(span),
            confidence=r.confidence,
            passage=best.hit.passage,
        )


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())
    return e / e.sum()


def confidence_features(
    cands: Sequence[Candidate],
    logits: np.ndarray,
    order: np.ndarray,
    spans: Sequence[Span],
    span_logits: np.ndarray,
    chosen: int,
) -> np.ndarray:
    """What the confidence model sees: the best sentence's logit, margin and evidence, its span's."""
    best = cands[int(order[0])]
    f = dict(zip(SENTENCE_FEATURES, best.features, strict=True))
    top = float(logits[order[0]])
    sp = spans[chosen]
    s = best.sentence_of(sp)
    values = {
        **f,
        "logit": top,
        "margin": top - float(logits[order[1]]) if len(order) > 1 else 5.0,
        "sentence_prob": float(_softmax(logits)[order[0]]),
        "span_prob": float(_softmax(span_logits)[chosen]),
        "span_logit": float(span_logits[chosen]),
        "whole_sentence": 1.0 if (sp.start, sp.end) == (s.start, s.end) or sp.dep == "ROOT" else 0.0,
        "typed": 1.0 if f["typed_found"] or f["typed_missing"] else 0.0,
    }
    return np.array([values[name] for name in CONFIDENCE_FEATURES])


def answer_span(q: Question, c: Candidate, ranked: Span) -> Span:
    """The span the reader answers with: the span ranker's, except for a question asking what a named
    thing is ("What is Pehchaan?"). That one is answered by what the sentence says it is (the ranker's
    span when it is the predicate after "is": "a body of treaties and legislation") or else by the
    whole sentence, not by a piece of it ("This system", "two")."""
    if not q.definition or ranked.dep == "attr":
        return ranked
    s = c.record.sentence
    return Span(s.start, s.end, dep="ROOT")


def _sigmoid(z: np.ndarray | float) -> np.ndarray | float:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


def _typed_span(record: SentenceRecord, q: Question) -> Entity | None:
    """The first entity of the asked-for type that the question does not already name."""
    s = record.sentence
    for e in record.entities:
        if e.label not in q.labels:
            continue
        text = s.text[e.start - s.start : e.end - s.start]
        if text.lower() in q.lower:
            continue
        if e.label in NUMBER_TYPES and not any(c.isdigit() for c in text) and len(text.split()) > 3:
            continue
        return e
    return None


_READERS: list[Reader] = []


def reader_for(index: Index) -> Reader:
    """The default-model reader of ``index``, kept across calls (its word caches and alias table
    are built once per index, not per request); only the two most recent indexes are kept."""
    for reader in _READERS:
        if reader.index is index:
            return reader
    reader = Reader(index)
    _READERS.insert(0, reader)
    del _READERS[2:]
    return reader


def answer(
    questions: Sequence[str],
    retriever: Retriever,
    *,
    top_k: int = 5,
    threshold: float | None = None,
    reader: Reader | None = None,
    mode: str = "hybrid",
) -> list[Result]:
    """Answer a batch of questions (a single question is a batch of one).

    ``mode`` picks the retrieval (``hybrid``, ``bm25`` or ``dense``), for baselines.

    ``timings`` of each result hold milliseconds spent encoding, searching and extracting.
    """
    if isinstance(questions, str):
        raise TypeError("answer takes a batch of questions: pass [question]")
    for q in questions:
        if not q or not q.strip():
            raise InvalidQueryError("the question is empty; ask something in words")
    if not questions:
        return []
    reader = reader or reader_for(retriever.index)
    t0 = time.perf_counter()
    vectors = retriever.embedder.encode(list(questions))
    t1 = time.perf_counter()
    all_hits = retriever.search(list(questions), top_k, vectors=vectors, mode=mode)
    t2 = time.perf_counter()
    encode_ms, search_ms = (t1 - t0) * 1000 / len(questions), (t2 - t1) * 1000 / len(questions)
    results = []
    for question, vector, hits in zip(questions, vectors, all_hits, strict=True):
        started = time.perf_counter()
        r = reader.read(question, vector, hits, threshold)
        timings = {"encode": encode_ms, "search": search_ms, "extract": (time.perf_counter() - started) * 1000}
        results.append(Result(r.question, r.no_answer, r.answer, r.passages, r.confidence, timings))
    return results
