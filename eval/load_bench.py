"""`qa bench load`: concurrent clients against a real `qa serve` on loopback, bounded in time and count.

The server runs in its own process (so the load generator does not share its interpreter); the
clients are threads sending ``POST /ask`` to 127.0.0.1 only. The run stops by itself after
``seconds`` or ``max_requests``, whichever comes first, and the server is always stopped.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from eval.metrics import percentile

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True, slots=True)
class LoadReport:
    clients: int
    seconds: float
    requests: int
    errors: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    statuses: dict[int, int]


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def start_server(index_dir: Path, port: int, timeout: float = 180.0) -> subprocess.Popen[bytes]:
    """`qa serve` on 127.0.0.1:port over ``index_dir`` (which must exist); waits until /healthz answers."""
    env = {**os.environ, "QA_INDEX_DIR": str(index_dir)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "qa.cli", "serve", "--host", LOOPBACK, "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=f"http://{LOOPBACK}:{port}", timeout=5) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"qa serve exited with code {proc.returncode} before answering")
            try:
                if client.get("/healthz").status_code == 200:
                    return proc
            except httpx.TransportError:
                pass
            time.sleep(0.25)
    stop_server(proc)
    raise RuntimeError(f"qa serve did not answer within {timeout:.0f} s")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def run_load(
    base_url: str, questions: Sequence[str], *, clients: int = 20, seconds: float = 60.0, max_requests: int = 100_000
) -> LoadReport:
    """``clients`` threads, each sending questions in turn until time or the request budget runs out."""
    if not base_url.startswith(f"http://{LOOPBACK}:"):
        raise ValueError("the load generator only targets 127.0.0.1")
    lock = threading.Lock()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    sent = 0
    stop_at = time.monotonic() + seconds

    def client(worker: int) -> None:
        nonlocal errors, sent
        i = worker
        with httpx.Client(base_url=base_url, timeout=30) as http:
            while time.monotonic() < stop_at:
                with lock:
                    if sent >= max_requests:
                        return
                    sent += 1
                started = time.perf_counter()
                try:
                    status = http.post("/ask", json={"question": questions[i % len(questions)]}).status_code
                except httpx.HTTPError:
                    status = 0
                ms = (time.perf_counter() - started) * 1000
                with lock:
                    latencies.append(ms)
                    statuses[status] = statuses.get(status, 0) + 1
                    errors += status != 200
                i += clients

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(w,), daemon=True) for w in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + 60)
    elapsed = time.monotonic() - started
    return LoadReport(
        clients=clients,
        seconds=round(elapsed, 2),
        requests=len(latencies),
        errors=errors,
        rps=len(latencies) / elapsed if elapsed else 0.0,
        p50_ms=percentile(latencies, 50),
        p95_ms=percentile(latencies, 95),
        p99_ms=percentile(latencies, 99),
        statuses=dict(sorted(statuses.items())),
    )


def run(index_dir: Path, questions: Sequence[str], *, clients: int, seconds: float, max_requests: int) -> LoadReport:
    port = free_port()
    proc = start_server(index_dir, port)
    try:
        return run_load(
            f"http://{LOOPBACK}:{port}", questions, clients=clients, seconds=seconds, max_requests=max_requests
        )
    finally:
        stop_server(proc)


def format_report(report: LoadReport) -> str:
    return (
        f"{report.clients} clients, {report.seconds:.1f} s: {report.requests} requests, {report.rps:.1f} req/s, "
        f"p50 {report.p50_ms:.1f} ms, p95 {report.p95_ms:.1f} ms, p99 {report.p99_ms:.1f} ms, "
        f"errors {report.errors} (statuses {report.statuses})"
    )
