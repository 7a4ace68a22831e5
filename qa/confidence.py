"""How sure the reader is: the calibrated probability that its answer is right, and when to abstain.

The confidence model is a logistic regression on the reader's own scores, by name (``features``,
from :attr:`qa.reading.GroupReading.features`): P(the answer, or the sentence it stands in, holds a
right answer). It is fitted by ``qa eval --calibrate`` on the civic dev questions the reader never
trained on (:func:`eval.qa_data.civic_part`) and stored as plain JSON in ``qa/models/calibration.json``
with its provenance.

It answers when the confidence is above the **operating point** chosen on the dev questions at
calibration (the lowest threshold at which the dev questions' unanswerable ones were abstained on at
least :data:`ABSTAIN_TARGET` of the time: the fewest answerable questions wrongly abstained on for that;
stored beside the model). Without one, or when ``QA_WRONG_ANSWER_COST`` is set, abstaining is an
expected-value decision: a right answer gains 1 and a wrong one loses ``cost``, so answering pays when
``confidence > cost / (1 + cost)``.

An answer given is **sure** when its confidence reaches ``sure``, the lowest confidence above which
the calibration questions' answer **spans** (the bold answer a person reads, not its sentence) were
right at least :data:`SURE_ACCURACY` of the time (found by
:func:`sure_threshold` at calibration, stored beside the model); below it, it is a **possible**
answer, to check against its source. The bands come from the calibration, never from a number
picked by hand.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from index.atomic import write_file
from index.errors import ReaderModelError

CALIBRATION_PATH = Path(__file__).resolve().parent / "models" / "calibration.json"
WITHIN_SPREAD = 4.0  # how far (in fitted standard deviations) the model reads its inputs
SURE_ACCURACY = 0.95  # a "sure" answer's span was right at least this often on the calibration questions
ABSTAIN_TARGET = 0.8  # the operating point abstains on at least this share of the dev unanswerable questions
# Questions in another script (Roman Urdu) get their own operating point: the highest threshold that still answers
# this share of that script's answerable dev questions (the confidence, fitted on English, barely separates their
# unanswerable ones, so the English rule would refuse half the answerable ones).
ANSWER_TARGET = 0.8
SURE_MIN_ANSWERS = 10  # ... among at least this many of them
BANDS = ("sure", "possible")


@dataclass(frozen=True, slots=True)
class Confidence:
    """``p = sigmoid(((x - mean) / scale) · weights + bias)`` over the named reader scores ``x``."""

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float
    cost: float = 1.0
    provenance: dict[str, Any] = field(default_factory=dict, compare=False)
    sure: float | None = None  # the confidence from which an answer is "sure" (None: uncalibrated, none is)
    operating: float | None = None  # the threshold chosen on dev (None: the cost's break-even)
    by_script: tuple[tuple[str, float], ...] = ()  # operating points of questions in other scripts (qa.language)

    @property
    def threshold(self) -> float:
        """Answer above this: the operating point chosen on dev, else ``cost / (1 + cost)``."""
        return self.operating if self.operating is not None else self.cost / (1.0 + self.cost)

    def threshold_for(self, script: str) -> float:
        """The threshold of a question written in ``script`` (:func:`qa.language.script_of`): its own operating
        point when the calibration chose one, else :attr:`threshold`."""
        return dict(self.by_script).get(script, self.threshold)

    def band(self, probability: float, *, fits: bool = True) -> str:
        """``sure`` or ``possible``: how an answer given with this confidence is shown. A span not of the
        kind its question asks for (``fits`` false, :func:`qa.answer_type.fits`) is never sure."""
        sure = fits and self.sure is not None and probability >= max(self.sure, self.threshold)
        return "sure" if sure else "possible"

    def vector(self, scores: Mapping[str, float]) -> np.ndarray:
        return np.array([scores[name] for name in self.features], dtype=np.float64)

    def logit(self, scores: Mapping[str, float]) -> float:
        """The model's logit; each input is read within ``WITHIN_SPREAD`` standard deviations of what the
        fit saw, so a score far outside it is not extrapolated into certainty."""
        x = self.vector(scores)
        x = np.clip(x, self.mean - WITHIN_SPREAD * self.scale, self.mean + WITHIN_SPREAD * self.scale)
        return float(((x - self.mean) / self.scale) @ self.weights + self.bias)

    def probability(self, scores: Mapping[str, float]) -> float:
        z = max(-30.0, min(30.0, self.logit(scores)))
        return 1.0 / (1.0 + math.exp(-z))

    def with_cost(self, cost: float) -> Confidence:
        """The same model deciding at the break-even of ``cost`` (the operating point no longer applies)."""
        return replace(self, cost=cost, operating=None, by_script=())

    def with_sure(self, sure: float | None) -> Confidence:
        return replace(self, sure=sure)

    def with_operating(self, threshold: float | None, by_script: Mapping[str, float] | None = None) -> Confidence:
        return replace(self, operating=threshold, by_script=tuple(sorted((by_script or {}).items())))

    @classmethod
    def threshold_on(cls, feature: str, value: float) -> Confidence:
        """Answer exactly when ``feature > value`` (probability 0.5 at ``value``): SQuAD's single threshold."""
        one = np.ones(1)
        return cls((feature,), np.zeros(1), one * 1e6, one * 1e6, -value, 1.0, {"threshold_on": [feature, value]})

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Confidence:
        return cls(
            tuple(data["features"]),
            np.asarray(data["mean"], dtype=np.float64),
            np.asarray(data["scale"], dtype=np.float64),
            np.asarray(data["weights"], dtype=np.float64),
            float(data["bias"]),
            float(data.get("cost", 1.0)),
            dict(data.get("provenance", {})),
            _optional_float(dict(data.get("bands") or {}).get("sure")),
            _optional_float(dict(data.get("operating_point") or {}).get("threshold")),
            tuple(
                sorted(
                    (str(k), float(v))
                    for k, v in dict(dict(data.get("operating_point") or {}).get("by_script") or {}).items()
                )
            ),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "mean": [round(float(v), 6) for v in self.mean],
            "scale": [round(float(v), 6) for v in self.scale],
            "weights": [round(float(v), 6) for v in self.weights],
            "bias": round(float(self.bias), 6),
            "cost": self.cost,
            "threshold": round(self.threshold, 4),
            "operating_point": {
                "threshold": None if self.operating is None else round(self.operating, 4),
                "rule": f"the lowest threshold abstaining on at least {ABSTAIN_TARGET:.0%} of the dev unanswerable "
                "questions",
                "by_script": {script: round(t, 4) for script, t in self.by_script},
                "by_script_rule": f"the highest threshold answering at least {ANSWER_TARGET:.0%} of that script's "
                "answerable dev questions",
            },
            "bands": {
                "sure": None if self.sure is None else round(self.sure, 4),
                "sure_accuracy": SURE_ACCURACY,
                "judged_by": "the answer span",
            },
            "provenance": self.provenance,
        }


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


