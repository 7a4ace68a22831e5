"""Answer accuracy on an eval set: top-1 answer accuracy and abstention, as issue #4 defines them.

An answerable question counts as right when the system answers and a gold string is contained
in the returned answer or in its sentence (case- and space-insensitive); an unanswerable one
when the system abstains.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from eval.metrics import percentile
from eval.sets import EvalQuestion
from qa.answer import Reader, answer
from qa.retriever import Retriever
from qa.types import Result


def normalize(text: str) -> str:
    """Lowercase, straight quotes, single spaces: the containment check's normal form."""
    text = text.lower().replace("’", "'").replace("“", '"').replace("”", '"')
    return re.sub(r"\s+", " ", text).strip()


def contains_gold(result: Result, golds: Sequence[str]) -> bool:
    if result.answer is None:
        return False
    hay = normalize(result.answer.text) + " || " + normalize(result.answer.sentence.text)
    return any(normalize(g) in hay for g in golds)


@dataclass(frozen=True, slots=True)
class AnswerReport:
    answerable: int
    unanswerable: int
    answer_accuracy: float  # answered and gold in answer or sentence, over answerable
    sentence_accuracy_if_forced: float  # same, ignoring abstention (the best sentence)
    wrongly_abstained: float  # over answerable
    abstention_accuracy: float  # abstained, over unanswerable
    overall: float  # correct answers + correct abstentions, over all
    p50_ms: float
    p95_ms: float
    rows: tuple[tuple[EvalQuestion, Result, Result], ...]


def evaluate(
    questions: Sequence[EvalQuestion], retriever: Retriever, *, top_k: int = 5, threshold: float | None = None
) -> AnswerReport:
    reader = Reader(retriever.index)
    results = [answer([q.question], retriever, top_k=top_k, threshold=threshold, reader=reader)[0] for q in questions]
    forced = answer([q.question for q in questions], retriever, top_k=top_k, threshold=0.0, reader=reader)
    ans = [(q, r, f) for q, r, f in zip(questions, results, forced, strict=True) if q.answerable]
    una = [(q, r, f) for q, r, f in zip(questions, results, forced, strict=True) if not q.answerable]
    right = sum(contains_gold(r, q.answers) for q, r, _ in ans)
    abstained_right = sum(r.no_answer for _, r, _ in una)
    times = [sum(r.timings.values()) for r in results]
    return AnswerReport(
        answerable=len(ans),
        unanswerable=len(una),
        answer_accuracy=right / len(ans) if ans else 0.0,
        sentence_accuracy_if_forced=sum(contains_gold(f, q.answers) for q, _, f in ans) / len(ans) if ans else 0.0,
        wrongly_abstained=sum(r.no_answer for _, r, _ in ans) / len(ans) if ans else 0.0,
        abstention_accuracy=abstained_right / len(una) if una else 0.0,
        overall=(right + abstained_right) / len(questions) if questions else 0.0,
        p50_ms=percentile(times, 50),
        p95_ms=percentile(times, 95),
        rows=tuple(zip(questions, results, forced, strict=True)),
    )


def format_report(name: str, report: AnswerReport) -> str:
    return "\n".join(
        [
            f"{name}: {report.answerable} answerable, {report.unanswerable} unanswerable",
            "| metric | value |",
            "|---|---:|",
            f"| top-1 answer accuracy (gold in answer or its sentence) | {report.answer_accuracy:.1%} |",
            f"| same, never abstaining | {report.sentence_accuracy_if_forced:.1%} |",
            f"| wrongly abstained (answerable) | {report.wrongly_abstained:.1%} |",
            f"| abstention accuracy (unanswerable) | {report.abstention_accuracy:.1%} |",
            f"| overall (correct answers + correct abstentions) | {report.overall:.1%} |",
            f"| latency p50 / p95 ms | {report.p50_ms:.1f} / {report.p95_ms:.1f} |",
        ]
    )


def format_failures(report: AnswerReport) -> str:
    lines = []
    for q, r, f in report.rows:
        ok = (not q.answerable and r.no_answer) or (q.answerable and contains_gold(r, q.answers))
        if ok:
            continue
        got = "ABSTAIN" if r.no_answer else repr(r.answer.text[:80])
        best = f.answer.sentence.text[:110] if f.answer else "-"
        lines.append(
            f"- {q.id} [{'ans' if q.answerable else 'UNANS'}] {q.question}\n    gold={list(q.answers)[:2]} got={got} "
            f"conf={r.confidence:.2f} doc={f.answer.doc_id if f.answer else '-'}\n    best: {best}"
        )
    return "\n".join(lines)
