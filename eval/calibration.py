"""`qa eval --calibrate`: fit the confidence model on civic dev questions the reader never trained on.

The questions are the ``calibration`` half of each civic dev set (:func:`eval.qa_data.civic_part`),
each retrieved from its own documents (:mod:`eval.corpora`) and read never abstaining. The label
is whether the reader's answer is right (a gold answer stands in the answer or its sentence; any
answer to an unanswerable question is wrong); the inputs are the reader's named scores
(:data:`CONFIDENCE_INPUTS`, a subset of :data:`qa.answer.SCORES`). The fitted :class:`~qa.confidence.Confidence` and its
provenance go to ``qa/models/calibration.json``, which the app reads.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from eval.answer_eval import contains_gold
from eval.qa_data import civic_part
from eval.sets import EvalQuestion
from index.store import Index
from qa.answer import SCORES, Reader, read
from qa.confidence import Confidence, fit_confidence, sure_threshold
from qa.reading import READER_SCORES
from qa.retriever import Retriever

# The inputs of the shipped confidence model (chosen by `qa bench confidence`, held out on this half).
CONFIDENCE_INPUTS: tuple[str, ...] = SCORES


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve: the chance a right answer scores above a wrong one (ties count half)."""
    pos, neg = scores[labels > 0.5], scores[labels <= 0.5]
    if not len(pos) or not len(neg):
        return float("nan")
    greater = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(greater / (len(pos) * len(neg)))


def examples(
    sets: Sequence[tuple[str, Sequence[EvalQuestion], Retriever]],
    *,
    part: str = "calibration",
    top_k: int = 5,
    readers: Callable[[Index], Reader] = Reader,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(every score of :data:`qa.answer.SCORES`, right or not, question ids) of the ``part`` half of each set."""
    xs, ys, ids = [], [], []
    for _, questions, retriever in sets:
        reader = readers(retriever.index)
        chosen = [q for q in questions if civic_part(q.id) == part]
        for q in chosen:
            (reading,), _ = read([q.question], retriever, top_k=top_k, reader=reader)
            if reading.group is None:
                continue
            result = reader.decide(reading, 0.0)
            scores = reading.scores or {}
            xs.append([scores[name] for name in SCORES])
            ys.append(float(q.answerable and contains_gold(result, q.answers)))
            ids.append(q.id)
    return np.array(xs, dtype=np.float64), np.array(ys), ids


def fit(
    sets: Sequence[tuple[str, Sequence[EvalQuestion], Retriever]],
    *,
    cost: float,
    top_k: int = 5,
    command: str = "",
    readers: Callable[[Index], Reader] = Reader,
) -> tuple[Confidence, dict[str, Any]]:
    """The confidence model fitted on the calibration half of ``sets``, read by ``readers(index)``."""
    x_all, y, ids = examples(sets, top_k=top_k, readers=readers)
    if len(ids) < 20 or y.min() == y.max():
        raise ValueError(f"{len(ids)} calibration questions with one outcome only: too few to fit a confidence model")
    x = x_all[:, [SCORES.index(name) for name in CONFIDENCE_INPUTS]]
    confidence = fit_confidence(x, y, CONFIDENCE_INPUTS, l2=1.0, cost=cost)
    p = np.array([confidence.probability(dict(zip(CONFIDENCE_INPUTS, row, strict=True))) for row in x])
    confidence = confidence.with_sure(sure_threshold(p.tolist(), (y > 0.5).tolist()))
    single = x_all[:, SCORES.index("answer_vs_null")]
    summary = {
        "questions": len(ids),
        "right_share": round(float(y.mean()), 4),
        "auc_in_sample": round(auc(p, y), 4),
        "auc_answer_vs_null_alone": round(auc(single, y), 4),
        "sure_from": None if confidence.sure is None else round(confidence.sure, 4),
        "sure_answers": int((p >= (confidence.sure or 2.0)).sum()),
    }
    provenance = {
        "command": command or "qa eval --calibrate",
        "sets": [f"eval/sets/{name}.jsonl (calibration half)" for name, _, _ in sets],
        "method": "logistic regression (L2 1) of 'the answer or its sentence holds a gold answer' on the reader's "
        "scores, never abstaining",
        "decision": "answer when confidence > cost / (1 + cost): a right answer gains 1, a wrong one loses cost "
        "(QA_WRONG_ANSWER_COST)",
        **summary,
        "calibrated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    fitted = Confidence(
        confidence.features,
        confidence.mean,
        confidence.scale,
        confidence.weights,
        confidence.bias,
        cost,
        provenance,
        confidence.sure,
    )
    return fitted, summary


VARIANTS: dict[str, tuple[str, ...]] = {
    "answer-vs-null odds alone": ("answer_vs_null",),
    "reader scores": READER_SCORES,
    "reader scores + retrieval": SCORES,
}


def compare(
    x_all: np.ndarray, y: np.ndarray, *, folds: int = 5, cost: float = 1.0, seed: int = 0
) -> list[dict[str, Any]]:
    """Each confidence-input variant fitted on ``folds - 1`` folds and read on the held-out one: AUC, log
    loss, the share answered at ``cost / (1 + cost)`` and the mean utility of those decisions (a right
    answer +1, a wrong one -cost, an abstention 0)."""
    order = np.random.default_rng(seed).permutation(len(y))
    fold = np.empty(len(y), dtype=int)
    fold[order] = np.arange(len(y)) % folds
    rows = []
    for name, inputs in VARIANTS.items():
        x = x_all[:, [SCORES.index(n) for n in inputs]]
        p = np.zeros(len(y))
        for k in range(folds):
            train, test = fold != k, fold == k
            c = fit_confidence(x[train], y[train], inputs, l2=1.0, cost=cost)
            p[test] = [c.probability(dict(zip(inputs, row, strict=True))) for row in x[test]]
        q = np.clip(p, 1e-6, 1 - 1e-6)
        answered = p > cost / (1 + cost)
        rows.append(
            {
                "inputs": name,
                "auc": auc(p, y),
                "log_loss": float(-np.mean(y * np.log(q) + (1 - y) * np.log(1 - q))),
                "answered": float(answered.mean()),
                "utility": float(np.mean(answered * (y - cost * (1 - y)))),
            }
        )
    return rows


def format_comparison(rows: Sequence[dict[str, Any]], questions: int, folds: int = 5) -> str:
    lines = [
        f"confidence inputs, {folds}-fold held out on {questions} civic dev questions (calibration half)",
        "",
        "| inputs | AUC | log loss | answered | utility per question |",
        "|---|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r['inputs']} | {r['auc']:.3f} | {r['log_loss']:.3f} | {r['answered']:.1%} | {r['utility']:+.3f} |"
        for r in rows
    ]
    return "\n".join(lines)