def answering_threshold(
    probabilities: Sequence[float], answerable: Sequence[bool], *, target: float = ANSWER_TARGET, step: float = 0.01
) -> float | None:
    """The highest threshold (on a grid of ``step``) at which at least ``target`` of the answerable questions'
    confidences are above it: the most abstention that still answers that share. None without answerable ones."""
    answered = [p for p, a in zip(probabilities, answerable, strict=True) if a]
    if not answered:
        return None
    best = 0.0
    for k in range(round(1 / step) + 1):
        t = k * step
        if sum(p > t for p in answered) >= target * len(answered):
            best = t
        else:
            break
    return round(best, 4)


def operating_threshold(
    probabilities: Sequence[float], answerable: Sequence[bool], *, target: float = ABSTAIN_TARGET, step: float = 0.01
) -> float | None:
    """The lowest threshold (on a grid of ``step``) at which at least ``target`` of the unanswerable questions'
    confidences are not above it: abstaining there costs the fewest answerable questions. None without
    unanswerable questions."""
    unanswerable = sorted(p for p, a in zip(probabilities, answerable, strict=True) if not a)
    if not unanswerable:
        return None
    for k in range(round(1 / step) + 1):
        t = k * step
        if sum(p <= t for p in unanswerable) >= target * len(unanswerable):
            return round(t, 4)
    return 1.0


