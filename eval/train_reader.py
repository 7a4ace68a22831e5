"""`qa train-reader`: fit the sentence and confidence models of the reader on civic **dev** questions.

Writes ``qa/models/reader.json`` (plain JSON, no pickle) with its provenance. The test parts of
the eval sets are never read here.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from eval import squad
from eval.answer_eval import normalize
from eval.retrieval_bench import cached_index
from eval.sets import SETS_DIR, EvalQuestion, load_eval_set
from index.chunking import ChunkSettings
from index.embed import Embedder
from index.reader import read_documents
from qa.answer import (
    CONFIDENCE_FEATURES,
    MODEL_PATH,
    SENTENCE_FEATURES,
    Candidate,
    Logistic,
    Reader,
    ReaderModel,
    confidence_features,
)
from qa.retriever import Retriever

log = logging.getLogger(__name__)

TRAIN_SETS = ("seeds-dev", "corpora-dev")


def fit_logistic(x: np.ndarray, y: np.ndarray, names: Sequence[str], l2: float = 1.0, iters: int = 50) -> Logistic:
    """L2-regularised logistic regression by Newton's method on standardised features."""
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    z = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
    w = np.zeros(z.shape[1])
    reg = np.full(z.shape[1], l2)
    reg[-1] = 0.0
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-np.clip(z @ w, -30, 30)))
        grad = z.T @ (p - y) + reg * w
        hess = (z * (p * (1 - p))[:, None]).T @ z + np.diag(reg) + 1e-9 * np.eye(len(w))
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return Logistic(tuple(names), mean, scale, w[:-1], float(w[-1]))


def holds_gold(cand: Candidate, q: EvalQuestion) -> bool:
    text = normalize(cand.record.sentence.text)
    return any(normalize(g) in text for g in q.answers)


@dataclass(frozen=True, slots=True)
class Example:
    question: EvalQuestion
    candidates: list[Candidate]


def collect(sets: Sequence[tuple[list[EvalQuestion], Retriever]], top_k: int) -> list[Example]:
    out = []
    for questions, retriever in sets:
        reader = Reader(retriever.index, model=None)
        vectors = retriever.embedder.encode([q.question for q in questions])
        hits = retriever.search([q.question for q in questions], top_k, vectors=vectors)
        for q, v, h in zip(questions, vectors, hits, strict=True):
            out.append(Example(q, reader.candidates(q.question, v, h)))
    return out


def fit_listwise(
    groups: Sequence[tuple[np.ndarray, np.ndarray]],
    names: Sequence[str],
    l2: float = 0.05,
    iters: int = 800,
    lr: float = 0.1,
) -> Logistic:
    """Softmax over each question's candidates, maximising the probability of the gold sentences.

    This trains for what the reader does (pick the top sentence), not for pointwise labels.
    """
    x_all = np.vstack([x for x, _ in groups])
    mean = x_all.mean(axis=0)
    scale = x_all.std(axis=0)
    scale[scale < 1e-9] = 1.0
    zs = [((x - mean) / scale, y.astype(bool)) for x, y in groups]
    w = np.zeros(len(names))
    m, v = np.zeros_like(w), np.zeros_like(w)
    for step in range(1, iters + 1):
        grad = l2 * w * len(zs)
        for z, y in zs:
            s = z @ w
            p = np.exp(s - s.max())
            p /= p.sum()
            q = np.where(y, p, 0.0)
            q /= q.sum()
            grad += z.T @ (p - q)
        grad /= len(zs)
        m = 0.9 * m + 0.1 * grad
        v = 0.999 * v + 0.001 * grad**2
        w -= lr * (m / (1 - 0.9**step)) / (np.sqrt(v / (1 - 0.999**step)) + 1e-8)
    return Logistic(tuple(names), mean, scale, w, 0.0)


# The sentence model is a weighted sum; its weights are searched on this small grid (dense fixed at 1).
GRID = {
    "lexical": (0.4, 0.8, 1.2, 1.6, 2.0, 2.4),
    "context": (0.2, 0.4, 0.8),
    "typed_found": (0.2, 0.35, 0.6),
    "typed_missing": (0.0, -0.3),
    "passage_score": (0.0, 0.3, 0.6),
    "bigrams": (0.0, 0.5),
}


def _groups(examples: Sequence[Example]) -> list[tuple[np.ndarray, np.ndarray]]:
    groups = []
    for ex in examples:
        if not ex.question.answerable:
            continue
        labels = np.array([holds_gold(c, ex.question) for c in ex.candidates])
        if labels.any():  # else retrieval missed it: nothing for the sentence model to learn
            groups.append((np.stack([c.features for c in ex.candidates]), labels))
    return groups


def _weighted(weights: dict[str, float]) -> Logistic:
    n = len(SENTENCE_FEATURES)
    w = np.array([weights.get(f, 0.0) for f in SENTENCE_FEATURES])
    return Logistic(SENTENCE_FEATURES, np.zeros(n), np.ones(n), w, 0.0)


