"""``qa bench cold``: how long a terminal ``qa ask`` takes from a fresh process to its printed answer.

Each run is a new ``qa ask`` process (wall clock from start to exit, as a user waits), with the
default engine (NumPy, no torch to import) and with the torch engines for comparison.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

QUESTION = "Who signed the MOU with PITB?"
ENGINES = (("auto (numpy)", None), ("fp32 (torch)", "fp32"), ("bf16 (torch)", "bf16"))


@dataclass(frozen=True, slots=True)
class ColdRow:
    engine: str
    seconds: list[float]
    answered: bool


def run(index_dir: Path, runs: int = 5, question: str = QUESTION) -> list[ColdRow]:
    """``runs`` fresh ``qa ask`` processes per engine on ``index_dir``, one at a time."""
    rows = []
    for label, precision in ENGINES:
        env = {k: v for k, v in os.environ.items() if k != "QA_READER_PRECISION"}
        if precision:
            env["QA_READER_PRECISION"] = precision
        seconds, answered = [], True
        for _ in range(runs):
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "qa.cli", "ask", question, "--index", str(index_dir)],
                capture_output=True,
                text=True,
                env=env,
                timeout=600,
            )
            seconds.append(time.perf_counter() - started)
            answered = answered and done.returncode == 0
        rows.append(ColdRow(label, seconds, answered))
    return rows


def format_rows(rows: list[ColdRow], index_dir: Path) -> str:
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3]) if Path("/proc/loadavg").exists() else "?"
    lines = [
        f"qa ask from a fresh process on {index_dir} ({len(rows[0].seconds)} runs each, load {load})",
        "",
        "| engine (QA_READER_PRECISION) | p50 s | min s | max s | exit 0 |",
        "|---|---:|---:|---:|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.engine} | {statistics.median(r.seconds):.2f} | {min(r.seconds):.2f} | {max(r.seconds):.2f} "
            f"| {'yes' if r.answered else 'NO'} |"
        )
    return "\n".join(lines)
