"""The script a question is written in, and the operating point that follows from it."""

from __future__ import annotations

import numpy as np
import pytest

from qa.confidence import Confidence, answering_threshold, decide
from qa.language import script_of


@pytest.mark.parametrize(
    ("question", "script"),
    [
        ("When did KP approve its cloud first policy?", "en"),
        ("Who chaired the March meeting?", "en"),
        ("How much does it cost to register a birth?", "en"),
        ("What does the symbol Se stand for?", "en"),  # one Urdu-looking word is not enough
        ("KP ki Cloud First policy kab approve hui thi?", "ur-Latn"),
        ("pehchaan app kahan se download karein", "ur-Latn"),
        ("TICTeC civic tech surgeries kitne mahine chalengi", "ur-Latn"),
        ("کے پی کی کلاؤڈ فرسٹ پالیسی کب منظور ہوئی؟", "ur"),
        ("'we need more design doing' کس نے کہا تھا", "ur"),  # an English quotation inside an Urdu question
    ],
)
def test_script_of(question: str, script: str) -> None:
    assert script_of(question) == script


def test_a_roman_urdu_question_is_decided_at_its_own_operating_point() -> None:
    confidence = Confidence.threshold_on("answer_vs_null", 0.0).with_operating(0.42, {"ur-Latn": 0.12})
    assert confidence.threshold_for("en") == 0.42 and confidence.threshold_for("ur") == 0.42
    assert confidence.threshold_for("ur-Latn") == 0.12
    p = confidence.probability({"answer_vs_null": -1.5})
    assert p == pytest.approx(0.18, abs=0.01)  # above 0.12, under 0.42
    assert decide(p, confidence, script="ur-Latn") is True
    assert decide(p, confidence, script="en") is False
    assert decide(p, confidence, 0.5, script="ur-Latn") is False  # an explicit threshold wins
    assert confidence.with_cost(3.0).threshold_for("ur-Latn") == 0.75  # a cost replaces every operating point


def test_the_script_operating_points_survive_the_calibration_file() -> None:
    confidence = Confidence.threshold_on("answer_vs_null", 0.0).with_operating(0.42, {"ur-Latn": 0.12})
    again = Confidence.from_json(confidence.to_json())
    assert again.threshold_for("ur-Latn") == 0.12 and again.threshold == 0.42


def test_answering_threshold_keeps_the_target_share_of_answerable_questions_answered() -> None:
    p = np.array([0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.02, 0.03])
    answerable = [True] * 10 + [False, False]
    t = answering_threshold(p.tolist(), answerable, target=0.8)
    assert t is not None and sum(p[:10] > t) >= 8 and sum(p[:10] > t + 0.01) < 8
