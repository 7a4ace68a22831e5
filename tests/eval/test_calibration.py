"""`qa eval --calibrate`: only questions the reader never trained on, labelled by whether it was right."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from eval import calibration
from eval.qa_data import civic_part
from eval.sets import EvalQuestion
from index.build import build
from index.embed import Embedder
from index.store import Index
from qa.answer import SCORES
from qa.retriever import Retriever


def test_auc_by_hand() -> None:
    assert calibration.auc(np.array([0.9, 0.8, 0.1, 0.3]), np.array([1, 1, 0, 0])) == 1.0
    assert calibration.auc(np.array([0.5, 0.5]), np.array([1, 0])) == 0.5
    assert np.isnan(calibration.auc(np.array([0.5]), np.array([1])))


def test_examples_come_from_the_calibration_half_only(corpus: Path, tmp_path: Path, embedder: Embedder) -> None:
    build([corpus], tmp_path / "idx", embedder=embedder)
    retriever = Retriever(Index.load(tmp_path / "idx"), embedder)
    ids = [f"seeds-dev-{i:03d}" for i in range(12)]
    questions = [
        EvalQuestion(qid, "Which SMS short code reaches the identity service?", ("8070",), "pehchaan.md")
        if i % 2
        else EvalQuestion(qid, "Who won the 1998 football world cup?", (), None)
        for i, qid in enumerate(ids)
    ]
    x, y, used = calibration.examples([("seeds-dev", questions, retriever)])
    assert used == [q for q in ids if civic_part(q) == "calibration"] and 0 < len(used) < len(ids)
    assert x.shape == (len(used), len(SCORES))
    by_id = {q.id: q for q in questions}
    assert [bool(v) for v in y] == [by_id[q].answerable for q in used]  # 8070 is read right; the cup never is
    with pytest.raises(ValueError, match="too few"):
        calibration.fit([("seeds-dev", questions, retriever)], cost=1.0)
