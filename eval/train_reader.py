"""`qa train-reader`: fit the reader's sentence scorer, span ranker and confidence model.

Training data: the civic **dev** sets (retrieval on their own corpora) and, when given, the
training articles of a SQuAD 2.0 file (``eval.squad.split``: each question read against its own
paragraph). The test parts of the eval sets and the SQuAD test articles are never read here.

- **Sentence scorer**: a listwise logistic model (softmax over each question's candidate
  sentences) on ``qa.features.SENTENCE_FEATURES``; the target is every sentence holding a gold answer.
- **Span ranker**: the same over the candidate spans of each gold sentence; the target is every
  span equal to a gold answer after SQuAD normalisation.
- **Confidence**: logistic regression on ``CONFIDENCE_FEATURES`` of the reader's own top answer,
  labelled 1 when that answer's sentence holds a gold answer; civic dev questions only. ``qa eval
  --calibrate`` later rescales it on civic dev questions so that it estimates the probability of
  being right there.

Everything is written as plain JSON to ``qa/models/reader.json`` with its provenance. No pickle.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

from eval import squad
from eval.answer_eval import normalize
from eval.retrieval_bench import cached_index
from eval.sets import SETS_DIR, EvalQuestion, load_eval_set
from eval.squad_eval import sentence_holds_gold
from eval.squad_metrics import compute_exact
from index.chunking import ChunkSettings
from index.embed import Embedder
from index.reader import read_documents
from qa.answer import (
    CONFIDENCE_FEATURES,
    MODEL_PATH,
    Candidate,
    Logistic,
    Reader,
    ReaderModel,
    confidence_features,
)
from qa.features import SENTENCE_FEATURES, SPAN_FEATURES, Question
from qa.retriever import Retriever
from qa.types import Hit

log = logging.getLogger(__name__)

TRAIN_SETS = ("seeds-dev", "corpora-dev")
# Where the sentence model's L2 penalty pulls its weights: the weighted sum a grid search chose on the
# civic dev sets before the model was learned. The civic dev sets are small (93 answerable questions);
# pulled towards zero instead, the learned weights followed SQuAD and lost civic questions held out.
SENTENCE_PRIOR = {
    "dense": 1.0,
    "lexical": 1.6,
    "context": 0.8,
    "bigrams": 0.5,
    "typed_found": 0.6,
    "typed_missing": -0.3,
    "passage_score": 0.6,
}
SENTENCE_L2 = 300.0
CIVIC_WEIGHT = 1.0


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


def fit_listwise(
    groups: Sequence[tuple[np.ndarray, np.ndarray]],
    names: Sequence[str],
    l2: float = 1.0,
    weights: Sequence[float] | None = None,
    prior: Sequence[float] | None = None,
) -> Logistic:
    """Softmax over each group's rows, maximising the probability of its positive rows (L-BFGS).

    This trains for what the reader does (pick the top row of each question), not for pointwise
    labels. ``weights`` weigh the groups (the civic questions against the many SQuAD ones).
    ``prior`` (raw-feature weights) is where the L2 penalty pulls the weights instead of zero.
    """
    x = np.vstack([g for g, _ in groups])
    y = np.concatenate([lab.astype(bool) for _, lab in groups])
    sizes = np.array([len(g) for g, _ in groups])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    gw = np.ones(len(groups)) if weights is None else np.asarray(weights, dtype=np.float64)
    row_group = np.repeat(np.arange(len(groups)), sizes)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    z = (x - mean) / scale
    w0 = np.zeros(z.shape[1]) if prior is None else np.asarray(prior, dtype=np.float64) * scale

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        s = z @ w
        smax = np.maximum.reduceat(s, starts)
        e = np.exp(s - smax[row_group])
        all_sum = np.add.reduceat(e, starts)
        gold_sum = np.add.reduceat(np.where(y, e, 0.0), starts)
        value = float(gw @ (np.log(all_sum) - np.log(gold_sum))) + 0.5 * l2 * float((w - w0) @ (w - w0))
        p = e / all_sum[row_group]
        q = np.where(y, e, 0.0) / gold_sum[row_group]
        grad = z.T @ ((p - q) * gw[row_group]) + l2 * (w - w0)
        return value, grad

    result = minimize(loss, w0.copy(), jac=True, method="L-BFGS-B", options={"maxiter": 500})
    return Logistic(tuple(names), mean, scale, result.x, 0.0)


@dataclass(frozen=True, slots=True)
class Example:
    """One training question as the reader sees it (with the untrained models' features)."""

    question: EvalQuestion
    analysed: Question
    candidates: list[Candidate]
    labels: np.ndarray  # per candidate sentence: holds a gold answer
    span_groups: list[tuple[np.ndarray, np.ndarray]]  # per gold sentence: span features, span labels
    source: str  # "civic" or "squad"


def _span_group(reader: Reader, q: Question, c: Candidate, golds: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    spans, x = reader.span_candidates(q, c)
    doc = reader.index.documents[c.record.doc_id]
    labels = np.array([any(compute_exact(g, doc.text[sp.start : sp.end]) for g in golds) for sp in spans])
    return x, labels


def example(
    reader: Reader,
    question: EvalQuestion,
    vector: np.ndarray,
    hits: Sequence[Hit],
    holds: Callable[[str, Sequence[str]], bool],
    source: str,
) -> Example:
    q = reader.analyse(question.question)
    cands = reader.candidates(q, vector, hits)
    labels = np.array([question.answerable and holds(_read_text(c), question.answers) for c in cands])
    span_groups = [_span_group(reader, q, c, question.answers) for c, ok in zip(cands, labels, strict=True) if ok]
    return Example(question, q, cands, labels, span_groups, source)


def _read_text(c: Candidate) -> str:
    """What the reader can answer from when it picks ``c``: the sentence, and the heading it opens."""
    return c.record.sentence.text if c.heading is None else f"{c.heading.sentence.text}\n{c.record.sentence.text}"


def civic_holds(sentence: str, answers: Sequence[str]) -> bool:
    text = normalize(sentence)
    return any(normalize(g) in text for g in answers)


def collect(
    sets: Sequence[tuple[list[EvalQuestion], Retriever]], top_k: int, aliases: bool = True, headings: bool = True
) -> tuple[list[Example], list[Reader]]:
    out, readers = [], []
    for questions, retriever in sets:
        reader = Reader(retriever.index, model=None, aliases=aliases, headings=headings)
        readers.append(reader)
        vectors = retriever.embedder.encode([q.question for q in questions])
        hits = retriever.search([q.question for q in questions], top_k, vectors=vectors)
        for q, v, h in zip(questions, vectors, hits, strict=True):
            out.append(example(reader, q, v, h, civic_holds, "civic"))
    return out, readers


def collect_squad(
    path: Path, embedder: Embedder, cache_dir: Path, chunking: ChunkSettings
) -> tuple[list[Example], Reader]:
    """Reader-only examples from the SQuAD 2.0 training articles (see eval.squad.split)."""
    index, (questions, titles) = squad.squad_index(path, cache_dir, embedder, chunking)
    chosen = squad.split(questions, titles, "train")
    reader = Reader(index, model=None)
    vectors = embedder.encode([q.question for q in chosen], batch_size=128)
    hits = squad.paragraph_hits(index, vectors, [q.doc_id for q in chosen])
    examples = [
        example(
            reader,
            EvalQuestion(q.qid, q.question, q.answers, q.doc_id if q.answers else None),
            v,
            h,
            sentence_holds_gold,
            "squad",
        )
        for q, v, h in zip(chosen, vectors, hits, strict=True)
    ]
    return examples, reader


def _weight(ex: Example, civic_weight: float) -> float:
    return civic_weight if ex.source == "civic" else 1.0


def train(
    examples: Sequence[Example],
    civic_weight: float = CIVIC_WEIGHT,
    l2: float = SENTENCE_L2,
    span_l2: float = 3.0,
    prior: Sequence[float] | None = None,
) -> tuple[Logistic, Logistic]:
    """The sentence scorer and span ranker (listwise), civic questions weighted ``civic_weight``."""
    with_gold = [ex for ex in examples if ex.labels.any()]
    sentence = fit_listwise(
        [(np.stack([c.features for c in ex.candidates]), ex.labels) for ex in with_gold],
        SENTENCE_FEATURES,
        l2=l2,
        weights=[_weight(ex, civic_weight) for ex in with_gold],
        prior=[SENTENCE_PRIOR.get(f, 0.0) for f in SENTENCE_FEATURES] if prior is None else prior,
    )
    span_groups, span_weights = [], []
    for ex in examples:
        for x, y in ex.span_groups:
            if y.any():
                span_groups.append((x, y))
                span_weights.append(_weight(ex, civic_weight))
    span = fit_listwise(span_groups, SPAN_FEATURES, l2=span_l2, weights=span_weights)
    return sentence, span


def confidence_data(
    examples: Sequence[Example], readers: dict[str, Reader], model: ReaderModel
) -> tuple[np.ndarray, np.ndarray]:
    """Confidence features of each question's top answer under ``model``, and whether it is right."""
    cx, cy = [], []
    for ex in examples:
        if not ex.candidates:
            continue
        reader = readers[ex.question.id]
        logits = model.sentence.logit(np.stack([c.features for c in ex.candidates]))
        order = np.argsort(-logits, kind="stable")
        best = int(order[0])
        spans, x = reader.span_candidates(ex.analysed, ex.candidates[best])
        span_logits = model.span.logit(x)
        chosen = int(np.argmax(span_logits))
        cx.append(confidence_features(ex.candidates, logits, order, spans, span_logits, chosen))
        cy.append(float(ex.labels[best]))
    return np.array(cx), np.array(cy)


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
    examples, civic_readers = collect(sets, top_k)
    readers = {}
    for (questions, _), reader in zip(sets, civic_readers, strict=True):
        readers.update({q.id: reader for q in questions})
    if squad_path:
        squad_examples, squad_reader = collect_squad(squad_path, embedder, cache_dir, chunking)
        readers.update({ex.question.id: squad_reader for ex in squad_examples})
        examples = examples + squad_examples
    sentence, span = train(examples)
    draft = ReaderModel(sentence, span, _identity_confidence(), {})
    # Confidence is learned on the civic questions only: the deployment's own kind of question and
    # unanswerable (SQuAD's are written to look answerable, at a 50 % prior). Trained on one civic set
    # and read on the other, this ranked right answers above wrong ones better (AUC 0.87 and 0.84)
    # than with SQuAD's questions added (0.83 and 0.81).
    cx, cy = confidence_data([ex for ex in examples if ex.source == "civic"], readers, draft)
    confidence = fit_logistic(cx, cy, CONFIDENCE_FEATURES, l2=1.0)
    civic = sum(ex.source == "civic" for ex in examples)
    provenance = {
        "trained_on": [f"eval/sets/{n}.jsonl" for n in TRAIN_SETS],
        "questions": civic,
        "squad_questions": len(examples) - civic,
        "squad_articles": f"first {squad.TRAIN_ARTICLES} articles of {squad_path.name}" if squad_path else None,
        "sentence_model": "listwise logistic regression (softmax over each question's sentences), L-BFGS",
        "span_model": "listwise logistic regression over the candidate spans of gold sentences, L-BFGS",
        "confidence_model": "logistic regression on the civic questions: does the top answer's sentence hold a gold "
        "answer",
        "command": "qa train-reader" + (f" --squad {squad_path.name}" if squad_path else ""),
        "top_k": top_k,
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    model = ReaderModel(sentence, span, confidence, provenance)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(model.to_json(), indent=2) + "\n", encoding="utf-8")
    return model


def _identity_confidence() -> Logistic:
    n = len(CONFIDENCE_FEATURES)
    return Logistic(CONFIDENCE_FEATURES, np.zeros(n), np.ones(n), np.zeros(n), 0.0)
