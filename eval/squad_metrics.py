"""The official SQuAD 2.0 metrics, with the definitions of ``evaluate-v2.0.py``.

- ``normalize_answer``: lowercase, drop ASCII punctuation (``string.punctuation`` only: curly
  quotes, dashes and other Unicode punctuation are *kept*, as in the official script), drop the
  articles a/an/the as whole words, collapse whitespace. The steps run in that order, so
  ``"The-cat"`` becomes ``"thecat"`` (the hyphen goes before articles are looked for).
- ``compute_exact``: 1 when the normalised strings are equal.
- ``compute_f1``: token-level F1 of the normalised strings; when either side has no tokens, 1 if
  both have none, else 0.
- A question scores the max over its gold answers. The gold answers are those that normalise to
  something; a question with none (an unanswerable one) has the single gold answer ``""``, so the
  empty prediction (abstaining) scores 1 and any prediction with a token scores 0.
- ``squad_scores`` aggregates as the official script does without a no-answer probability file:
  ``exact``/``f1`` are percentages (0-100) over all questions, ``HasAns_*`` over the questions
  that have answers in the file, ``NoAns_*`` over the others.
"""

from __future__ import annotations

import collections
import re
import string
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

_PUNCTUATION = frozenset(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)


class Question(Protocol):
    """What the metrics need of a question (``eval.squad.SquadQuestion`` fits)."""

    @property
    def qid(self) -> str: ...

    @property
    def answers(self) -> Sequence[str]: ...  # empty: unanswerable


def normalize_answer(s: str) -> str:
    """Lowercase, remove punctuation, articles and extra whitespace (the official order)."""
    s = s.lower()
    s = "".join(ch for ch in s if ch not in _PUNCTUATION)
    s = _ARTICLES.sub(" ", s)
    return " ".join(s.split())


def get_tokens(s: str) -> list[str]:
    return normalize_answer(s).split() if s else []


def compute_exact(a_gold: str, a_pred: str) -> int:
    return int(normalize_answer(a_gold) == normalize_answer(a_pred))


def compute_f1(a_gold: str, a_pred: str) -> float:
    gold_toks, pred_toks = get_tokens(a_gold), get_tokens(a_pred)
    if not gold_toks or not pred_toks:
        # If either is no-answer, F1 is 1 if they agree, 0 otherwise.
        return float(gold_toks == pred_toks)
    num_same = sum((collections.Counter(gold_toks) & collections.Counter(pred_toks)).values())
    if num_same == 0:
        return 0.0
    precision, recall = num_same / len(pred_toks), num_same / len(gold_toks)
    return 2 * precision * recall / (precision + recall)


def gold_answers(answers: Iterable[str]) -> list[str]:
    """The answers that normalise to something, or ``[""]`` (the only right answer is to abstain)."""
    return [a for a in answers if normalize_answer(a)] or [""]


def question_scores(answers: Iterable[str], prediction: str) -> tuple[int, float]:
    """(exact, f1) of one prediction: the max over the gold answers."""
    golds = gold_answers(answers)
    return max(compute_exact(a, prediction) for a in golds), max(compute_f1(a, prediction) for a in golds)


def raw_scores(
    predictions: Mapping[str, str], questions: Sequence[Question]
) -> tuple[dict[str, int], dict[str, float]]:
    """Per-question exact and F1 scores, keyed by question id; every question needs a prediction."""
    missing = [q.qid for q in questions if q.qid not in predictions]
    if missing:
        raise ValueError(f"{len(missing)} question(s) have no prediction, e.g. {missing[:3]}; use '' to abstain")
    exact, f1 = {}, {}
    for q in questions:
        exact[q.qid], f1[q.qid] = question_scores(q.answers, predictions[q.qid])
    return exact, f1


def squad_scores(predictions: Mapping[str, str], questions: Sequence[Question]) -> dict[str, float | int]:
    """The official summary: exact, f1, total, and the same for HasAns_ and NoAns_ (percentages 0-100).

    Unlike the official script, which leaves out the ``HasAns_``/``NoAns_`` keys when a part is
    empty, every key is always present; an empty part scores 0.0 with a total of 0.
    """
    exact, f1 = raw_scores(predictions, questions)
    has_ans = [q.qid for q in questions if q.answers]
    no_ans = [q.qid for q in questions if not q.answers]
    out: dict[str, float | int] = {}
    for prefix, qids in (("", [q.qid for q in questions]), ("HasAns_", has_ans), ("NoAns_", no_ans)):
        out[f"{prefix}exact"] = 100.0 * sum(exact[k] for k in qids) / len(qids) if qids else 0.0
        out[f"{prefix}f1"] = 100.0 * sum(f1[k] for k in qids) / len(qids) if qids else 0.0
        out[f"{prefix}total"] = len(qids)
    return out
