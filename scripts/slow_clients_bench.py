"""Slow-body clients against a real `qa serve` on 127.0.0.1: how long until they are closed, and `/ask` meanwhile.

    .venv/bin/python scripts/slow_clients_bench.py [--index DIR] [--connections 200] [--body-timeout 10]

The server runs in its own process with its default guards (``QA_BODY_TIMEOUT_S``,
``QA_MAX_CONNECTIONS_PER_CLIENT``); without ``--index`` it builds and serves the seeds in a temporary folder.
Each slow client sends a POST's headers at once, then its body one byte a second. Printed:

* ``baseline``: ``/ask`` latency with no slow client;
* ``spread``: the slow clients each from its own loopback address (127.0.0.2, 127.0.0.3, ...), so that the
  per-address cap lets every one in: seconds until each was closed, and ``/ask`` latency meanwhile;
* ``one address``: the same number from 127.0.0.1 alone: how many were refused at once (503) by the cap,
  how long the rest were held.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from eval.load_bench import LOOPBACK, free_port, start_server, stop_server  # noqa: E402

QUESTION = '{"question": "What is Pehchaan?"}'
HEADERS = (
    b"POST /feedback HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\n"
    b"Content-Length: 1000\r\n\r\n"
)


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


@dataclass
class Slow:
    closed_after: list[float] = field(default_factory=list)  # seconds from the headers to the close
    refused: int = 0  # answered 503 at once (the per-address cap)
    still_open: int = 0
    failed_to_connect: int = 0


async def slow_client(port: int, source: str, give_up_s: float, out: Slow) -> None:
    try:
        reader, writer = await asyncio.open_connection(LOOPBACK, port, local_addr=(source, 0))
    except OSError:
        out.failed_to_connect += 1
        return
    started = time.monotonic()
    said = b""
    try:
        writer.write(HEADERS)
        while time.monotonic() - started < give_up_s:
            try:
                chunk = await asyncio.wait_for(reader.read(4096), timeout=1.0)
            except TimeoutError:
                writer.write(b"a")  # one more byte of the body, a second after the last
                continue
            if not chunk:
                break
            said += chunk
        else:
            out.still_open += 1
            return
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()
    if said.startswith(b"HTTP/1.1 503"):
        out.refused += 1
    else:
        out.closed_after.append(time.monotonic() - started)


ASKER = "127.0.255.1"  # the client asking meanwhile: an address of its own, apart from the slow ones


def ask_meanwhile(base: str, stop: threading.Event, latencies: list[float], errors: list[int]) -> None:
    transport = httpx.HTTPTransport(local_address=ASKER)
    with httpx.Client(base_url=base, timeout=30, transport=transport) as http:
        while not stop.is_set():
            started = time.perf_counter()
            try:
                ok = http.post("/ask", content=QUESTION, headers={"content-type": "application/json"}).status_code
            except httpx.HTTPError:
                ok = 0
            latencies.append((time.perf_counter() - started) * 1000)
            if ok != 200:
                errors.append(ok)


def run_slow(port: int, sources: list[str], give_up_s: float) -> tuple[Slow, float, list[float], list[int]]:
    latencies: list[float] = []
    errors: list[int] = []
    stop = threading.Event()
    asker = threading.Thread(target=ask_meanwhile, args=(f"http://{LOOPBACK}:{port}", stop, latencies, errors))
    out = Slow()

    async def all_of_them() -> None:
        await asyncio.gather(*(slow_client(port, source, give_up_s, out) for source in sources))

    started = time.monotonic()
    asker.start()
    try:
        asyncio.run(all_of_them())
    finally:
        stop.set()
        asker.join()
    return out, time.monotonic() - started, latencies, errors


def latency(latencies: list[float], errors: list[int]) -> str:
    if not latencies:
        return "/ask: no request finished"
    ordered = sorted(latencies)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return (
        f"/ask: {len(ordered)} requests, p50 {statistics.median(ordered):.0f} ms, p95 {p95:.0f} ms, "
        f"max {ordered[-1]:.0f} ms, {len(errors)} failed"
    )


def closes(out: Slow) -> str:
    if not out.closed_after:
        return "none closed"
    return (
        f"{len(out.closed_after)} closed after {min(out.closed_after):.1f}-{max(out.closed_after):.1f} s "
        f"(median {statistics.median(out.closed_after):.1f} s)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path, help="index to serve (default: the seeds, built in a temporary folder)")
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--body-timeout", type=float, default=10.0, help="QA_BODY_TIMEOUT_S of the server")
    args = parser.parse_args()
    os.environ["QA_BODY_TIMEOUT_S"] = str(args.body_timeout)
    os.environ.setdefault("QA_MAX_CONNECTIONS_PER_CLIENT", "50")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    give_up_s = args.body_timeout + 60
    with tempfile.TemporaryDirectory() as tmp:
        index_dir = args.index or Path(tmp) / "idx"
        port = free_port()
        started = time.monotonic()
        proc = start_server(index_dir, port, timeout=600)
        say(f"qa serve on {LOOPBACK}:{port} ready in {time.monotonic() - started:.0f} s ({index_dir})")
        say(
            f"body timeout {args.body_timeout:g} s, at most {os.environ['QA_MAX_CONNECTIONS_PER_CLIENT']} "
            "connections per address"
        )
        try:
            latencies: list[float] = []
            errors: list[int] = []
            stop = threading.Event()
            timer = threading.Timer(5.0, stop.set)
            timer.start()
            ask_meanwhile(f"http://{LOOPBACK}:{port}", stop, latencies, errors)
            say(f"baseline, 5 s, no slow client: {latency(latencies, errors)}")

            spread = [f"127.0.{(i + 2) // 256}.{(i + 2) % 256}" for i in range(args.connections)]
            out, took, latencies, errors = run_slow(port, spread, give_up_s)
            say(
                f"spread, {args.connections} slow bodies from {args.connections} addresses: all done in {took:.1f} s; "
                f"{closes(out)}; {out.refused} refused, {out.still_open} still open after {give_up_s:.0f} s, "
                f"{out.failed_to_connect} could not connect"
            )
            say(f"  meanwhile {latency(latencies, errors)}")

            out, took, latencies, errors = run_slow(port, [LOOPBACK] * args.connections, give_up_s)
            say(
                f"one address, {args.connections} slow bodies from {LOOPBACK}: all done in {took:.1f} s; "
                f"{out.refused} refused at once (503); {closes(out)}; {out.still_open} still open"
            )
            say(f"  meanwhile {latency(latencies, errors)}")
        finally:
            stop_server(proc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
