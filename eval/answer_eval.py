"""`qa eval`: how often the assistant is right on an eval set, with baselines side by side.

Systems compared in one run, all on the same index and questions:

- ``hybrid + reader``: the product (hybrid retrieval, the trained reader, abstention);
- ``bm25 + reader`` and ``dense + reader``: the trained reader on one retriever alone;
- ``hybrid + first sentence``: a naive extractor, the first sentence of the top passage, which
  never abstains.

Metrics (SQuAD-style normalisation, ``eval.squad_metrics``): exact match and token F1 of the
answer span (best over the gold strings), top-1 answer accuracy (a gold string inside the answer or
its sentence), retrieval hit@1/@5 and MRR of the gold document, abstention precision and recall on
unanswerable questions, overall accuracy counting a correct abstention as correct, latency p50/p95.
EM and F1 follow the official SQuAD 2.0 script: an unanswerable question scores 1 when the system
abstains and 0 otherwise; an answerable one scores 0 when it abstains.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from eval.metrics import percentile
from eval.overlap import set_overlap
from eval.sets import EvalQuestion
from eval.squad_metrics import compute_exact, compute_f1
from index.store import Index
from qa.answer import Reader, read, reader_for
from qa.fusion import TOP_K
from qa.retriever import Retriever
from qa.types import Result

SYSTEMS = ("hybrid + reader", "bm25 + reader", "dense + reader", "hybrid + first sentence")


def normalize(text: str) -> str:
    """Lowercase, straight quotes, single spaces: the containment check's normal form."""
    text = text.lower().replace("’", "'").replace("“", '"').replace("”", '"')
    return re.sub(r"\s+", " ", text).strip()


def contains_gold(result: Result, golds: Sequence[str]) -> bool:
    """Top-1 answer accuracy: the system answered and a gold string stands in the answer or its sentence."""
    if result.answer is None:
        return False
    hay = normalize(result.answer.text) + " || " + normalize(result.answer.sentence.text)
    return any(normalize(g) in hay for g in golds)


def span_holds_gold(result: Result, golds: Sequence[str]) -> bool:
    """Span accuracy, what a person reads: the system answered and a gold string stands in the answer itself."""
    if result.answer is None:
        return False
    span = normalize(result.answer.text)
    return any(normalize(g) in span for g in golds)


@dataclass(frozen=True, slots=True)
class Record:
    """One question's outcome, as written to failures.jsonl."""

    id: str
    question: str
    gold: list[str]
    gold_doc: str | None
    answered: str | None
    sentence: str | None
    doc_id: str | None
    confidence: float
    correct: bool
    exact: float
    f1: float
    gold_doc_rank: int | None
    ms: float
    band: str | None = None  # how the answer was shown: sure or possible (None: abstained)
    span_correct: bool = False  # a gold string stands in the answer itself (answerable questions only)


