"""`qa eval --out DIR`: report.md, metrics.json, failures.jsonl and PNG plots."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from eval.answer_eval import CurvePoint, SystemReport, format_table


def write_report(
    out: Path,
    tables: Sequence[tuple[str, Sequence[SystemReport]]],
    curve: Sequence[CurvePoint],
    threshold: float,
    extra: dict[str, Any] | None = None,
) -> list[Path]:
    """Write the report files for ``tables`` (one per eval set); the first system of each is the product."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    metrics = {
        "threshold": threshold,
        "sets": {name: {r.system: r.metrics() for r in reports} for name, reports in tables},
        "coverage_curve": [asdict(p) for p in curve],
        **(extra or {}),
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2), encoding="utf-8")
    written.append(out / "metrics.json")

    with open(out / "failures.jsonl", "w", encoding="utf-8") as f:
        for name, reports in tables:
            for r in reports[0].records:
                if not r.correct:
                    f.write(json.dumps({"set": name, **asdict(r)}, ensure_ascii=False) + "\n")
    written.append(out / "failures.jsonl")

    written += _plots(out, tables, curve, threshold)
    if extra and extra.get("reliability"):
        written.append(_reliability_plot(out, extra["reliability"], extra.get("expected_calibration_error")))
    lines = ["# civic-qa eval report", "", f"Abstention threshold: {threshold:.2f}", ""]
    for name, reports in tables:
        lines += [format_table(name, reports), ""]
    lines += ["![coverage vs accuracy](coverage_accuracy.png)", "", "![latency](latency.png)", ""]
    lines += ["![accuracy per document](accuracy_per_document.png)", ""]
    if extra and extra.get("reliability"):
        ece = extra.get("expected_calibration_error")
        lines += [
            "## Reliability of the confidence",
            "",
            f"Top answers of the product at threshold 0, binned by confidence; expected calibration error {ece}.",
            "",
            "| confidence bin | questions | mean confidence | share right |",
            "|---|---:|---:|---:|",
            *(
                f"| {b['low']:.1f}–{b['high']:.1f} | {b['count']} | {b['confidence']:.2f} | {b['accuracy']:.2f} |"
                for b in extra["reliability"]
            ),
            "",
            "![reliability](reliability.png)",
            "",
        ]
    if extra and "squad" in extra:
        lines += ["## SQuAD 2.0", "", str(extra["squad"].get("table", "")), ""]
    if extra and extra.get("learning_curve"):
        written.append(learning_curve_plot(out / "learning_curve.png", extra["learning_curve"]))
        lines += ["## How the reader learned", "", "![learning curve](learning_curve.png)", ""]
    (out / "report.md").write_text("\n".join(lines), encoding="utf-8")
    written.append(out / "report.md")
    return written


def _plots(
    out: Path, tables: Sequence[tuple[str, Sequence[SystemReport]]], curve: Sequence[CurvePoint], threshold: float
) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot([p.coverage for p in curve], [p.accuracy for p in curve], marker=".", label="accuracy of answers given")
    ax.plot(
        [p.coverage for p in curve], [p.overall for p in curve], marker=".", label="overall (abstaining right counts)"
    )
    chosen = min(curve, key=lambda p: abs(p.threshold - threshold))
    ax.scatter([chosen.coverage], [chosen.accuracy], color="black", zorder=3, label=f"threshold {threshold:.2f}")
    ax.set(xlabel="coverage (share of questions answered)", ylabel="accuracy", ylim=(0, 1.02), xlim=(0, 1.02))
    ax.set_title("Coverage vs accuracy over the confidence threshold")
    ax.legend(loc="lower left")
    ax.grid(alpha=0.3)
    paths.append(_save(fig, out / "coverage_accuracy.png"))

    fig, ax = plt.subplots(figsize=(6, 4))
    times = [r.ms for _, reports in tables for r in reports[0].records]
    ax.hist(times, bins=30)
    ax.set(xlabel="milliseconds per question (hybrid + reader)", ylabel="questions", title="Latency")
    paths.append(_save(fig, out / "latency.png"))

    per_doc: dict[str, list[bool]] = defaultdict(list)
    for _, reports in tables:
        for r in reports[0].records:
            per_doc[r.gold_doc or "(unanswerable)"].append(r.correct)
    names = sorted(per_doc)
    fig, ax = plt.subplots(figsize=(7, max(3, 0.3 * len(names) + 1)))
    ax.barh(names, [sum(v) / len(v) for v in (per_doc[n] for n in names)])
    for i, n in enumerate(names):
        ax.text(1.01, i, f"n={len(per_doc[n])}", va="center", fontsize=8)
    ax.set(xlim=(0, 1.15), xlabel="accuracy (hybrid + reader)", title="Accuracy per document")
    ax.invert_yaxis()
    paths.append(_save(fig, out / "accuracy_per_document.png"))
    return paths


def _reliability_plot(out: Path, bins: Sequence[dict[str, Any]], ece: float | None) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", label="perfectly calibrated")
    xs = [b["confidence"] for b in bins]
    ys = [b["accuracy"] for b in bins]
    ax.plot(xs, ys, marker="o", label="civic-qa reader")
    for b in bins:
        ax.annotate(str(b["count"]), (b["confidence"], b["accuracy"]), textcoords="offset points", xytext=(4, -10))
    ax.set(xlim=(0, 1), ylim=(0, 1.02), xlabel="confidence (mean in bin)", ylabel="share of top answers right")
    ax.set_title(f"Reliability (ECE {ece})" if ece is not None else "Reliability")
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3)
    return _save(fig, out / "reliability.png")


def learning_curve_plot(path: Path, curve: Sequence[dict[str, Any]]) -> Path:
    """The reader's checkpoints (its manifest's ``curve``): span F1 and answerable-vs-not AUC on the
    SQuAD 2.0 dev-article questions it never trained on, against windows seen."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = [c for c in curve if "hasans_f1_forced" in c]
    fig, ax = plt.subplots(figsize=(6, 4))
    xs = [c["windows"] / 1000 for c in points]
    ax.plot(xs, [c["hasans_f1_forced"] for c in points], marker="o", label="HasAns F1, never abstaining")
    ax.plot(xs, [c.get("best_f1", float("nan")) for c in points], marker=".", label="overall F1, best threshold")
    ax.set(xlabel="training windows seen (thousands)", ylabel="F1 (SQuAD 2.0 dev articles)", ylim=(0, 100))
    twin = ax.twinx()
    twin.plot(xs, [c.get("answerable_auc", float("nan")) for c in points], color="grey", linestyle="--", label="AUC")
    twin.set(ylabel="answerable-vs-not AUC", ylim=(0.4, 1.0))
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    ax.set_title("The reader's learning curve")
    return _save(fig, path)


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path
