"""SQuAD 2.0 reader-only evaluation end to end on a tiny SQuAD-format file, with the real reader.

Its two articles carry the titles of a dev article ("Pharmacy": chooses the threshold) and a test
article ("Rhine": scored), so the fixed split of ``eval.squad`` applies to it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from eval import squad
from eval.squad_eval import Read, SquadReport, best_threshold, format_report, run, write_official
from eval.squad_metrics import squad_scores
from index.errors import QAError
from qa.reader_model import ReaderModel

LIGHTHOUSE_0 = (
    "The Kestrel Point lighthouse was built in 1872 by the engineer Margaret Fell. It stands on a granite "
    "headland north of the harbour. Its lamp was converted to electricity in 1931."
)
LIGHTHOUSE_1 = (
    "The lighthouse keeper lived in a cottage beside the tower. The last keeper, Thomas Grey, left in 1968 "
    "when the light became automatic. Visitors can climb the 112 steps on summer weekends."
)
BAKERY_0 = (
    "Halden Bakery opened on Mill Street in 1990. Its founder, Ines Varga, trained as a pastry chef in Vienna. "
    "The bakery is famous for its rye bread."
)
BAKERY_1 = (
    "Every morning the bakery sells about 400 loaves. It closes on Mondays. A second shop opened in the "
    "town of Brennick in 2015."
)


def _qa(qid: str, question: str, answers: list[str], context: str) -> dict:
    if not answers:
        return {"id": qid, "question": question, "answers": [], "is_impossible": True, "plausible_answers": []}
    spans = [{"text": a, "answer_start": context.index(a)} for a in answers]
    return {"id": qid, "question": question, "answers": spans, "is_impossible": False}


SQUAD = {
    "version": "v2.0",
    "data": [
        {
            "title": "Pharmacy",
            "paragraphs": [
                {
                    "context": LIGHTHOUSE_0,
                    "qas": [
                        _qa("l1", "Who built the Kestrel Point lighthouse?", ["Margaret Fell"], LIGHTHOUSE_0),
                        _qa("l2", "When was the lamp converted to electricity?", ["1931"], LIGHTHOUSE_0),
                        _qa("l3", "Who painted the Kestrel Point lighthouse red?", [], LIGHTHOUSE_0),
                    ],
                },
                {
                    "context": LIGHTHOUSE_1,
                    "qas": [
                        _qa("l4", "How many steps can visitors climb?", ["112", "the 112 steps"], LIGHTHOUSE_1),
                    ],
                },
            ],
        },
        {
            "title": "Rhine",
            "paragraphs": [
                {
                    "context": BAKERY_0,
                    "qas": [
                        _qa("b1", "Where did Ines Varga train as a pastry chef?", ["Vienna"], BAKERY_0),
                        _qa("b2", "When did Halden Bakery close for good?", [], BAKERY_0),
                    ],
                },
                {
                    "context": BAKERY_1,
                    "qas": [
                        _qa("b3", "How many loaves does the bakery sell every morning?", ["about 400"], BAKERY_1),
                        _qa("b4", "How much does a rye loaf cost?", [], BAKERY_1),
                    ],
                },
            ],
        },
    ],
}
CONTEXTS = {"Pharmacy/0": LIGHTHOUSE_0, "Pharmacy/1": LIGHTHOUSE_1, "Rhine/0": BAKERY_0, "Rhine/1": BAKERY_1}


@pytest.fixture(scope="module")
def squad_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("squad")
    path = folder / "tiny-v2.0.json"
    path.write_text(json.dumps(SQUAD), encoding="utf-8")
    return path


def _run(squad_file: Path, model: ReaderModel, **kwargs: Any) -> SquadReport:
    return run(squad_file, model, **kwargs)


def test_run_reports_official_metrics_on_the_test_articles(
    squad_file: Path, reader_model: ReaderModel, tmp_path: Path
) -> None:
    report = _run(squad_file, reader_model, progress=True)
    _, questions, _ = squad.load_squad(squad_file)
    chosen = squad.questions_of(questions, "test")
    assert [q.qid for q in chosen] == ["b1", "b2", "b3", "b4"]
    assert (report.articles, report.questions, report.answerable, report.unanswerable) == (1, 4, 2, 2)
    assert "dev articles" in report.threshold_from
    s = report.scores
    assert s["total"] == s["HasAns_total"] + s["NoAns_total"] == report.questions
    assert s == squad_scores(report.predictions, chosen)
    assert report.always_abstain["exact"] == report.always_abstain["f1"] == 50.0
    assert report.forced_scores["HasAns_f1"] >= report.scores["HasAns_f1"]
    assert report.best_scores["f1"] >= report.scores["f1"] - 1e-9  # the oracle threshold is the best here
    for q in chosen:
        assert report.predictions[q.qid] == "" or report.predictions[q.qid] in CONTEXTS[q.doc_id]
        assert 0.0 <= report.na_probs[q.qid] <= 1.0
    # the reader reads: "Vienna", and "400" for the gold "about 400" (EM 0, F1 0.67 by the official rules)
    assert report.predictions["b1"] == "Vienna" and "400" in report.predictions["b3"]
    assert report.forced_scores["HasAns_f1"] > 80.0

    predictions, na_probs, data = write_official(report, tmp_path / "official")
    assert json.loads(predictions.read_text(encoding="utf-8")) == report.predictions
    assert set(json.loads(na_probs.read_text(encoding="utf-8"))) == set(report.predictions)
    kept = json.loads(data.read_text(encoding="utf-8"))["data"]
    assert [a["title"] for a in kept] == ["Rhine"]
    assert sorted(qa["id"] for a in kept for p in a["paragraphs"] for qa in p["qas"]) == sorted(report.predictions)

    text = format_report(report)
    assert "| system | EM | F1 | HasAns EM | HasAns F1 | NoAns (abstained) |" in text
    assert "| always abstain (these questions) | 50.0 | 50.0 |" in text
    assert "| 76.2 | 79.6 |" in text and "| 86.8 | 89.5 |" in text
    assert "1 articles, 4 questions (2 answerable, 2 unanswerable)" in text


def test_a_given_threshold_and_limits(squad_file: Path, reader_model: ReaderModel) -> None:
    never = _run(squad_file, reader_model, part="all", threshold=1e9)
    assert set(never.predictions.values()) == {""} and never.scores == never.always_abstain
    always = _run(squad_file, reader_model, part="all", threshold=-1e9, limit=3)
    assert always.questions == 3 and list(always.predictions) == ["l1", "l2", "l3"]
    assert always.scores == always.forced_scores and always.scores["NoAns_exact"] == 0.0
    with pytest.raises(QAError, match="no questions of the 'train' articles"):
        _run(squad_file, reader_model, part="train")
    with pytest.raises(ValueError, match="limit"):
        _run(squad_file, reader_model, limit=0)
    with pytest.raises(ValueError, match="part"):
        squad.questions_of([], "validation")


def test_the_best_threshold_maximises_official_f1_by_hand() -> None:
    qs = [
        squad.SquadQuestion("a", "?", ("x",), "d", "t"),
        squad.SquadQuestion("b", "?", (), "d", "t"),
        squad.SquadQuestion("c", "?", ("z",), "d", "t"),
    ]
    reads = {"a": Read("x", 3.0), "b": Read("y", 1.0), "c": Read("w", 2.0)}  # c is answered wrong
    threshold, f1 = best_threshold(reads, qs)
    assert 2.0 < threshold < 3.0 and f1 == pytest.approx(100 * 2 / 3)  # answer a only: a right, b abstained


def test_the_article_split_is_fixed_and_disjoint() -> None:
    parts = (squad.TRAIN_TITLES, squad.DEV_TITLES, squad.TEST_TITLES)
    assert sum(len(p) for p in parts) == 35 and len(set().union(*parts)) == 35
