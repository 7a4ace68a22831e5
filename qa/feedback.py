"""Readers' verdicts on answers ("Right" / "Wrong", an optional note), kept in SQLite beside the index.

Nothing is stored unless a reader sends feedback; then the question, the answer shown (text, document,
offsets), the verdict and the note are. ``export_cases`` turns them into eval-set lines (the format of
``eval/sets``), the wrong ones marked for review: what users report becomes test cases.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from index.errors import QAError

VERDICTS = ("right", "wrong")
SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    question TEXT NOT NULL,
    verdict TEXT NOT NULL CHECK (verdict IN ('right', 'wrong')),
    answer TEXT NOT NULL,
    doc_id TEXT NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    note TEXT NOT NULL DEFAULT ''
)
"""


class FeedbackError(QAError):
    """The feedback store cannot be read or written."""


@dataclass(frozen=True, slots=True)
class Feedback:
    question: str
    verdict: str
    answer: str
    doc_id: str
    start: int
    end: int
    note: str = ""


def feedback_path(index_dir: Path | str) -> Path:
    """Where the feedback of the index at ``index_dir`` is kept: beside it (a rebuild never touches it)."""
    index_dir = Path(index_dir)
    return index_dir.parent / f"{index_dir.name}.feedback.sqlite"


class FeedbackStore:
    """One SQLite file (WAL: readers never block the writer); a connection per call, so any thread may use it."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=5.0)
        except (OSError, sqlite3.Error) as err:
            raise FeedbackError(f"{self.path}: cannot open the feedback store ({err})") from err
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(SCHEMA)
            yield conn
            conn.commit()
        except sqlite3.Error as err:
            raise FeedbackError(f"{self.path}: {err}") from err
        finally:
            conn.close()

    def add(self, item: Feedback) -> int:
        if item.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}, got {item.verdict!r}")
        with self._connect() as conn:
            cursor = conn.execute(
                'INSERT INTO feedback (at, question, verdict, answer, doc_id, start, "end", note) '
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    datetime.now(UTC).isoformat(timespec="seconds"),
                    item.question,
                    item.verdict,
                    item.answer,
                    item.doc_id,
                    item.start,
                    item.end,
                    item.note,
                ),
            )
            return int(cursor.lastrowid or 0)

    def rows(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        with self._connect() as conn:
            conn.row_factory = sqlite3.Row
            return [dict(r) for r in conn.execute("SELECT * FROM feedback ORDER BY id")]


def export_cases(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Eval-set lines. A "right" verdict on an answer makes the answer shown the gold; on an abstention (an
    empty answer) it makes an unanswerable case. A "wrong" verdict is marked ``review``: its note, when given,
    stands as the proposed gold; without one the case waits for a gold answer and evaluation leaves it out
    (it is never an unanswerable case: on an abstention, Wrong means the documents do answer it)."""
    cases = []
    for r in rows:
        case: dict[str, Any] = {"id": f"feedback-{r['id']}", "question": r["question"]}
        abstained = not r["answer"]
        if r["verdict"] == "right":
            case |= {"answers": [], "doc": None} if abstained else {"answers": [r["answer"]], "doc": r["doc_id"]}
        else:
            note = (r["note"] or "").strip()
            doc = None if abstained or not note else r["doc_id"]
            case |= {"answers": [note] if note else [], "doc": doc, "review": True}
            case["reported_wrong"] = (
                {"abstained": True}
                if abstained
                else {"answer": r["answer"], "doc": r["doc_id"], "start": r["start"], "end": r["end"]}
            )
        cases.append(case)
    return cases
