"""Training data of the trained reader: question groups with the answer's passage next to ones without it.

A :class:`Group` is what the reader meets in the product: one question and several passages,
the gold answer (character ranges) in some of them or in none. Three sources, all read by path:

- **SQuAD 1.1 train**: each question with its own paragraph and one other paragraph of its
  article (drawn from the three that share the most question words with it and hold no gold
  answer text: the tempting kind retrieval brings). A share ``null_share`` of the questions is
  asked of two such other paragraphs only: the group holds no answer, which is exactly what the
  product meets when retrieval misses.
- **SQuAD 2.0 dev, training articles only** (:data:`eval.squad.TRAIN_TITLES`): answerable
  questions as above; unanswerable ones (written to look answerable) with their own paragraph and
  another, no answer in either.
- **Civic dev sets, reader half** (:func:`civic_part`): the passages the product's retriever
  returns (top 5), gold answers located in them verbatim (any case); none found = no answer.
  The other half of each civic dev set is never trained on: it fits the confidence.

The civic and SQuAD test parts are never read here.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eval import squad
from eval.sets import EvalQuestion
from index.errors import QAError
from index.lexical import tokenize
from index.passages import Context, passage_context
from index.types import Document
from qa.types import Hit

SOURCES = ("squad1", "squad2", "civic")


@dataclass(frozen=True, slots=True)
class Group:
    """One training question: contexts and gold answers as (context, start, end) in context text."""

    qid: str
    question: str
    contexts: tuple[Context, ...]
    golds: tuple[tuple[int, int, int], ...]
    source: str

    @property
    def answerable(self) -> bool:
        return bool(self.golds)


def civic_part(question_id: str) -> str:
    """``reader`` or ``calibration``: a fixed half of each civic dev set by a hash of the question id."""
    return "reader" if int(hashlib.sha256(question_id.encode()).hexdigest(), 16) % 2 == 0 else "calibration"


def _title(article: str) -> str:
    return article.replace("_", " ")


def _locate(text: str, body_start: int, answers: Iterable[str]) -> list[tuple[int, int]]:
    """Every occurrence (any case) of every answer in ``text[body_start:]``."""
    out: set[tuple[int, int]] = set()
    low = text.lower()
    for a in answers:
        a = a.strip().lower()
        if not a:
            continue
        for m in re.finditer(re.escape(a), low[body_start:]):
            out.add((body_start + m.start(), body_start + m.end()))
    return sorted(out)


@dataclass(frozen=True, slots=True)
class _Paragraph:
    text: str
    terms: frozenset[str]


class _Article:
    """An article's paragraphs and the IDF of their terms, to find the paragraphs a question tempts."""

    def __init__(self, title: str, paragraphs: Sequence[str]) -> None:
        self.title = title
        self.paragraphs = [_Paragraph(p, frozenset(tokenize(p))) for p in paragraphs]
        df = Counter(t for p in self.paragraphs for t in p.terms)
        n = len(self.paragraphs)
        self.idf = {t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}

    def tempting(self, question: str, own: int, answers: Sequence[str], rng: random.Random, k: int) -> list[int]:
        """``k`` other paragraphs, each drawn from the three most similar to the question not yet taken,
        that hold no gold answer text."""
        q = set(tokenize(question))
        lows = [a.lower() for a in answers if a.strip()]
        scored = [
            (sum(self.idf.get(t, 0.0) for t in sorted(q & p.terms)), i)
            for i, p in enumerate(self.paragraphs)
            if i != own and not any(a in p.text.lower() for a in lows)
        ]
        scored.sort(key=lambda x: (-x[0], x[1]))
        order = [i for _, i in scored]
        out: list[int] = []
        while order and len(out) < k:
            pick = rng.randrange(min(3, len(order)))
            out.append(order.pop(pick))
        return out