def sure_threshold(
    probabilities: Sequence[float],
    right: Sequence[bool],
    *,
    accuracy: float = SURE_ACCURACY,
    min_answers: int = SURE_MIN_ANSWERS,
) -> float | None:
    """The lowest confidence ``t`` such that the answers with confidence ``>= t`` were right at least
    ``accuracy`` of the time, counting at least ``min_answers`` of them; None when no ``t`` does."""
    order = sorted(zip(probabilities, right, strict=True), key=lambda pair: -pair[0])
    best, hits = None, 0
    for n, (p, ok) in enumerate(order, 1):
        hits += bool(ok)
        last_of_tie = n == len(order) or order[n][0] != p
        if last_of_tie and n >= min_answers and hits / n >= accuracy:
            best = p
    return best


def fit_confidence(
    x: np.ndarray, y: np.ndarray, features: Sequence[str], *, l2: float = 1.0, cost: float = 1.0, iters: int = 50
) -> Confidence:
    """L2-regularised logistic regression (Newton's method on standardised inputs)."""
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    z = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
    w = np.zeros(z.shape[1])
    reg = np.full(z.shape[1], l2)
    reg[-1] = 0.0
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-np.clip(z @ w, -30, 30)))
        grad = z.T @ (p - y) + reg * w
        hess = (z * (p * (1 - p))[:, None]).T @ z + np.diag(reg) + 1e-9 * np.eye(len(w))
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return Confidence(tuple(features), mean, scale, w[:-1], float(w[-1]), cost)


def load_confidence(path: Path = CALIBRATION_PATH) -> Confidence | None:
    """The confidence model at ``path``; None when there is no file. A file that cannot be read as one
    is an error naming it: serving must not quietly fall back to an uncalibrated decision."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as err:
        raise ReaderModelError(path, f"cannot read the confidence model ({err.strerror or err})") from err
    try:
        confidence = Confidence.from_json(json.loads(text))
        if not len(confidence.features) == len(confidence.mean) == len(confidence.scale) == len(confidence.weights):
            raise ValueError("features, mean, scale and weights differ in length")
    except (ValueError, KeyError, TypeError) as err:
        raise ReaderModelError(
            path,
            f"not a confidence model ({err}); restore it with `git checkout` or refit it with `qa eval --calibrate`",
        ) from err
    return confidence


@lru_cache(maxsize=1)
def default_confidence() -> Confidence:
    """The shipped confidence model; without one, the reader's own answer-vs-null odds (uncalibrated)."""
    return load_confidence() or Confidence.threshold_on("answer_vs_null", 0.0).with_cost(1.0)


def write_confidence(confidence: Confidence, path: Path = CALIBRATION_PATH) -> None:
    write_file(path, json.dumps(confidence.to_json(), indent=2) + "\n")
    default_confidence.cache_clear()


def decide(
    probability: float | None, confidence: Confidence, threshold: float | None = None, script: str = "en"
) -> bool:
    """The reader's one decision: answer, or abstain?

    ``probability`` is the calibrated probability that a reading's answer is right (:meth:`Confidence.probability`
    of its scores; None: nothing was read). It answers when the probability is above ``threshold`` (default: the
    confidence model's operating point for a question in ``script``, :meth:`Confidence.threshold_for`); a
    threshold of 0 or less never abstains. Serving, evaluation and the SQuAD benchmark all decide here.
    """
    if probability is None:
        return False
    t = confidence.threshold_for(script) if threshold is None else threshold
    return t <= 0 or probability > t
