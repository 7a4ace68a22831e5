"""`qa bench hostile`: hostile documents against `qa index` and a watching `qa serve`, with time and memory.

The files are made on the spot (:mod:`eval.hostile_files`): a 1 MB Word file unpacking to 1.1 GB, 100,000
nested ``<div>``, a 5,000-page PDF and a 200 MB text file, each beside one normal document. Two kinds of
limits are tried: the defaults (the checks made before parsing refuse the files: unpacked size, nesting,
pages, file size) and ``raised`` (those checks opened wide, so that what stops a file is the extraction
worker's own memory and CPU-time limit, ``QA_EXTRACT_MEMORY_MB`` / ``QA_EXTRACT_SECONDS``).

* ``index``: ``qa index`` in a fresh process per row: seconds, the peak RSS of that process and of its
  extraction worker, its exit code, and the reason each hostile file was skipped.
* ``watch``: ``qa serve --watch`` over the normal document while a client asks ``/ask`` without pause; all
  hostile files are dropped into the folder at once, then a normal file is added: the seconds until each
  change is served, the server's peak RSS (``VmHWM``), and the requests that failed meanwhile.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from eval.hostile_files import big_text, many_pages_pdf, nested_html, zip_bomb_docx
from eval.load_bench import LOOPBACK, free_port, stop_server

NORMAL = "# Opening hours\n\nThe provincial portal's help desk is open from 9 am to 5 pm on working days.\n"
QUESTION = "When is the help desk open?"
RAISED = {
    "QA_MAX_UNPACKED_MB": "4000",
    "QA_MAX_HTML_DEPTH": "10000000",
    "QA_MAX_PDF_PAGES": "1000000",
    "QA_EXTRACT_SECONDS": "10",
}
MAKERS: dict[str, Callable[[Path], Path]] = {
    "Word zip bomb (1.1 GB unpacked)": lambda folder: zip_bomb_docx(folder / "bomb.docx", 1100),
    "100,000 nested <div>": lambda folder: nested_html(folder / "nested.html", 100_000),
    "5,000-page PDF": lambda folder: many_pages_pdf(folder / "long.pdf", 5_000),
    "200 MB text file": lambda folder: big_text(folder / "big.md", 200),
}
_MEASURED = (
    "import json, resource, sys\n"
    "from qa.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "print(json.dumps({'code': code, 'self': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,"
    " 'worker': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))\n"
)


@dataclass(frozen=True, slots=True)
class IndexRow:
    files: str
    limits: str
    seconds: float
    peak_mb: float
    worker_peak_mb: float
    exit_code: int
    documents: int
    skipped: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class WatchRow:
    limits: str
    hostile_served_s: float
    normal_served_s: float
    server_peak_mb: float
    requests: int
    failed: int
    p50_ms: float
    max_ms: float
    skipped: tuple[str, ...]


def _env(raised: bool, index_dir: Path) -> dict[str, str]:
    env = {**os.environ, "QA_INDEX_DIR": str(index_dir), "QA_EXAMPLES": "0"}
    return {**env, **RAISED} if raised else env


def _skip_reasons(log: str) -> tuple[str, ...]:
    """The "name: reason" of each file in the build's "skipped N files: ..." line."""
    found = re.search(r"skipped \d+ files?: (.*)", log)
    listed = re.split(r"; (?=/)", found.group(1)) if found else []
    return tuple(f"{Path(path).name}: {reason}" for path, _, reason in (x.partition(": ") for x in listed))


def index_row(name: str, makers: list[Callable[[Path], Path]], raised: bool, work: Path) -> IndexRow:
    """``qa index`` over the normal document and the files ``makers`` write, in a fresh process."""
    folder, index_dir = work / "docs", work / "index"
    shutil.rmtree(work, ignore_errors=True)
    folder.mkdir(parents=True)
    (folder / "normal.md").write_text(NORMAL)
    for make in makers:
        make(folder)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _MEASURED, "index", str(folder), "--index", str(index_dir)],
        env=_env(raised, index_dir),
        capture_output=True,
        text=True,
        timeout=900,
    )
    seconds = time.perf_counter() - started
    last = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "{}"
    figures = json.loads(last) if last.startswith("{") else {}
    manifest = index_dir / "manifest.json"
    documents = len(json.loads(manifest.read_text()).get("documents", [])) if manifest.exists() else 0
    return IndexRow(
        name,
        "raised" if raised else "default",
        seconds,
        figures.get("self", 0) / 1024,
        figures.get("worker", 0) / 1024,
        int(figures.get("code", done.returncode)),
        documents,
        _skip_reasons(done.stderr),
    )


