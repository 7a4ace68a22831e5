"""Extractive answers: retrieve, score the sentences of the top passages, narrow to a span, or abstain.

Every answer is a span of a document: ``answer.text == document.text[answer.start:answer.end]``.
Sentence features are precomputed at index time (sentence embeddings, spaCy entities, term
document frequencies), so a request costs one question encode, one search and some arithmetic.

Two small logistic models, stored as JSON in ``qa/models/reader.json`` and trained by
``qa train-reader`` on the civic *dev* questions only:

- the **sentence model** scores every sentence of the retrieved passages from dense similarity,
  lexical evidence (IDF-weighted overlap of stemmed question terms with the sentence, with its
  headings, with its neighbours; shared bigrams), the answer type (who → person/organisation, when
  → date, how many/much → number, where → place), the passage's retrieval score and rank;
- the **confidence model** turns the best sentence's evidence into the probability that it holds
  the answer. Below ``threshold`` the result is ``no_answer`` and the passages are still returned.

Headings are never answers. Where the question asks for a type the sentence holds, the answer is
narrowed to that entity; otherwise the sentence is the answer.
"""

from __future__ import annotations

import itertools
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
from qa.retriever import Retriever
from qa.types import Answer, Entity, Hit, Result, Sentence

MODEL_PATH = Path(__file__).resolve().parent / "models" / "reader.json"
CALIBRATION_PATH = MODEL_PATH.with_name("calibration.json")
FALLBACK_THRESHOLD = 0.3


@lru_cache(maxsize=1)
def default_threshold() -> float:
    """The abstention threshold `qa eval --calibrate` chose on the dev sets (``calibration.json``)."""
    try:
        return float(json.loads(CALIBRATION_PATH.read_text(encoding="utf-8"))["threshold"])
    except (OSError, ValueError, KeyError):
        return FALLBACK_THRESHOLD


# Question type → entity labels that can answer it; the first pattern that matches wins.
_MONEY_WORDS = (
    r"(money|cost|costs|fund|funds|funding|funded|budget|price|pay|paid|spend|spent|grant|rupees?|dollars?|"
    r"fee|fees|stipend|salary|salaries|charge|charges|charged|wage|wages)"
)
_TYPES: tuple[tuple[re.Pattern[str], frozenset[str]], ...] = (
    (re.compile(rf"\b(how much|what)\b.*\b{_MONEY_WORDS}\b|\b{_MONEY_WORDS}\b.*\bhow much\b"), frozenset({"MONEY"})),
    (
        re.compile(r"\b(what|which) (\w+ )?(percent(age)?|share|proportion|rate)\b|\bby how much\b"),
        frozenset({"PERCENT", "CARDINAL"}),
    ),
    (
        re.compile(
            r"\b(web address|url|link to|(web ?site|home ?page) address)\b|\bwhat is the (web ?site|home ?page)\b"
        ),
        frozenset({"URL"}),
    ),
    (re.compile(r"\be-?mail\b"), frozenset({"EMAIL", "URL"})),
    (re.compile(r"\bcolou?rs?\b"), frozenset({"COLOR"})),
    (re.compile(r"\bwhich version\b|\bwhat version\b"), frozenset({"VERSION", "CARDINAL"})),
    (re.compile(r"\bhow (long|old|often)\b"), frozenset({"DATE", "TIME", "QUANTITY"})),
    (
        re.compile(r"\bhow (many|much)\b|\bwhat (number|amount)\b"),
        frozenset({"CARDINAL", "QUANTITY", "MONEY", "PERCENT"}),
    ),
    (re.compile(r"\bwhen\b|\b(what|which) (year|date|month|day|time)\b|\bsince when\b"), frozenset({"DATE", "TIME"})),
    (
        re.compile(r"\bwhere\b|\b(what|which) (city|country|province|place|location|district|town|region)\b"),
        frozenset({"GPE", "LOC", "FAC"}),
    ),
    (
        re.compile(
            r"\bwho(m|se)?\b|\b(what|which) (person|organi[sz]ation|company|body|agency|group|university|college|"
            r"school|firm|ministry|department|bank|ngo|non-profit|charity|partner)s?\b"
        ),
        frozenset({"PERSON", "ORG", "NORP"}),
    ),
)
_NUMBER_TYPES = frozenset({"CARDINAL", "QUANTITY", "MONEY", "PERCENT"})
# Words that shape a question but are not evidence of an answer (the BM25 stopword list keeps some).
_QUESTION_STEMS = frozenset(
    tokenize(
        "what which who whom whose when where why how did does do done is are was were has have had "
        "can could would should will shall may might tell name give list"
    )
)