def search_sentence_weights(groups: Sequence[tuple[np.ndarray, np.ndarray]]) -> Logistic:
    """The grid point with the best top-1 sentence accuracy; ties go to the best mean reciprocal rank."""
    best: tuple[float, float] | None = None
    chosen = _weighted({"dense": 1.0})
    for values in itertools.product(*GRID.values()):
        model = _weighted({"dense": 1.0, **dict(zip(GRID, values, strict=True))})
        top1, rr = 0.0, 0.0
        for x, y in groups:
            order = np.argsort(-model.logit(x), kind="stable")
            top1 += float(y[order[0]])
            rr += 1.0 / (1 + int(np.argmax(y[order])))
        key = (top1, rr)
        if best is None or key > best:
            best, chosen = key, model
    return chosen


def _confidence_data(examples: Sequence[Example], sentence: Logistic) -> tuple[np.ndarray, np.ndarray]:
    cx, cy = [], []
    for ex in examples:
        if not ex.candidates:
            continue
        logits = sentence.logit(np.stack([c.features for c in ex.candidates]))
        order = np.argsort(-logits, kind="stable")
        best = ex.candidates[int(order[0])]
        cx.append(confidence_features(best, logits, order))
        cy.append(float(ex.question.answerable and holds_gold(best, ex.question)))
    return np.array(cx), np.array(cy)


def train(
    examples: Sequence[Example], squad: Sequence[Example] = (), listwise: bool = False
) -> tuple[Logistic, Logistic]:
    """Sentence weights from the civic dev questions; confidence from SQuAD, recalibrated on civic dev.

    The confidence model learns what separates right from wrong best sentences on thousands of
    SQuAD 2.0 training-article questions (half unanswerable), then a one-variable logistic fit on
    the civic dev questions rescales it to the civic prior (Platt scaling), so that ``confidence``
    estimates the probability of being right on civic questions.
    """
    groups = _groups(examples)
    sentence = fit_listwise(groups, SENTENCE_FEATURES) if listwise else search_sentence_weights(groups)
    civic_x, civic_y = _confidence_data(examples, sentence)
    if not squad:
        return sentence, fit_logistic(civic_x, civic_y, CONFIDENCE_FEATURES, l2=1.0)
    squad_x, squad_y = _confidence_data(squad, sentence)
    base = fit_logistic(squad_x, squad_y, CONFIDENCE_FEATURES, l2=1.0)
    platt = fit_logistic(base.logit(civic_x)[:, None], civic_y, ("z",), l2=0.01)
    a, b = (
        float(platt.weights[0] / platt.scale[0]),
        float(platt.bias - platt.weights[0] * platt.mean[0] / platt.scale[0]),
    )
    return sentence, Logistic(base.features, base.mean, base.scale, base.weights * a, base.bias * a + b)


def collect_squad(path: Path, embedder: Embedder, cache_dir: Path, chunking: ChunkSettings) -> list[Example]:
    """Reader-only examples from the SQuAD 2.0 training articles (see eval.squad.split)."""
    index, (questions, titles) = squad.squad_index(path, cache_dir, embedder, chunking)
    chosen = squad.split(questions, titles, "train")
    reader = Reader(index, model=None)
    vectors = embedder.encode([q.question for q in chosen], batch_size=128)
    hits = squad.paragraph_hits(index, vectors, [q.doc_id for q in chosen])
    return [
        Example(
            EvalQuestion(q.qid, q.question, q.answers, q.doc_id if q.answers else None),
            reader.candidates(q.question, v, h),
        )
        for q, v, h in zip(chosen, vectors, hits, strict=True)
    ]


def run(
    corpora: Path,
    squad_path: Path | None,
    *,
    embedder: Embedder,
    cache_dir: Path,
    chunking: ChunkSettings,
    top_k: int = 5,
    out: Path = MODEL_PATH,
) -> ReaderModel:
    seeds_root = SETS_DIR.parent.parent / "seeds"
    sources = {
        "seeds-dev": [seeds_root],
        "corpora-dev": [corpora / "cil-handbook", corpora / "kp-digital-services"],
    }
    sets = []
    for name in TRAIN_SETS:
        index, _ = cached_index(
            read_documents(sources[name]), cache_dir, embedder, chunking, name.split("-")[0], sentence_features=True
        )
        sets.append((load_eval_set(SETS_DIR / f"{name}.jsonl"), Retriever(index, embedder)))
    examples = collect(sets, top_k)
    squad_examples = collect_squad(squad_path, embedder, cache_dir, chunking) if squad_path else []
    sentence, confidence = train(examples, squad_examples)
    provenance = {
        "trained_on": [f"eval/sets/{n}.jsonl" for n in TRAIN_SETS],
        "questions": len(examples),
        "squad_questions": len(squad_examples),
        "squad_articles": f"first {squad.TRAIN_ARTICLES} articles of {squad_path}" if squad_path else None,
        "sentence_model": "weighted sum, weights from a grid search on the dev sets",
        "confidence_model": "logistic regression on SQuAD 2.0 training articles, Platt-rescaled on the dev sets"
        if squad_path
        else "logistic regression on the dev sets",
        "command": "qa train-reader",
        "top_k": top_k,
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    model = ReaderModel(sentence, confidence, provenance)
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {"sentence": sentence.to_json(), "confidence": confidence.to_json(), "provenance": provenance}
    out.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return model
