from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from eval import latency_bench
from eval.answer_eval import Record, calibrate, coverage_curve, evaluate_system, normalize
from eval.sets import EvalQuestion
from index.embed import Embedder
from index.store import Index
from qa.confidence import fit_confidence
from qa.retriever import Retriever
from qa.settings import Settings


def test_normalize_quotes_case_and_spaces() -> None:
    assert normalize("  KP’s  “Digital”\nPolicy ") == 'kp\'s "digital" policy'


def test_evaluate_counts_answers_and_abstentions(three_docs_index: Path, embedder: Embedder) -> None:
    retriever = Retriever(Index.load(three_docs_index), embedder)
    questions = [
        EvalQuestion("a1", "Which SMS short code reaches the identity service?", ("8070",), "pehchaan.md"),
        EvalQuestion("a2", "In which month does the fellowship cohort start?", ("July",), "fellowship.txt"),
        EvalQuestion("u1", "How much money did the World Bank give the hackathon winners?", (), None),
    ]
    report = evaluate_system("hybrid + reader", questions, retriever)
    assert (report.questions, report.answerable, report.unanswerable) == (3, 2, 1)
    rows = {r.id: r for r in report.records}
    right = rows["a1"].correct + rows["a2"].correct
    u_abstained = rows["u1"].answered is None
    assert report.answer_accuracy == right / 2
    assert report.abstention_recall == float(u_abstained)
    assert report.overall == (right + u_abstained) / 3
    assert report.forced_accuracy >= report.answer_accuracy
    assert [r.id for r in report.forced_records] == ["a1", "a2", "u1"]
    assert all(r.answered is not None for r in report.forced_records)  # never abstaining
    assert rows["a1"].gold_doc_rank == 1 and report.hit5 == 1.0
    # SQuAD 2.0 style: an abstention on the unanswerable question scores 1, an answer 0.
    assert rows["u1"].exact == rows["u1"].f1 == float(u_abstained)
    if rows["a2"].answered == "July":
        assert rows["a2"].exact == rows["a2"].f1 == 1.0


def test_naive_baseline_never_abstains(three_docs_index: Path, embedder: Embedder) -> None:
    retriever = Retriever(Index.load(three_docs_index), embedder)
    questions = [EvalQuestion("u1", "How much money did the World Bank give the hackathon winners?", (), None)]
    report = evaluate_system("hybrid + first sentence", questions, retriever)
    (record,) = report.records
    assert record.answered is not None and not record.correct and report.abstention_recall == 0.0


def _record(rid: str, gold: list[str], answered: str | None, confidence: float, correct: bool) -> Record:
    return Record(rid, "q", gold, "d" if gold else None, answered, answered, None, confidence, correct, 0, 0, None, 1)


def test_coverage_curve_and_calibration_by_hand() -> None:
    records = [
        _record("a", ["x"], "x", 0.9, True),  # right, confident
        _record("b", ["y"], "z", 0.6, False),  # wrong, middling
        _record("u", [], "w", 0.2, False),  # unanswerable, answered at threshold 0
    ]
    curve = {round(p.threshold, 2): p for p in coverage_curve(records, [0.0, 0.5, 0.7, 0.95])}
    assert (curve[0.0].coverage, curve[0.0].accuracy, curve[0.0].overall) == (1.0, 1 / 3, 1 / 3)
    assert (curve[0.5].coverage, curve[0.5].accuracy, curve[0.5].overall) == (2 / 3, 0.5, 2 / 3)
    assert (curve[0.7].coverage, curve[0.7].accuracy, curve[0.7].overall) == (1 / 3, 1.0, 2 / 3)
    assert curve[0.95].coverage == 0.0 and curve[0.95].overall == 1 / 3
    best = calibrate(records)
    assert best.overall == 2 / 3 and 0.2 < best.threshold <= 0.6  # the lowest threshold that reaches it


def test_fit_confidence_finds_the_separating_score() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 3))
    y = (x[:, 1] > 0).astype(float)
    model = fit_confidence(x, y, ("a", "b", "c"))
    assert model.weights[1] > 3 * max(abs(model.weights[0]), abs(model.weights[2]))
    p = np.array([model.probability(dict(zip(model.features, row, strict=True))) for row in x])
    assert ((p > 0.5) == (y > 0.5)).mean() > 0.95


def test_latency_bench_runs_against_a_live_server(three_docs_index: Path) -> None:
    report = latency_bench.run(Settings(index_dir=three_docs_index), ["What is Pehchaan?"] * 3, warmup=1)
    assert report.requests == 3 and report.p50_ms > 0 and report.p95_ms >= report.p50_ms
    assert set(report.stages_p50_ms) == {"encode", "search", "read"}


def test_a_logistic_confidence_matches_the_share_right_in_the_large() -> None:
    from eval.answer_eval import reliability

    rng = np.random.default_rng(0)
    z = rng.normal(size=400)
    right = rng.random(400) < 1 / (1 + np.exp(-(2 * z - 1)))  # truly sigmoid(2z - 1)
    fitted = fit_confidence(z[:, None], right.astype(float), ("answer_vs_null",), l2=1e-3)
    p = [fitted.probability({"answer_vs_null": float(v)}) for v in z]
    assert sum(p) == pytest.approx(float(right.sum()), rel=0.02)  # the MLE's balance
    records = [_record(str(i), ["g"], "a", float(q), bool(r)) for i, (q, r) in enumerate(zip(p, right, strict=True))]
    bins = reliability(records, bins=2)
    assert sum(b.count for b in bins) == 400
    low = [r for r in records if r.confidence < 0.5]
    assert bins[0].accuracy == pytest.approx(sum(r.correct for r in low) / len(low))
