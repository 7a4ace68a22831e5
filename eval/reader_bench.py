"""`qa bench reader`: what each speed-up of the trained reader costs in accuracy, side by side.

Each variant (numeric precision × how many retrieved passages are read) reads the civic dev
questions (both sets, each retrieved from its own documents; top 5 passages retrieved) one
question at a time, as ``/ask`` does. Printed per variant: reading time per question (p50, p95;
retrieval excluded), answer-in-answer-or-sentence accuracy never abstaining, and span F1 on the
answerable questions. Precisions: ``fp32``; ``bf16`` autocast (only where the CPU computes
bfloat16 natively); ``int8`` dynamic quantisation of the linear layers; ``numpy`` (float32 without torch,
what a terminal ``qa ask`` runs).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from eval.answer_eval import contains_gold
from eval.metrics import percentile
from eval.sets import EvalQuestion
from eval.squad_metrics import compute_f1
from qa.answer import Reader
from qa.fusion import TOP_K
from qa.reader_model import ReaderModel, cpu_has_bf16, load_reader_model
from qa.retriever import Retriever
from qa.types import Hit


@dataclass(frozen=True, slots=True)
class Variant:
    precision: str
    passages: int


@dataclass(frozen=True, slots=True)
class VariantRow:
    variant: Variant
    questions: int
    p50_ms: float
    p95_ms: float
    accuracy: float  # answerable questions: a gold answer in the answer or its sentence (never abstaining)
    f1: float  # answerable questions: span F1


def default_variants() -> list[Variant]:
    precisions = ["fp32", *(["bf16"] if cpu_has_bf16() else []), "int8", "numpy"]
    best = "bf16" if cpu_has_bf16() else "fp32"
    return [Variant(p, 5) for p in precisions] + [Variant(best, 3), Variant(best, 2)]


def run(
    sets: Sequence[tuple[str, Sequence[EvalQuestion], Retriever]],
    variants: Sequence[Variant] | None = None,
    *,
    top_k: int = TOP_K,
    models: dict[str, ReaderModel] | None = None,
) -> list[VariantRow]:
    variants = list(variants or default_variants())
    models = dict(models or {})
    cases: list[tuple[EvalQuestion, Sequence[Hit], Retriever]] = []
    for _, questions, retriever in sets:
        hits = retriever.search([q.question for q in questions], top_k)
        cases += [(q, h, retriever) for q, h in zip(questions, hits, strict=True) if q.answerable]
    rows = []
    for v in variants:
        model = models.get(v.precision) or load_reader_model(precision=v.precision)
        models[v.precision] = model
        readers = {id(r): Reader(r.index, model=model) for _, _, r in sets}
        times, right, f1 = [], 0, 0.0
        for q, h, retriever in cases:
            reader = readers[id(retriever)]
            started = time.perf_counter()
            (reading,) = reader.readings([q.question], [h[: v.passages]])
            times.append((time.perf_counter() - started) * 1000)
            result = reader.decide(reading, 0.0)
            right += contains_gold(result, q.answers)
            text = result.answer.text if result.answer else ""
            f1 += max(compute_f1(g, text) for g in q.answers)
        n = max(1, len(cases))
        rows.append(VariantRow(v, len(cases), percentile(times, 50), percentile(times, 95), right / n, f1 / n))
    return rows


def format_rows(rows: Sequence[VariantRow]) -> str:
    n = rows[0].questions if rows else 0
    lines = [
        f"reader speed against accuracy: {n} answerable civic dev questions, read one at a time (retrieval excluded)",
        "",
        "| precision | passages read | read p50 ms | read p95 ms | answer in answer/sentence | span F1 |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.variant.precision} | {r.variant.passages} | {r.p50_ms:.1f} | {r.p95_ms:.1f} "
            f"| {r.accuracy:.1%} | {r.f1:.1%} |"
        )
    return "\n".join(lines)
