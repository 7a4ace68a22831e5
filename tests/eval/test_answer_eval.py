from __future__ import annotations

from pathlib import Path

import numpy as np

from eval import latency_bench
from eval.answer_eval import contains_gold, evaluate, normalize
from eval.sets import EvalQuestion
from eval.train_reader import fit_listwise, fit_logistic
from index.embed import Embedder
from index.store import Index, build
from qa.retriever import Retriever
from qa.settings import Settings


def test_normalize_quotes_case_and_spaces() -> None:
    assert normalize("  KP’s  “Digital”\nPolicy ") == 'kp\'s "digital" policy'


def test_evaluate_counts_answers_and_abstentions(corpus: Path, tmp_path: Path, embedder: Embedder) -> None:
    build([corpus], tmp_path / "idx", embedder=embedder)
    retriever = Retriever(Index.load(tmp_path / "idx"), embedder)
    questions = [
        EvalQuestion("a1", "Which SMS short code reaches the identity service?", ("8070",), "pehchaan.md"),
        EvalQuestion("a2", "In which month does the fellowship cohort start?", ("July",), "fellowship.txt"),
        EvalQuestion("u1", "How much money did the World Bank give the hackathon winners?", (), None),
    ]
    report = evaluate(questions, retriever)
    assert (report.answerable, report.unanswerable) == (2, 1)
    rows = {q.id: r for q, r, _ in report.rows}
    right = sum(contains_gold(rows[q.id], q.answers) for q in questions[:2])
    assert report.answer_accuracy == right / 2
    assert report.abstention_accuracy == float(rows["u1"].no_answer)
    assert report.overall == (right + rows["u1"].no_answer) / 3
    assert report.sentence_accuracy_if_forced >= report.answer_accuracy


def test_fit_logistic_finds_the_separating_feature() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 3))
    y = (x[:, 1] > 0).astype(float)
    model = fit_logistic(x, y, ("a", "b", "c"))
    assert model.weights[1] > 3 * max(abs(model.weights[0]), abs(model.weights[2]))
    p = 1 / (1 + np.exp(-model.logit(x)))
    assert ((p > 0.5) == (y > 0.5)).mean() > 0.95


def test_fit_listwise_ranks_the_gold_candidate_first() -> None:
    rng = np.random.default_rng(1)
    groups = []
    for _ in range(60):
        x = rng.normal(size=(8, 2))
        y = np.zeros(8, dtype=bool)
        y[int(np.argmax(x[:, 0]))] = True  # the gold candidate is the one with the largest first feature
        groups.append((x, y))
    model = fit_listwise(groups, ("signal", "noise"), iters=300)
    top1 = np.mean([y[int(np.argmax(model.logit(x)))] for x, y in groups])
    assert top1 > 0.9 and model.weights[0] > abs(model.weights[1])


def test_latency_bench_runs_against_a_live_server(corpus: Path, tmp_path: Path, embedder: Embedder) -> None:
    build([corpus], tmp_path / "idx", embedder=embedder)
    report = latency_bench.run(Settings(index_dir=tmp_path / "idx"), ["What is Pehchaan?"] * 3, warmup=1)
    assert report.requests == 3 and report.p50_ms > 0 and report.p95_ms >= report.p50_ms
    assert set(report.stages_p50_ms) == {"encode", "search", "extract"}
