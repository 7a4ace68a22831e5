"""The official SQuAD 2.0 metrics against hand-computed values."""

from __future__ import annotations

import pytest

from eval.squad import SquadQuestion
from eval.squad_metrics import (
    compute_exact,
    compute_f1,
    gold_answers,
    normalize_answer,
    question_scores,
    raw_scores,
    squad_scores,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The Eiffel Tower!", "eiffel tower"),  # case, article, punctuation
        ("  Hello,\tWORLD \n", "hello world"),  # whitespace collapsed, trimmed
        ("an apple a day", "apple day"),  # every article, as whole words
        ("theory of an anthem", "theory of anthem"),  # articles inside words stay
        ("A.B.C.", "abc"),  # punctuation removed, not replaced by spaces
        ("The-cat", "thecat"),  # punctuation goes first, so "The" is no longer a whole word
        ("$1,000", "1000"),
        ("U.S.", "us"),
        ("Paris\u00a0France", "paris france"),  # Unicode whitespace splits
        ("ÉCOLE Normale", "école normale"),  # Unicode lowercase
        ("“Quoted” — text’s", "“quoted” — text’s"),  # only ASCII punctuation goes, as in the official script
        ("the", ""),
        ("", ""),
    ],
)
def test_normalize_answer(text: str, expected: str) -> None:
    assert normalize_answer(text) == expected


def test_exact_match_after_normalisation() -> None:
    assert compute_exact("The Eiffel Tower", "eiffel tower.") == 1
    assert compute_exact("U.S.", "US") == 1
    assert compute_exact("Eiffel Tower", "Eiffel Towers") == 0
    assert compute_exact("“Paris”", "Paris") == 0  # curly quotes are not string.punctuation
    assert compute_exact("", "") == 1
    assert compute_exact("", "Paris") == 0


def test_f1_partial_overlap_by_hand() -> None:
    # gold [eiffel, tower, in, paris], prediction [eiffel, tower]: P = 2/2, R = 2/4 → F1 = 2/3
    assert compute_f1("the Eiffel Tower in Paris", "Eiffel Tower") == pytest.approx(2 / 3)
    # gold [red, blue, green], prediction [blue, green, yellow, purple]: P = 2/4, R = 2/3 → F1 = 4/7
    assert compute_f1("red blue green", "blue green yellow purple") == pytest.approx(4 / 7)
    # repeated tokens count once per occurrence: common = min(3, 1) = 1; P = 1/3, R = 1/2 → F1 = 2/5
    assert compute_f1("new york", "new new new") == pytest.approx(2 / 5)
    assert compute_f1("Eiffel Tower", "the eiffel tower!") == 1.0
    assert compute_f1("Eiffel Tower", "Louvre") == 0.0


def test_f1_when_either_side_has_no_tokens() -> None:
    assert compute_f1("", "") == 1.0
    assert compute_f1("", "Paris") == 0.0
    assert compute_f1("Paris", "") == 0.0
    assert compute_f1("", "the") == 1.0  # "the" normalises to nothing: the same as abstaining


def test_gold_answers_keep_only_answers_with_tokens() -> None:
    assert gold_answers(["the", "  ", "Paris"]) == ["Paris"]
    assert gold_answers([]) == [""]
    assert gold_answers(["a"]) == [""]


def test_question_score_is_the_max_over_gold_answers() -> None:
    assert question_scores(("Paris", "the city of Paris"), "Paris") == (1, 1.0)
    exact, f1 = question_scores(("Eiffel Tower in Paris", "Paris"), "Eiffel Tower")
    assert (exact, f1) == (0, pytest.approx(2 / 3))
    exact, f1 = question_scores(("Eiffel Tower in Paris", "the tower"), "Eiffel Tower")
    # vs "the tower": [tower] against [eiffel, tower]: P = 1/2, R = 1 → F1 = 2/3; same max, still EM 0
    assert (exact, f1) == (0, pytest.approx(2 / 3))


def test_unanswerable_questions_official_handling() -> None:
    assert question_scores((), "") == (1, 1.0)  # abstaining on an unanswerable question is right
    assert question_scores((), "Paris") == (0, 0.0)  # any answer is wrong
    assert question_scores((), "a") == (1, 1.0)  # ...unless it normalises to nothing
    assert question_scores(("Paris",), "") == (0, 0.0)  # abstaining on an answerable one is wrong


def _q(qid: str, *answers: str) -> SquadQuestion:
    return SquadQuestion(qid, f"question {qid}?", answers, "Doc/0", "Doc")


def test_squad_scores_hand_computed() -> None:
    questions = [
        _q("q1", "Paris"),
        _q("q2", "Eiffel Tower in Paris"),
        _q("q3", "1066"),
        _q("q4"),
        _q("q5"),
    ]
    preds = {"q1": "Paris", "q2": "Eiffel Tower", "q3": "", "q4": "", "q5": "something"}
    exact, f1 = raw_scores(preds, questions)
    assert exact == {"q1": 1, "q2": 0, "q3": 0, "q4": 1, "q5": 0}
    assert f1 == {"q1": 1.0, "q2": pytest.approx(2 / 3), "q3": 0.0, "q4": 1.0, "q5": 0.0}
    scores = squad_scores(preds, questions)
    assert scores == {
        "exact": pytest.approx(40.0),  # 2 of 5
        "f1": pytest.approx(100 * (1 + 2 / 3 + 0 + 1 + 0) / 5),  # 53.33
        "total": 5,
        "HasAns_exact": pytest.approx(100 / 3),
        "HasAns_f1": pytest.approx(100 * (1 + 2 / 3) / 3),  # 55.56
        "HasAns_total": 3,
        "NoAns_exact": pytest.approx(50.0),
        "NoAns_f1": pytest.approx(50.0),
        "NoAns_total": 2,
    }


def test_always_abstaining_scores_the_unanswerable_share() -> None:
    questions = [_q("a", "x"), _q("b", "y"), _q("c"), _q("d"), _q("e"), _q("f", "z"), _q("g")]
    scores = squad_scores(dict.fromkeys((q.qid for q in questions), ""), questions)
    assert scores["exact"] == scores["f1"] == pytest.approx(100 * 4 / 7)
    assert (scores["HasAns_exact"], scores["NoAns_exact"]) == (0.0, 100.0)


def test_answerable_question_whose_answers_normalise_to_nothing() -> None:
    # Official: the gold list becomes [""] but the question still counts as HasAns (it has answers).
    questions = [_q("q1", "the")]
    scores = squad_scores({"q1": ""}, questions)
    assert (scores["HasAns_total"], scores["HasAns_exact"], scores["NoAns_total"]) == (1, 100.0, 0)


def test_missing_predictions_are_an_error_and_empty_parts_score_zero() -> None:
    with pytest.raises(ValueError, match="no prediction"):
        squad_scores({"q1": "Paris"}, [_q("q1", "Paris"), _q("q2")])
    scores = squad_scores({"q1": "Paris"}, [_q("q1", "Paris")])
    assert (scores["NoAns_total"], scores["NoAns_exact"], scores["NoAns_f1"]) == (0, 0.0, 0.0)
    assert scores["exact"] == scores["HasAns_exact"] == 100.0