def _vm(pid: int, field: str) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def watch_row(raised: bool, work: Path) -> WatchRow:
    """A watching server, a client asking without pause, the hostile files dropped in, then a normal file."""
    folder, index_dir = work / "docs", work / "index"
    shutil.rmtree(work, ignore_errors=True)
    folder.mkdir(parents=True)
    (folder / "normal.md").write_text(NORMAL)
    staging = work / "staging"
    staging.mkdir()
    hostile = [make(staging) for make in MAKERS.values()]
    port = free_port()
    env = _env(raised, index_dir)
    log_path = work / "serve.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "qa.cli", "serve", str(folder), "--watch", "--host", LOOPBACK, "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://{LOOPBACK}:{port}"
    stop = threading.Event()
    latencies: list[float] = []
    failures: list[str] = []
    try:
        with httpx.Client(base_url=base, timeout=5) as probe:
            _wait(lambda: _ok(probe, "/healthz"), 300, server)

            def health() -> dict[str, Any]:
                reply: dict[str, Any] = probe.get("/healthz").json()
                return reply

            def ask() -> None:
                with httpx.Client(base_url=base, timeout=30) as client:
                    while not stop.is_set():
                        t0 = time.perf_counter()
                        try:
                            r = client.post("/ask", json={"question": QUESTION})
                            if r.status_code != 200:
                                failures.append(str(r.status_code))
                        except httpx.HTTPError as err:
                            failures.append(type(err).__name__)
                        latencies.append((time.perf_counter() - t0) * 1000)

            client = threading.Thread(target=ask, daemon=True)
            client.start()
            time.sleep(1)
            t0 = time.perf_counter()
            for file in hostile:
                os.replace(file, folder / file.name)
            _wait(lambda: _settled(probe), 600, server)
            hostile_s = time.perf_counter() - t0
            skipped = tuple(f"{Path(row['path']).name}: {row['problem']}" for row in health()["skipped"])
            documents = health()["documents"]
            t1 = time.perf_counter()
            (folder / "added.md").write_text("# Parking\n\nParking permits are issued at the district office.\n")
            _wait(lambda: health()["documents"] > documents, 120, server)
            normal_s = time.perf_counter() - t1
            time.sleep(1)
    finally:
        stop.set()
        peak = _vm(server.pid, "VmHWM")
        stop_server(server)
    ordered = sorted(latencies) or [0.0]
    return WatchRow(
        "raised" if raised else "default",
        hostile_s,
        normal_s,
        peak,
        len(latencies),
        len(failures),
        ordered[len(ordered) // 2],
        ordered[-1],
        skipped,
    )


def _ok(client: httpx.Client, path: str) -> bool:
    try:
        return client.get(path).status_code == 200
    except httpx.HTTPError:
        return False


def _settled(probe: httpx.Client) -> bool:
    """No refresh pending: the served index lists what the folder holds (or says why not)."""
    health = probe.get("/healthz").json()
    return health.get("refresh_error") is None and len(health["skipped"]) + health["documents"] >= 1 + len(MAKERS)


def _wait(done: Callable[[], bool], seconds: float, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"qa serve exited with code {server.returncode}")
        try:
            if done():
                return
        except (httpx.HTTPError, KeyError, ValueError):
            pass
        time.sleep(0.05)
    raise RuntimeError(f"not done within {seconds:.0f} s")


def run(work: Path | None = None, *, watch: bool = True) -> tuple[list[IndexRow], list[WatchRow]]:
    """Every index row (each hostile file alone with the normal document, then all together) under both
    kinds of limits, then the watch rows."""
    with tempfile.TemporaryDirectory(prefix="qa-hostile-") as tmp:
        base = work or Path(tmp)
        rows = []
        for raised in (False, True):
            for name, make in MAKERS.items():
                rows.append(index_row(name, [make], raised, base / "index-run"))
            rows.append(index_row("all four together", list(MAKERS.values()), raised, base / "index-run"))
        watched = [watch_row(raised, base / "watch-run") for raised in (False, True)] if watch else []
        shutil.rmtree(base / "index-run", ignore_errors=True)
        shutil.rmtree(base / "watch-run", ignore_errors=True)
    return rows, watched


def format_report(rows: list[IndexRow], watched: list[WatchRow]) -> str:
    out = [
        "`qa index` over one normal document and hostile files, a fresh process per row (limits: default, or "
        f"raised: {' '.join(f'{k}={v}' for k, v in RAISED.items())})",
        "",
        "| hostile files | limits | seconds | peak RSS, qa (MB) | peak RSS, extraction worker (MB) | exit | documents "
        "indexed |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        out.append(
            f"| {r.files} | {r.limits} | {r.seconds:.1f} | {r.peak_mb:.0f} | {r.worker_peak_mb:.0f} | {r.exit_code} "
            f"| {r.documents} |"
        )
    out += ["", "Why each was skipped:"]
    seen: set[str] = set()
    every: list[IndexRow | WatchRow] = [*rows, *watched]
    for row in every:
        for reason in row.skipped:
            shown = f"- ({row.limits}) {reason}"
            if shown not in seen:
                seen.add(shown)
                out.append(shown)
    if watched:
        out += [
            "",
            "`qa serve --watch` while a client asks without pause: all four hostile files dropped in at once, then "
            "a normal file added",
            "",
            "| limits | hostile files handled (s) | normal file served (s) | server peak RSS (MB) | requests | failed "
            "| p50 ms | max ms |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for w in watched:
            out.append(
                f"| {w.limits} | {w.hostile_served_s:.1f} | {w.normal_served_s:.2f} | {w.server_peak_mb:.0f} "
                f"| {w.requests} | {w.failed} | {w.p50_ms:.0f} | {w.max_ms:.0f} |"
            )
    return "\n".join(out)
