"""SQuAD 2.0 reader-only evaluation end to end on a tiny SQuAD-format file, with the real model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from eval import squad
from eval.squad_eval import SquadReport, format_report, run, sentence_holds_gold
from eval.squad_metrics import squad_scores
from index.chunking import ChunkSettings
from index.embed import Embedder
from qa.errors import QAError

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
            "title": "Lighthouse",
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
            "title": "Bakery",
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
CONTEXTS = {"Lighthouse/0": LIGHTHOUSE_0, "Lighthouse/1": LIGHTHOUSE_1, "Bakery/0": BAKERY_0, "Bakery/1": BAKERY_1}


@pytest.fixture(scope="module")
def squad_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("squad")
    path = folder / "tiny-v2.0.json"
    path.write_text(json.dumps(SQUAD), encoding="utf-8")
    return path


def _run(squad_file: Path, embedder: Embedder, **kwargs: Any) -> SquadReport:
    return run(squad_file, embedder=embedder, cache_dir=squad_file.parent / "cache", chunking=ChunkSettings(), **kwargs)


def test_run_reports_official_metrics_on_the_test_articles(squad_file: Path, embedder: Embedder) -> None:
    report = _run(squad_file, embedder, part="test", train_articles=1, progress=True)
    _, questions, titles = squad.load_squad(squad_file)
    chosen = squad.split(questions, titles, "test", train_articles=1)
    assert [q.qid for q in chosen] == ["b1", "b2", "b3", "b4"]
    assert (report.articles, report.paragraphs, report.questions) == (1, 2, 4)
    assert (report.answerable, report.unanswerable) == (2, 2)
    s = report.scores
    assert s["total"] == s["HasAns_total"] + s["NoAns_total"] == report.questions
    assert (s["HasAns_total"], s["NoAns_total"]) == (report.answerable, report.unanswerable)
    assert s == squad_scores(report.predictions, chosen)
    assert report.forced_scores == squad_scores(report.forced_predictions, chosen)
    assert report.always_abstain["exact"] == report.always_abstain["f1"] == 50.0
    assert report.abstained_unanswerable == s["NoAns_exact"]


def test_run_end_to_end_on_every_article(squad_file: Path, embedder: Embedder) -> None:
    report = _run(squad_file, embedder, part="all")
    _, questions, _ = squad.load_squad(squad_file)
    assert (report.articles, report.paragraphs, report.questions) == (2, 4, 8)
    assert (report.answerable, report.unanswerable) == (5, 3)
    for scores in (report.scores, report.forced_scores, report.always_abstain):
        assert scores["total"] == scores["HasAns_total"] + scores["NoAns_total"] == 8
        for key in ("exact", "f1", "HasAns_exact", "HasAns_f1", "NoAns_exact", "NoAns_f1"):
            assert 0.0 <= scores[key] <= 100.0
        assert scores["exact"] <= scores["f1"] + 1e-9
    assert report.scores == squad_scores(report.predictions, questions)
    assert report.always_abstain["exact"] == pytest.approx(100 * 3 / 8)
    assert 0.0 <= report.threshold <= 1.0  # chosen on the training articles for SQuAD's own prior
    for q in questions:
        forced, sentence = report.forced_predictions[q.qid], report.forced_sentences[q.qid]
        assert forced and forced in sentence and sentence in CONTEXTS[q.doc_id]  # an extract of its own paragraph
        assert report.predictions[q.qid] in ("", forced)  # the threshold only decides whether to abstain
    # The gold strings of this file are plain words: containment in the raw sentence is the same test.
    in_sentence = sum(any(a in report.forced_sentences[q.qid] for a in q.answers) for q in questions if q.answers)
    assert report.answer_in_sentence == pytest.approx(100 * in_sentence / 5)
    abstained = [q for q in questions if q.answers and report.predictions[q.qid] == ""]
    assert report.abstained_answerable == pytest.approx(100 * len(abstained) / 5)

    text = format_report(report)
    assert "| system | EM | F1 | HasAns EM | HasAns F1 | NoAns (abstained) |" in text
    assert f"| always abstain (computed on these questions) | {100 * 3 / 8:.1f} | {100 * 3 / 8:.1f} |" in text
    assert "| 76.2 | 79.6 |" in text and "| 86.8 | 89.5 |" in text
    assert f"{report.scores['exact']:.1f} | {report.scores['f1']:.1f}" in text
    assert "2 articles, 4 paragraphs, 8 questions (5 answerable, 3 unanswerable)" in text


def test_thresholds_one_and_zero(squad_file: Path, embedder: Embedder) -> None:
    never = _run(squad_file, embedder, part="all", threshold=1.0)  # the confidence is always below 1
    assert set(never.predictions.values()) == {""}
    assert never.scores == never.always_abstain
    always = _run(squad_file, embedder, part="all", threshold=0.0, limit=3)
    assert always.questions == 3 and list(always.predictions) == ["l1", "l2", "l3"]
    assert always.predictions == always.forced_predictions and always.scores == always.forced_scores
    assert always.scores["NoAns_exact"] == 0.0  # it answered the unanswerable l3


def test_split_and_run_arguments(squad_file: Path, embedder: Embedder) -> None:
    _, questions, titles = squad.load_squad(squad_file)
    assert [q.qid for q in squad.split(questions, titles, "train", train_articles=1)] == ["l1", "l2", "l3", "l4"]
    assert squad.split(questions, titles, "test") == []  # TRAIN_ARTICLES (6) covers both articles
    assert len(squad.split(questions, titles, "train")) == 8
    assert len(squad.split(questions, titles, "all")) == 8
    with pytest.raises(ValueError, match="part"):
        squad.split(questions, titles, "dev")
    with pytest.raises(QAError, match="no questions in part 'test'"):
        _run(squad_file, embedder)
    with pytest.raises(ValueError, match="limit"):
        _run(squad_file, embedder, limit=0)


def test_sentence_holds_gold_needs_whole_normalised_tokens() -> None:
    sentence = "The lamp was converted in 1931, by the Harbour Board."
    assert sentence_holds_gold(sentence, ("1931",))
    assert sentence_holds_gold(sentence, ("the harbour board",))  # case, article
    assert sentence_holds_gold(sentence, ("nothing", "Harbour Board."))  # any gold answer, punctuation
    assert not sentence_holds_gold(sentence, ("193",))  # part of a token is not enough
    assert not sentence_holds_gold(sentence, ("Board Harbour",))
    assert not sentence_holds_gold(sentence, ())  # unanswerable: never "in the sentence"
    assert not sentence_holds_gold(sentence, ("the",))  # normalises to nothing
