"""Eval sets: JSONL, one question a line, validated with line numbers.

``{"id": "...", "question": "...", "answers": ["acceptable span", ...], "doc": "doc id" | null}``;
``answers: []`` (and ``doc: null``) means the corpus does not answer the question. ``"review": true``
marks a case a reader reported wrong (``qa feedback export``): its answers, if any, are only proposed, and
without any it is **not** an unanswerable question but one whose answer nobody has given yet. Evaluation
skips review cases unless asked to include them (:func:`scorable`), and even then never counts one
without a gold answer as unanswerable.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from index.errors import QAError

SETS_DIR = Path(__file__).resolve().parent / "sets"


class EvalSetError(QAError):
    def __init__(self, path: Path, line: int, problem: str) -> None:
        super().__init__(f"{path}:{line}: {problem}")


@dataclass(frozen=True, slots=True)
class EvalQuestion:
    id: str
    question: str
    answers: tuple[str, ...]
    doc: str | None
    review: bool = False

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


def scorable(questions: list[EvalQuestion], include_review: bool = False) -> tuple[list[EvalQuestion], int]:
    """The questions an evaluation can score, and how many review cases it left out: review cases are
    left out unless ``include_review``, and those without a gold answer always are (nobody knows their
    answer yet; they are not unanswerable)."""
    kept = [q for q in questions if not q.review or (include_review and q.answerable)]
    return kept, len(questions) - len(kept)


def load_eval_set(path: Path) -> list[EvalQuestion]:
    questions: list[EvalQuestion] = []
    seen: set[str] = set()
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise EvalSetError(path, 0, f"cannot be read ({err})") from err
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise EvalSetError(path, number, f"not JSON ({err.msg})") from err
        if not isinstance(row, dict):
            raise EvalSetError(path, number, "not a JSON object")
        for key, kind in (("id", str), ("question", str), ("answers", list)):
            if not isinstance(row.get(key), kind):
                raise EvalSetError(path, number, f"'{key}' must be a {kind.__name__}")
        if not row["question"].strip():
            raise EvalSetError(path, number, "'question' is empty")
        if not all(isinstance(a, str) and a.strip() for a in row["answers"]):
            raise EvalSetError(path, number, "'answers' must hold non-empty strings")
        doc = row.get("doc")
        if doc is not None and not isinstance(doc, str):
            raise EvalSetError(path, number, "'doc' must be a document id or null")
        review = row.get("review", False)
        if not isinstance(review, bool):
            raise EvalSetError(path, number, "'review' must be true or false")
        if row["answers"] and doc is None and not review:
            raise EvalSetError(path, number, "an answerable question needs its 'doc'")
        if row["id"] in seen:
            raise EvalSetError(path, number, f"duplicate id {row['id']!r}")
        seen.add(row["id"])
        questions.append(EvalQuestion(row["id"], row["question"], tuple(row["answers"]), doc, review))
    if not questions:
        raise EvalSetError(path, 0, "holds no question")
    return questions
