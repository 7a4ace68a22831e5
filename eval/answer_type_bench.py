"""`qa bench answer-types`: how well the answer-kind check (:mod:`qa.answer_type`) tells right spans from wrong.

On SQuAD 2.0 dev answerable questions of the test articles (the cues were refined on the others), for each
question whose wording asks for a kind (number, date, time, place, person): the share whose gold answer fits that kind
(a right span wrongly kept from ``sure``), and the share of **wrong spans** that fit it: the gold answers of
the other questions of the same paragraph that do not overlap this question's gold (the spans a reader
reading that paragraph could plausibly pick instead). A good check keeps the first near 100% and the
second low.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from eval.squad import TITLE_PARTS, load_squad
from qa.answer_type import KINDS, expected_type, fits


@dataclass(frozen=True, slots=True)
class KindRow:
    kind: str
    questions: int
    gold_fits: float
    wrong_spans: int
    wrong_fits: float


def run(path: Path, part: str = "test") -> list[KindRow]:
    """The check on the answerable questions of the ``part`` articles (``train``, ``dev`` or ``test``; the cues
    were refined looking at the train and dev articles only)."""
    _, questions, _ = load_squad(path)
    questions = [q for q in questions if q.article in TITLE_PARTS[part]]
    by_paragraph: dict[str, list[tuple[str, ...]]] = defaultdict(list)
    for q in questions:
        if q.answers:
            by_paragraph[q.doc_id].append(q.answers)
    counts = {k: [0, 0, 0, 0] for k in KINDS}  # questions, gold fits, wrong spans, wrong fits
    for q in questions:
        kind = expected_type(q.question)
        if kind is None or not q.answers:
            continue
        c = counts[kind]
        c[0] += 1
        c[1] += fits(q.question, q.answers[0])
        golds = {a.lower() for a in q.answers}
        for other in by_paragraph[q.doc_id]:
            span = other[0]
            if any(g in span.lower() or span.lower() in g for g in golds):
                continue
            c[2] += 1
            c[3] += fits(q.question, span)
    return [
        KindRow(k, c[0], c[1] / c[0] if c[0] else 0.0, c[2], c[3] / c[2] if c[2] else 0.0) for k, c in counts.items()
    ]


def format_rows(rows: list[KindRow], source: Path, part: str = "test") -> str:
    lines = [
        f"qa bench answer-types: {source}, {part} articles, answerable questions whose wording asks for a kind",
        "",
        "| kind asked for | questions | gold answer fits | wrong spans (other answers of the paragraph) "
        "| wrong span fits |",
        "|---|---:|---:|---:|---:|",
    ]
    lines += [f"| {r.kind} | {r.questions} | {r.gold_fits:.1%} | {r.wrong_spans} | {r.wrong_fits:.1%} |" for r in rows]
    total = sum(r.questions for r in rows)
    gold = sum(r.gold_fits * r.questions for r in rows) / total if total else 0.0
    wrong_n = sum(r.wrong_spans for r in rows)
    wrong = sum(r.wrong_fits * r.wrong_spans for r in rows) / wrong_n if wrong_n else 0.0
    lines.append(f"| all | {total} | {gold:.1%} | {wrong_n} | {wrong:.1%} |")
    return "\n".join(lines)