SENTENCE_FEATURES = (
    "dense",
    "lexical",
    "context",
    "neighbours",
    "heading",
    "bigrams",
    "typed_found",
    "typed_missing",
    "passage_score",
    "passage_rank",
    "passage_dense",
    "echo",
    "length",
    "item",
)
CONFIDENCE_FEATURES = ("logit", "margin", "dense", "lexical", "context", "typed_missing", "passage_dense")


def question_type(question: str) -> frozenset[str]:
    """Entity labels that would answer ``question``; empty when the question asks for no type."""
    q = question.lower()
    for pattern, labels in _TYPES:
        if pattern.search(q):
            return labels
    return frozenset()


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
    sentence: Logistic
    confidence: Logistic
    provenance: dict[str, Any]

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> ReaderModel:
        data = json.loads(path.read_text(encoding="utf-8"))
        sentence, confidence = Logistic.from_json(data["sentence"]), Logistic.from_json(data["confidence"])
        shapes_ok = all(len(m.weights) == len(m.features) == len(m.mean) for m in (sentence, confidence))
        if sentence.features != SENTENCE_FEATURES or confidence.features != CONFIDENCE_FEATURES or not shapes_ok:
            raise ValueError(f"{path}: features differ from this code's; retrain with `qa train-reader`")
        return cls(sentence, confidence, data.get("provenance", {}))


@lru_cache(maxsize=1)
def default_model() -> ReaderModel:
    return ReaderModel.load()


@dataclass(frozen=True, slots=True)
class Candidate:
    """A sentence that may answer, with its feature vector and the span its type points to."""

    record: SentenceRecord
    hit: Hit
    features: np.ndarray
    span: Entity | None


