"""`qa eval --calibrate`: only questions the reader never trained on, labelled by whether it was right."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from eval import calibration
from eval.qa_data import civic_part
from eval.sets import EvalQuestion
from index.embed import Embedder
from index.store import Index
from qa.answer import SCORES
from qa.retriever import Retriever


def test_auc_by_hand() -> None:
    assert calibration.auc(np.array([0.9, 0.8, 0.1, 0.3]), np.array([1, 1, 0, 0])) == 1.0
    assert calibration.auc(np.array([0.5, 0.5]), np.array([1, 0])) == 0.5
    assert np.isnan(calibration.auc(np.array([0.5]), np.array([1])))


def test_examples_come_from_the_calibration_half_only(three_docs_index: Path, embedder: Embedder) -> None:
    retriever = Retriever(Index.load(three_docs_index), embedder)
    ids = [f"seeds-dev-{i:03d}" for i in range(12)]
    questions = [
        EvalQuestion(qid, "Which SMS short code reaches the identity service?", ("8070",), "pehchaan.md")
        if i % 2
        else EvalQuestion(qid, "Who won the 1998 football world cup?", (), None)
        for i, qid in enumerate(ids)
    ]
    chosen = calibration.calibration_questions("seeds-dev", questions)
    data = calibration.examples([("seeds-dev", chosen, retriever)])
    assert data.ids == [q for q in ids if civic_part(q) == "calibration"] and 0 < len(data.ids) < len(ids)
    assert data.x.shape == (len(data.ids), len(SCORES))
    by_id = {q.id: q for q in questions}
    assert [bool(v) for v in data.right] == [by_id[q].answerable for q in data.ids]  # 8070 is read right
    assert [bool(v) for v in data.span_right] == [by_id[q].answerable for q in data.ids]  # ... as the span itself
    assert data.answerable.tolist() == [by_id[q].answerable for q in data.ids]
    # A calibration set of people's words is taken whole.
    assert calibration.calibration_questions("people-calibration", questions) == questions
    with pytest.raises(ValueError, match="too few"):
        calibration.fit(data, data, cost=1.0)


def test_fit_stores_the_operating_point_chosen_on_dev_and_a_sure_band_judged_by_spans() -> None:
    rng = np.random.default_rng(0)
    n = 200
    answerable = rng.random(n) < 0.7
    strength = np.where(answerable, rng.normal(2.0, 1.5, n), rng.normal(-2.0, 1.5, n))
    x = np.zeros((n, len(SCORES)))
    x[:, SCORES.index("answer_vs_null")] = strength
    right = (answerable & (strength > 0)).astype(float)
    # Some answers hold the gold only in their sentence, fewer of the stronger ones.
    span_right = right * ((strength > 2.5) | (rng.random(n) < 0.6))
    ids = [f"q{i}" for i in range(n)]
    data = calibration.Examples(x, right, span_right, np.ones(n, dtype=bool), answerable, ids)
    confidence, summary = calibration.fit(data, data, cost=1.0)
    assert confidence.operating is not None and confidence.threshold == confidence.operating
    assert summary["dev_unanswerable_abstained"] >= 0.8  # the rule it was chosen by
    assert confidence.sure is not None and summary["sure_span_right"] >= 0.95
    assert confidence.with_cost(1.0).threshold == 0.5  # QA_WRONG_ANSWER_COST overrides the operating point
