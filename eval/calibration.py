"""`qa eval --calibrate`: fit the confidence model on civic questions the reader never trained on.

The questions are the ``calibration`` half of each first civic dev set (:func:`eval.qa_data.civic_part`)
and the whole people's-words calibration set (and any exported feedback cases given), each retrieved
from its own documents (:mod:`eval.corpora`) and read never abstaining. The label is whether the
reader's answer is right (a gold answer stands in the answer or its sentence; any answer to an
unanswerable question is wrong); the inputs are the reader's named scores (:data:`CONFIDENCE_INPUTS`, a
subset of :data:`qa.answer.SCORES`). The ``sure`` band is judged by the answer span alone, and the
operating point is chosen on the dev questions. The fitted :class:`~qa.confidence.Confidence` and its
provenance go to ``qa/models/calibration.json``, which the app reads.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from eval.answer_eval import contains_gold, span_holds_gold
from eval.corpora import DEV_SETS
from eval.qa_data import civic_part
from eval.sets import EvalQuestion
from index.store import Index
from qa.answer import SCORES, Reader, read
from qa.answer_type import fits
from qa.confidence import Confidence, answering_threshold, fit_confidence, operating_threshold, sure_threshold
from qa.fusion import TOP_K
from qa.language import script_of
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


@dataclass(frozen=True, slots=True)
class Examples:
    """Questions read never abstaining: every score of :data:`qa.answer.SCORES`, and what a person got."""

    x: np.ndarray  # (n, len(SCORES))
    right: np.ndarray  # 1.0 when the answer or its sentence holds a gold answer (0 for unanswerable ones)
    span_right: np.ndarray  # 1.0 when the answer span itself holds a gold answer
    fits: np.ndarray  # the span is of the kind its question asks for (qa.answer_type.fits)
    answerable: np.ndarray
    ids: list[str]
    scripts: list[str] = field(default_factory=list)  # each question's script (qa.language.script_of)


def examples(
    sets: Sequence[tuple[str, Sequence[EvalQuestion], Retriever]],
    *,
    top_k: int = TOP_K,
    readers: Callable[[Index], Reader] = Reader,
) -> Examples:
    """Every question of ``sets`` (each with the retriever over its documents) read never abstaining."""
    xs, right, span, fit_kind, answerable, ids = [], [], [], [], [], []
    scripts: list[str] = []
    for _, questions, retriever in sets:
        reader = readers(retriever.index)
        for q in questions:
            (reading,), _ = read([q.question], retriever, top_k=top_k, reader=reader)
            if reading.group is None:
                continue
            result = reader.decide(reading, 0.0)
            scores = reading.scores or {}
            xs.append([scores[name] for name in SCORES])
            right.append(float(q.answerable and contains_gold(result, q.answers)))
            span.append(float(q.answerable and span_holds_gold(result, q.answers)))
            fit_kind.append(result.answer is not None and fits(q.question, result.answer.text))
            answerable.append(q.answerable)
            ids.append(q.id)
            scripts.append(script_of(q.question))
    return Examples(
        np.array(xs, dtype=np.float64).reshape(len(ids), len(SCORES)),
        np.array(right),
        np.array(span),
        np.array(fit_kind, dtype=bool),
        np.array(answerable, dtype=bool),
        ids,
        scripts,
    )


def calibration_questions(name: str, questions: Sequence[EvalQuestion]) -> list[EvalQuestion]:
    """The questions of set ``name`` that fit the confidence: the calibration half of a first civic dev set
    (its other half trained the reader), every question of a calibration set or of exported feedback."""
    if name in DEV_SETS:
        return [q for q in questions if civic_part(q.id) == "calibration"]
    return list(questions)


def fit(
    calibration: Examples,
    dev: Examples,
    *,
    cost: float,
    command: str = "",
    sources: Sequence[str] = (),
    dev_sources: Sequence[str] = (),
    script_dev: Examples | None = None,
) -> tuple[Confidence, dict[str, Any]]:
    """The confidence model fitted on ``calibration``: P(the answer or its sentence holds a gold answer) from
    the reader's scores; its ``sure`` band from the same questions' answer **spans** (those whose span fits
    its question's kind); its operating point from ``dev`` (:func:`qa.confidence.operating_threshold`); the
    operating point of each other script among ``script_dev``'s questions (:func:`qa.language.script_of`: Roman
    Urdu) from those questions (:func:`qa.confidence.answering_threshold`)."""
    x_all, y = calibration.x, calibration.right
    if len(y) < 20 or y.min() == y.max():
        raise ValueError(f"{len(y)} calibration questions with one outcome only: too few to fit a confidence model")
    x = x_all[:, [SCORES.index(name) for name in CONFIDENCE_INPUTS]]
    confidence = fit_confidence(x, y, CONFIDENCE_INPUTS, l2=1.0, cost=cost)

    def probabilities(data: Examples) -> np.ndarray:
        rows = data.x[:, [SCORES.index(name) for name in CONFIDENCE_INPUTS]]
        return np.array([confidence.probability(dict(zip(CONFIDENCE_INPUTS, r, strict=True))) for r in rows])

    p = probabilities(calibration)
    sure = sure_threshold(p[calibration.fits].tolist(), (calibration.span_right[calibration.fits] > 0.5).tolist())
    p_dev = probabilities(dev) if len(dev.ids) else np.zeros(0)
    operating = operating_threshold(p_dev.tolist(), dev.answerable.tolist()) if len(dev.ids) else None
    by_script: dict[str, float] = {}
    script_summary: dict[str, Any] = {}
    if script_dev is not None and len(script_dev.ids):
        p_script = probabilities(script_dev)
        for script in sorted(set(script_dev.scripts) - {"en"}):
            mine = np.array([s == script for s in script_dev.scripts])
            t = answering_threshold(p_script[mine].tolist(), script_dev.answerable[mine].tolist())
            if t is None:
                continue
            by_script[script] = t
            answerable, p_mine = script_dev.answerable[mine], p_script[mine]
            script_summary[script] = {
                "threshold": t,
                "dev_questions": int(mine.sum()),
                "dev_wrongly_abstained": _share((p_mine <= t) & answerable, answerable),
                "dev_unanswerable_abstained": _share((p_mine <= t) & ~answerable, ~answerable),
            }
    confidence = confidence.with_sure(sure).with_operating(operating, by_script)
    threshold = confidence.threshold
    single = x_all[:, SCORES.index("answer_vs_null")]
    sure_mask = calibration.fits & (p >= max(sure or 2.0, threshold))
    summary = {
        "questions": len(y),
        "right_share": round(float(y.mean()), 4),
        "auc_in_sample": round(auc(p, y), 4),
        "auc_answer_vs_null_alone": round(auc(single, y), 4),
        "operating_threshold": None if operating is None else round(operating, 4),
        "dev_questions": len(dev.ids),
        "dev_unanswerable_abstained": _share((p_dev <= threshold) & ~dev.answerable, ~dev.answerable),
        "dev_wrongly_abstained": _share((p_dev <= threshold) & dev.answerable, dev.answerable),
        "by_script": script_summary,
        "sure_from": None if sure is None else round(sure, 4),
        "sure_answers": int(sure_mask.sum()),
        "sure_span_right": _share(sure_mask & (calibration.span_right > 0.5), sure_mask),
    }
    provenance = {
        "command": command or "qa eval --calibrate",
        "sets": list(sources),
        "dev_sets": list(dev_sources),
        "method": "logistic regression (L2 1) of 'the answer or its sentence holds a gold answer' on the reader's "
        "scores, never abstaining; sure: the lowest confidence from which the answer spans (of the kind their "
        "question asks for) held a gold answer at least 95% of the time",
        "decision": "answer when confidence > the operating point chosen on the dev sets (QA_WRONG_ANSWER_COST "
        "overrides it with cost / (1 + cost))",
        **summary,
        "calibrated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    return replace(confidence, provenance=provenance), summary


def _share(hits: np.ndarray, within: np.ndarray) -> float | None:
    n = int(within.sum())
    return round(float(hits.sum()) / n, 4) if n else None


VARIANTS: dict[str, tuple[str, ...]] = {
    "answer-vs-null odds alone": ("answer_vs_null",),
    "reader scores": READER_SCORES,
    "reader scores + retrieval": (*READER_SCORES, "passage_dense", "top_dense"),
    "reader scores + retrieval + missing names and numbers": SCORES,
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