class Reader:
    """Reads answers out of an index's sentences with the sentence and confidence models."""

    def __init__(self, index: Index, model: ReaderModel | None = None) -> None:
        if not index.sentences:
            raise InvalidQueryError(
                f"{index.path}: the index has no sentence features; rebuild it with `qa index --rebuild`"
            )
        self.index = index
        self._model = model
        self._n = max(1, len(index.passages))

    @property
    def model(self) -> ReaderModel:
        return self._model or default_model()

    def _idf(self, token: str) -> float:
        df = self.index.term_df.get(token, 0)
        return math.log(1 + (self._n - df + 0.5) / (df + 0.5))

    @cached_property
    def _abbreviations(self) -> list[tuple[str, list[frozenset[str]]]]:
        """The corpus's abbreviations as stems: [(abbreviation stem, [long-form stem sets])]."""
        out = []
        for abbr, forms in self.index.abbreviations.items():
            stems = tokenize(abbr)
            longs = [frozenset(tokenize(f)) for f in forms]
            if len(stems) == 1 and all(longs):
                out.append((stems[0], longs))
        return out

    def _alternatives(self, q_set: set[str]) -> dict[str, list[frozenset[str]]]:
        """For each question term, other term sets that mean the same (abbreviation ↔ long form)."""
        alts: dict[str, list[frozenset[str]]] = {}
        for abbr, longs in self._abbreviations:
            if abbr in q_set:
                alts.setdefault(abbr, []).extend(longs)
            for long in longs:
                if long <= q_set:
                    for t in long:
                        alts.setdefault(t, []).append(frozenset({abbr}))
        return alts

    def candidates(self, question: str, vector: np.ndarray, hits: Sequence[Hit]) -> list[Candidate]:
        """Every non-heading sentence of ``hits`` (once each) with its features."""
        q_tokens = [t for t in tokenize(question) if t not in _QUESTION_STEMS]
        q_set = set(q_tokens)
        q_mass = sum(self._idf(t) for t in q_set) or 1.0
        alternatives = self._alternatives(q_set)
        q_bigrams = set(itertools.pairwise(q_tokens))
        labels = question_type(question)
        q_lower = question.lower()
        top_score = max((h.score for h in hits), default=1.0) or 1.0

        def cover(tokens: set[str]) -> float:
            hit = (t for t in q_set if t in tokens or any(alt <= tokens for alt in alternatives.get(t, ())))
            return sum(self._idf(t) for t in hit) / q_mass

        out: list[Candidate] = []
        seen: set[tuple[str, int, int]] = set()
        for hit in hits:
            p = hit.passage
            doc = self.index.documents[p.doc_id]
            heading_tokens = set(tokenize(" ".join((doc.title, *p.heading_path, p.context))))
            sents = [s for s in p.sentences if s.kind != "heading"]
            token_lists = [tokenize(s.text) for s in sents]
            for i, s in enumerate(sents):
                key = (p.doc_id, s.start, s.end)
                row = self.index.sentence_rows.get(key)
                if row is None or key in seen:
                    continue
                seen.add(key)
                record = self.index.sentences[row]
                toks = token_lists[i]
                tokens = set(toks)
                neighbours: set[str] = set()
                for j in (i - 1, i + 1):
                    if 0 <= j < len(sents):
                        neighbours |= set(token_lists[j])
                bigrams = set(itertools.pairwise(toks))
                span = _typed_span(record, labels, q_lower, s) if labels else None
                x = np.array(
                    [
                        float(self.index.sentence_embeddings[row] @ vector),
                        cover(tokens),
                        cover(tokens | heading_tokens | neighbours),
                        cover(neighbours - tokens),
                        cover(heading_tokens - tokens),
                        len(q_bigrams & bigrams) / len(q_bigrams) if q_bigrams else 0.0,
                        1.0 if span is not None else 0.0,
                        1.0 if labels and span is None else 0.0,
                        hit.score / top_score,
                        1.0 / hit.rank,
                        hit.dense_score or 0.0,
                        len(tokens & q_set) / len(tokens) if tokens else 1.0,
                        math.log1p(len(toks)),
                        1.0 if s.kind == "item" else 0.0,
                    ]
                )
                out.append(Candidate(record, hit, x, span))
        return out

    def read(self, question: str, vector: np.ndarray, hits: Sequence[Hit], threshold: float | None = None) -> Result:
        """Pick the answer to ``question`` from the sentences of ``hits``, or abstain."""
        threshold = default_threshold() if threshold is None else threshold
        cands = self.candidates(question, vector, hits)
        if not cands:
            return Result(question, True, None, tuple(hits), 0.0)
        logits = self.model.sentence.logit(np.stack([c.features for c in cands]))
        order = np.argsort(-logits, kind="stable")
        best = cands[int(order[0])]
        confidence = float(_sigmoid(self.model.confidence.logit(confidence_features(best, logits, order))))
        if confidence < threshold:
            return Result(question, True, None, tuple(hits), confidence)
        return Result(question, False, self._answer(best, confidence), tuple(hits), confidence)

    def _answer(self, best: Candidate, confidence: float) -> Answer:
        doc = self.index.documents[best.record.doc_id]
        s = best.record.sentence
        start, end = (best.span.start, best.span.end) if best.span is not None else (s.start, s.end)
        return Answer(
            text=doc.text[start:end],
            doc_id=doc.doc_id,
            title=doc.title,
            start=start,
            end=end,
            sentence=s,
            confidence=confidence,
            passage=best.hit.passage,
        )


def confidence_features(best: Candidate, logits: np.ndarray, order: np.ndarray) -> np.ndarray:
    """What the confidence model sees: the best logit, its margin over the runner-up, its evidence."""
    f = dict(zip(SENTENCE_FEATURES, best.features, strict=True))
    top = float(logits[order[0]])
    margin = top - float(logits[order[1]]) if len(order) > 1 else 5.0
    values = {**f, "logit": top, "margin": margin}
    return np.array([values[name] for name in CONFIDENCE_FEATURES])


def _sigmoid(z: np.ndarray | float) -> np.ndarray | float:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


def _typed_span(record: SentenceRecord, labels: frozenset[str], q_lower: str, s: Sentence) -> Entity | None:
    """The first entity of the asked-for type that the question does not already name."""
    for e in record.entities:
        if e.label not in labels:
            continue
        text = s.text[e.start - s.start : e.end - s.start]
        if text.lower() in q_lower:
            continue
        if e.label in _NUMBER_TYPES and not any(c.isdigit() for c in text) and len(text.split()) > 3:
            continue
        return e
    return None


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
    reader = reader or Reader(retriever.index)
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
