"""`qa bench latency`: warm ``/ask`` latency over 100 questions against a live uvicorn on loopback.

Starts the app in a thread on 127.0.0.1 (a free port), warms it up, then sends the questions one
at a time and prints p50/p95 as the client sees them, and where the server spends the time.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn

from eval.metrics import percentile
from eval.sets import SETS_DIR, load_eval_set
from qa.settings import Settings
from web.app import create_app

STAGES = ("encode", "search", "read")


@dataclass(frozen=True, slots=True)
class LatencyReport:
    requests: int
    p50_ms: float
    p95_ms: float
    server_p50_ms: float
    stages_p50_ms: dict[str, float]
    stages_mean_ms: dict[str, float]


def default_questions(n: int = 100) -> list[str]:
    questions = [q.question for name in ("seeds-dev", "seeds-test") for q in load_eval_set(SETS_DIR / f"{name}.jsonl")]
    return [questions[i % len(questions)] for i in range(n)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(settings: Settings, questions: Sequence[str], warmup: int = 5) -> LatencyReport:
    logging.getLogger("civic_qa.access").setLevel(logging.WARNING)  # one line per request: noise here
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=30) as client:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("the app did not start within 120 s")
                time.sleep(0.2)
            for q in questions[:warmup]:
                client.post("/ask", json={"question": q})
            wall: list[float] = []
            server_ms: list[float] = []
            stages: dict[str, list[float]] = {s: [] for s in STAGES}
            for q in questions:
                started = time.perf_counter()
                response = client.post("/ask", json={"question": q, "top_k": 5})
                wall.append((time.perf_counter() - started) * 1000)
                response.raise_for_status()
                body = response.json()
                server_ms.append(body["took_ms"])
                for s in STAGES:
                    stages[s].append(body["timings"].get(s, 0.0))
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    return LatencyReport(
        requests=len(questions),
        p50_ms=percentile(wall, 50),
        p95_ms=percentile(wall, 95),
        server_p50_ms=percentile(server_ms, 50),
        stages_p50_ms={s: percentile(v, 50) for s, v in stages.items()},
        stages_mean_ms={s: sum(v) / len(v) for s, v in stages.items()},
    )


def format_report(report: LatencyReport, index_dir: Path) -> str:
    lines = [
        f"/ask warm latency, {report.requests} questions one at a time, index {index_dir}, uvicorn on 127.0.0.1",
        f"client p50 {report.p50_ms:.1f} ms, p95 {report.p95_ms:.1f} ms (server p50 {report.server_p50_ms:.1f} ms)",
        "",
        "| stage | p50 ms | mean ms |",
        "|---|---:|---:|",
    ]
    lines += [f"| {s} | {report.stages_p50_ms[s]:.2f} | {report.stages_mean_ms[s]:.2f} |" for s in STAGES]
    return "\n".join(lines)
