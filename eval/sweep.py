"""The threshold sweep: what a person gets from each eval set as the abstention threshold moves.

Read from a never-abstaining run (each record holds the reader's answer and its calibrated confidence):
at threshold ``t`` the product answers when the confidence is above ``t``. Per threshold: the share of
answerable questions whose answer span holds the gold (``span right``), whose answer or sentence does
(``right``), that were abstained on (``wrongly abstained``), and the share of unanswerable questions
abstained on; ``overall`` counts right answers and right abstentions over all questions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from eval.answer_eval import Record

THRESHOLDS = tuple(round(0.05 * k, 2) for k in range(20))


@dataclass(frozen=True, slots=True)
class SweepPoint:
    threshold: float
    span_right: float  # over answerable questions
    right: float  # answer or sentence, over answerable questions
    wrongly_abstained: float  # over answerable questions
    unanswerable_abstained: float  # over unanswerable questions
    overall: float  # right answers (answer or sentence) and right abstentions, over all questions
    answered: float  # over all questions


def sweep(records: Sequence[Record], thresholds: Sequence[float] = THRESHOLDS) -> list[SweepPoint]:
    """The sweep over ``thresholds`` of the never-abstaining ``records`` of one set."""
    ans = [r for r in records if r.gold]
    una = [r for r in records if not r.gold]

    def share(n: int, d: int) -> float:
        return n / d if d else 0.0

    points = []
    for t in thresholds:

        def answered(r: Record, t: float = t) -> bool:
            return r.answered is not None and r.confidence > t

        right = sum(answered(r) and r.correct for r in ans)
        abstained_right = sum(not answered(r) for r in una)
        points.append(
            SweepPoint(
                threshold=t,
                span_right=share(sum(answered(r) and r.span_correct for r in ans), len(ans)),
                right=share(right, len(ans)),
                wrongly_abstained=share(sum(not answered(r) for r in ans), len(ans)),
                unanswerable_abstained=share(abstained_right, len(una)),
                overall=share(right + abstained_right, len(records)),
                answered=share(sum(answered(r) for r in records), len(records)),
            )
        )
    return points


def format_sweep(name: str, points: Sequence[SweepPoint], chosen: float | None = None) -> str:
    lines = [
        f"{name}: threshold sweep (answer when confidence > threshold)",
        "",
        "| threshold | span right | answer or sentence right | wrongly abstained | unanswerable abstained | overall |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for p in points:
        mark = " ←" if chosen is not None and abs(p.threshold - chosen) < 1e-9 else ""
        lines.append(
            f"| {p.threshold:.2f}{mark} | {p.span_right:.1%} | {p.right:.1%} | {p.wrongly_abstained:.1%} "
            f"| {p.unanswerable_abstained:.1%} | {p.overall:.1%} |"
        )
    return "\n".join(lines)


def plot_sweeps(sweeps: Sequence[tuple[str, Sequence[SweepPoint]]], path: Path, chosen: float | None = None) -> Path:
    """One panel per set: span right, wrongly abstained and unanswerable abstained against the threshold."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(sweeps)
    cols = min(n, 3)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.4 * rows), squeeze=False)
    for ax, (name, points) in zip(axes.flat, sweeps, strict=False):
        t = [p.threshold for p in points]
        ax.plot(t, [p.span_right for p in points], label="span right", color="#1b6e3a")
        ax.plot(t, [p.right for p in points], label="answer or sentence right", color="#1b6e3a", linestyle=":")
        ax.plot(t, [p.wrongly_abstained for p in points], label="wrongly abstained", color="#b23b3b")
        ax.plot(t, [p.unanswerable_abstained for p in points], label="unanswerable abstained", color="#2b5d9b")
        if chosen is not None:
            ax.axvline(chosen, color="#666", linewidth=0.8, linestyle="--")
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("threshold")
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7, loc="center left")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