def squad_groups(
    path: Path,
    *,
    rng: random.Random,
    articles: frozenset[str] | None = None,
    null_share: float = 0.0,
    negatives: int = 1,
    limit: int | None = None,
    source: str = "squad1",
) -> list[Group]:
    """Groups from a SQuAD file (1.1 or 2.0 format); ``articles`` keeps only those titles."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))["data"]
    except (OSError, ValueError, KeyError) as err:
        raise QAError(f"{path}: not a SQuAD JSON file ({err})") from err
    out: list[Group] = []
    for article in data:
        if articles is not None and article["title"] not in articles:
            continue
        paragraphs = [p["context"] for p in article["paragraphs"]]
        art = _Article(article["title"], paragraphs)
        title = _title(article["title"])
        for pi, para in enumerate(article["paragraphs"]):
            for qa in para["qas"]:
                answers = [a for a in qa.get("answers", []) if a["text"].strip()]
                impossible = bool(qa.get("is_impossible")) or not answers
                texts = [a["text"] for a in answers] + [a["text"] for a in qa.get("plausible_answers", [])]
                asked_elsewhere = not impossible and rng.random() < null_share
                others = art.tempting(qa["question"], pi, texts, rng, 2 if asked_elsewhere else negatives)
                contexts = [Context.of(title, paragraphs[i]) for i in others]
                golds: list[tuple[int, int, int]] = []
                if not asked_elsewhere:
                    own = Context.of(title, paragraphs[pi])
                    at = rng.randrange(len(contexts) + 1)
                    contexts.insert(at, own)
                    if not impossible:
                        spans = {
                            (own.body_start + a["answer_start"], own.body_start + a["answer_start"] + len(a["text"]))
                            for a in answers
                            if para["context"][a["answer_start"] : a["answer_start"] + len(a["text"])] == a["text"]
                        }
                        golds = [(at, s, e) for s, e in sorted(spans)]
                        if not golds:
                            continue  # no answer_start that points at its text: skip rather than teach "none"
                if contexts:
                    out.append(Group(qa["id"], qa["question"], tuple(contexts), tuple(golds), source))
    if limit is not None:
        rng.shuffle(out)
        out = out[:limit]
    return out


def squad2_train_groups(path: Path, *, rng: random.Random, negatives: int = 1) -> list[Group]:
    """The SQuAD 2.0 dev training articles (never the dev or test articles of :mod:`eval.squad`)."""
    return squad_groups(path, rng=rng, articles=squad.TRAIN_TITLES, negatives=negatives, source="squad2")


def civic_groups(
    questions: Sequence[EvalQuestion],
    hits: Sequence[Sequence[Hit]],
    contexts_of: Callable[[Sequence[Hit]], Iterable[Context]],
) -> list[Group]:
    """Civic groups from retrieved passages; ``contexts_of(hits)`` gives the reader's contexts of them."""
    out = []
    for q, h in zip(questions, hits, strict=True):
        contexts = tuple(contexts_of(h))
        golds = [(i, s, e) for i, c in enumerate(contexts) for s, e in (_locate(c.text, c.body_start, q.answers))]
        out.append(Group(q.id, q.question, contexts, tuple(golds), "civic"))
    return out


def fingerprint(groups: Sequence[Group]) -> str:
    """A hash of the training plan (questions, contexts, golds, order), to refuse resuming another plan."""
    digest = hashlib.sha256()
    for g in groups:
        digest.update(g.qid.encode())
        digest.update(repr(g.golds).encode())
        for c in g.contexts:
            digest.update(hashlib.sha1(c.text.encode()).digest())
    return digest.hexdigest()


def collect_civic(
    sets: Sequence[tuple[str, Sequence[EvalQuestion], Any]], top_k: int, part: str = "reader"
) -> list[Group]:
    """Civic groups of one half (``reader`` or ``calibration``) of each (name, dev questions, retriever)."""
    out: list[Group] = []
    for _, questions, retriever in sets:
        chosen = [q for q in questions if civic_part(q.id) == part]
        if not chosen:
            continue
        hits = retriever.search([q.question for q in chosen], top_k)
        docs = retriever.index.documents

        def contexts(h: Sequence[Hit], docs: dict[str, Document] = docs) -> list[Context]:
            return [passage_context(docs[x.passage.doc_id].context_title, x.passage) for x in h]

        out += civic_groups(chosen, hits, contexts)
    return out