@dataclass(frozen=True, slots=True)
class SystemReport:
    system: str
    questions: int
    answerable: int
    unanswerable: int
    exact: float  # SQuAD 2.0 style, over all questions (abstaining right on unanswerables scores 1)
    f1: float
    has_ans_exact: float
    has_ans_f1: float
    answer_accuracy: float  # top-1: gold in answer or sentence, over answerable
    forced_accuracy: float  # the same for the best sentence, never abstaining
    span_accuracy: float  # gold in the answer itself (what a person reads), over answerable
    forced_span_accuracy: float  # the same, never abstaining
    hit1: float
    hit5: float
    mrr: float
    abstention_precision: float
    abstention_recall: float
    wrongly_abstained: float
    overall: float
    p50_ms: float
    p95_ms: float
    sure_answered: int = 0  # answers shown as sure, and the share of them right
    sure_accuracy: float = 0.0
    possible_answered: int = 0  # answers shown as possible ("check the source"), and the share right
    possible_accuracy: float = 0.0
    sure_span_accuracy: float = 0.0  # the share of sure answers whose span holds the gold
    possible_span_accuracy: float = 0.0
    overlap: float | None = None  # the set's median lexical overlap (eval.overlap)
    records: tuple[Record, ...] = field(repr=False, default=())
    forced_records: tuple[Record, ...] = field(repr=False, default=())

    def metrics(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("records")
        data.pop("forced_records")
        return data


def _doc_rank(result: Result, gold: str | None, canonical: Callable[[str], str]) -> int | None:
    if gold is None:
        return None
    seen: list[str] = []
    for hit in result.passages:
        doc = canonical(hit.passage.doc_id)
        if doc not in seen:
            seen.append(doc)
    target = canonical(gold)
    return seen.index(target) + 1 if target in seen else None


def first_sentence(result: Result, index: Index) -> Result:
    """The naive extractor: the first non-heading sentence of the top passage, always answered."""
    from qa.types import Answer

    for hit in result.passages:
        for s in hit.passage.sentences:
            if s.kind != "heading":
                doc = index.documents[hit.passage.doc_id]
                a = Answer(s.text, doc.doc_id, doc.title, s.start, s.end, s, 1.0, hit.passage)
                return Result(result.question, False, a, result.passages, 1.0, result.timings)
    return result


def _results(
    system: str, question: str, retriever: Retriever, reader: Reader, top_k: int, threshold: float | None
) -> tuple[Result, Result]:
    """What ``system`` answers at ``threshold``, and what it answers when it never abstains."""
    mode = system.split(" ")[0]
    (reading,), _ = read([question], retriever, top_k=top_k, reader=reader, mode=mode)
    if system.endswith("first sentence"):
        result = first_sentence(reader.decide(reading, 0.0), retriever.index)
        return result, result
    return reader.decide(reading, threshold), reader.decide(reading, 0.0)


def _record(q: EvalQuestion, result: Result, doc_rank: int | None, ms: float) -> Record:
    predicted = result.answer.text if result.answer else ""
    golds = list(q.answers) or [""]
    return Record(
        id=q.id,
        question=q.question,
        gold=list(q.answers),
        gold_doc=q.doc,
        answered=result.answer.text if result.answer else None,
        sentence=result.answer.sentence.text if result.answer else None,
        doc_id=result.answer.doc_id if result.answer else None,
        confidence=round(result.confidence, 4),
        correct=contains_gold(result, q.answers) if q.answerable else result.no_answer,
        exact=float(max(compute_exact(g, predicted) for g in golds)),
        f1=float(max(compute_f1(g, predicted) for g in golds)),
        gold_doc_rank=doc_rank,
        ms=round(ms, 3),
        band=result.answer.band if result.answer else None,
        span_correct=q.answerable and span_holds_gold(result, q.answers),
    )


def evaluate_system(
    system: str,
    questions: Sequence[EvalQuestion],
    retriever: Retriever,
    *,
    top_k: int = TOP_K,
    threshold: float | None = None,
    progress: Callable[[], None] | None = None,
    reader: Reader | None = None,
) -> SystemReport:
    """Run one system over ``questions`` one at a time (latency as a user sees it). The report's
    ``forced_records`` are the same questions answered never abstaining (for curves and calibration)."""
    if system not in SYSTEMS:
        raise ValueError(f"unknown system {system!r}; choose one of {', '.join(SYSTEMS)}")
    reader = reader or reader_for(retriever.index)
    index = retriever.index

    def canonical(doc_id: str) -> str:
        return index.aliases.get(doc_id, doc_id)

    records: list[Record] = []
    forced_records: list[Record] = []
    for q in questions:
        started = time.perf_counter()
        result, forced = _results(system, q.question, retriever, reader, top_k, threshold)
        ms = (time.perf_counter() - started) * 1000
        rank = _doc_rank(result, q.doc, canonical)
        records.append(_record(q, result, rank, ms))
        forced_records.append(_record(q, forced, rank, ms))
        if progress:
            progress()
    forced_right = sum(r.correct for q, r in zip(questions, forced_records, strict=True) if q.answerable)
    report = summarize(system, questions, records, forced_right, forced_records)
    texts = {doc_id: doc.text for doc_id, doc in index.documents.items()}
    texts |= {alias: texts[doc_id] for alias, doc_id in index.aliases.items() if doc_id in texts}
    return replace(report, overlap=set_overlap(questions, texts))


def summarize(
    system: str,
    questions: Sequence[EvalQuestion],
    records: Sequence[Record],
    forced_right: int,
    forced_records: Sequence[Record] = (),
) -> SystemReport:
    ans = [r for q, r in zip(questions, records, strict=True) if q.answerable]
    una = [r for q, r in zip(questions, records, strict=True) if not q.answerable]
    abstained = [r for r in records if r.answered is None]

    def share(n: float, d: int) -> float:
        return n / d if d else 0.0

    times = [r.ms for r in records]
    sure = [r for r in records if r.answered is not None and r.band == "sure"]
    possible = [r for r in records if r.answered is not None and r.band != "sure"]
    return SystemReport(
        system=system,
        questions=len(records),
        answerable=len(ans),
        unanswerable=len(una),
        exact=share(sum(r.exact for r in records), len(records)),
        f1=share(sum(r.f1 for r in records), len(records)),
        has_ans_exact=share(sum(r.exact for r in ans), len(ans)),
        has_ans_f1=share(sum(r.f1 for r in ans), len(ans)),
        answer_accuracy=share(sum(r.correct for r in ans), len(ans)),
        forced_accuracy=share(forced_right, len(ans)),
        span_accuracy=share(sum(r.span_correct for r in ans), len(ans)),
        forced_span_accuracy=share(
            sum(r.span_correct for q, r in zip(questions, forced_records, strict=True) if q.answerable), len(ans)
        ),
        hit1=share(sum(r.gold_doc_rank == 1 for r in ans), len(ans)),
        hit5=share(sum(r.gold_doc_rank is not None and r.gold_doc_rank <= 5 for r in ans), len(ans)),
        mrr=share(sum(1 / r.gold_doc_rank for r in ans if r.gold_doc_rank), len(ans)),
        abstention_precision=share(sum(r.gold_doc is None and not r.gold for r in abstained), len(abstained)),
        abstention_recall=share(sum(r.answered is None for r in una), len(una)),
        wrongly_abstained=share(sum(r.answered is None for r in ans), len(ans)),
        overall=share(sum(r.correct for r in records), len(records)),
        p50_ms=percentile(times, 50),
        p95_ms=percentile(times, 95),
        sure_answered=len(sure),
        sure_accuracy=share(sum(r.correct for r in sure), len(sure)),
        possible_answered=len(possible),
        possible_accuracy=share(sum(r.correct for r in possible), len(possible)),
        sure_span_accuracy=share(sum(r.span_correct for r in sure), len(sure)),
        possible_span_accuracy=share(sum(r.span_correct for r in possible), len(possible)),
        records=tuple(records),
        forced_records=tuple(forced_records),
    )


def format_table(name: str, reports: Sequence[SystemReport]) -> str:
    first = reports[0]
    overlap = "n/a" if first.overlap is None else f"{first.overlap:.2f}"
    lines = [
        f"{name}: {first.questions} questions ({first.unanswerable} unanswerable); lexical overlap (median share of "
        f"a question's content words found around its answer): {overlap}",
        "",
        "| system | span right | answer or sentence right | never abstaining: span | never abstaining: sentence "
        "| wrongly abstained | EM | F1 | HasAns F1 | doc hit@1 | hit@5 | MRR "
        "| abstain P | abstain R | overall | p50 ms | p95 ms |",
        "|---|" + "---:|" * 16,
    ]
    for r in reports:
        lines.append(
            f"| {r.system} | {r.span_accuracy:.1%} | {r.answer_accuracy:.1%} | {r.forced_span_accuracy:.1%} "
            f"| {r.forced_accuracy:.1%} | {r.wrongly_abstained:.1%} | {r.exact:.1%} | {r.f1:.1%} "
            f"| {r.has_ans_f1:.1%} | {r.hit1:.1%} | {r.hit5:.1%} | {r.mrr:.3f} | {r.abstention_precision:.1%} "
            f"| {r.abstention_recall:.1%} | {r.overall:.1%} | {r.p50_ms:.1f} | {r.p95_ms:.1f} |"
        )
    lines += ["", f"{first.system}, by how answers are shown: {format_bands(first)}"]
    return "\n".join(lines)


def format_bands(r: SystemReport) -> str:
    return (
        f"sure {r.sure_answered} answered, span right {r.sure_span_accuracy:.1%} (answer or sentence "
        f"{r.sure_accuracy:.1%}); possible (check the source) {r.possible_answered} answered, span right "
        f"{r.possible_span_accuracy:.1%} (answer or sentence {r.possible_accuracy:.1%})"
    )


def format_failures(report: SystemReport) -> str:
    lines = []
    for r in report.records:
        if r.correct and (r.span_correct or not r.gold):
            continue
        got = "ABSTAIN" if r.answered is None else repr(r.answered[:80])
        lines.append(
            f"- {r.id} [{'ans' if r.gold else 'UNANS'}{' sentence only' if r.correct else ''}] {r.question}\n"
            f"    gold={r.gold[:2]} got={got} band={r.band or '-'} "
            f"conf={r.confidence:.2f} doc={r.doc_id or '-'} gold doc rank={r.gold_doc_rank}"
        )
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class CurvePoint:
    threshold: float
    coverage: float  # share of questions answered
    accuracy: float  # share of answered questions answered right
    overall: float  # right answers + right abstentions, over all


def coverage_curve(records: Sequence[Record], thresholds: Sequence[float] | None = None) -> list[CurvePoint]:
    """Coverage against accuracy as the confidence threshold moves (records from a threshold-0 run)."""
    thresholds = thresholds if thresholds is not None else [i / 100 for i in range(0, 100, 2)]
    points = []
    for t in thresholds:
        answered = [r for r in records if r.answered is not None and r.confidence >= t]
        right = sum(r.correct for r in answered)
        abstained_right = sum(1 for r in records if not r.gold and (r.answered is None or r.confidence < t))
        points.append(
            CurvePoint(
                t,
                len(answered) / len(records) if records else 0.0,
                right / len(answered) if answered else 1.0,
                (right + abstained_right) / len(records) if records else 0.0,
            )
        )
    return points


@dataclass(frozen=True, slots=True)
class ReliabilityBin:
    low: float
    high: float
    count: int
    confidence: float  # mean confidence in the bin
    accuracy: float  # share right in the bin


def reliability(records: Sequence[Record], bins: int = 10) -> list[ReliabilityBin]:
    """Mean confidence against the share right, in equal-width confidence bins (a threshold-0 run)."""
    out = []
    for k in range(bins):
        low, high = k / bins, (k + 1) / bins
        inside = [r for r in records if low <= r.confidence < high or (k == bins - 1 and r.confidence == 1.0)]
        if inside:
            right = sum(r.correct and bool(r.gold) for r in inside)
            mean = sum(r.confidence for r in inside) / len(inside)
            out.append(ReliabilityBin(low, high, len(inside), mean, right / len(inside)))
    return out


def expected_calibration_error(bins: Sequence[ReliabilityBin]) -> float:
    total = sum(b.count for b in bins)
    return sum(b.count * abs(b.confidence - b.accuracy) for b in bins) / total if total else 0.0


def calibrate(records: Sequence[Record]) -> CurvePoint:
    """The threshold with the best overall accuracy (a wrong answer and a missed one cost the same)."""
    curve = coverage_curve(records)
    best = max(p.overall for p in curve)
    return next(p for p in curve if p.overall == best)
