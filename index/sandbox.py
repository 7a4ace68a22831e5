"""Extraction in a worker process that a file cannot take down with it: memory and CPU time are limited.

The checks of :mod:`index.formats` bound what a file can make us do before a parser starts; what a
parsing library does past them (pypdf's content streams, lxml, Lexbor) is not ours to bound line by
line. So PDF, HTML and Word files are parsed in one worker process per read (started at the first such
file, reused for the next ones), under ``RLIMIT_AS`` (address space: an allocation past it fails, a
``MemoryError``) and ``RLIMIT_CPU`` (renewed per file: past it the kernel stops the worker). A file that
hits a limit is skipped with one line naming the limit and the setting that raises it; the worker is
started again for the next file, and the building (or serving) process never holds the file's memory.

The worker is a fresh interpreter (``python -m index.sandbox``, about 0.3 s to start with the parsers
loaded), not a fork: nothing of the serving process (its threads, its model, its memory) is copied, and
no caller's main module is run again. Requests and replies are JSON with the file's bytes beside them,
framed on a pair of pipes; nothing is unpickled.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import resource
import signal
import subprocess
import sys
from dataclasses import asdict
from multiprocessing.connection import Connection
from pathlib import Path
from types import TracebackType
from typing import Any

from index.errors import DocumentError
from index.formats import EXTRACTORS, Extracted, extract
from index.limits import ReadLimits, mb

log = logging.getLogger(__name__)

_ROOT = Path(__file__).resolve().parent.parent  # the folder holding the index package


class ExtractionWorker:
    """Extracts PDF, HTML and Word files in a limited worker process; use as a context manager.

    ``extract`` returns what :func:`index.formats.extract` returns, or raises :class:`DocumentError` for
    a bad file and for one that hit ``limits.memory_bytes`` or ``limits.cpu_seconds``. The worker starts
    at the first file that needs it and is started again after a file that stopped it.
    """

    def __init__(self, limits: ReadLimits) -> None:
        self.limits = limits
        self._process: subprocess.Popen[bytes] | None = None
        self._send: Connection | None = None
        self._receive: Connection | None = None
        self._exitcode: int | None = None
        self.started = 0  # workers started

    def __enter__(self) -> ExtractionWorker:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def extract(self, path: Path, data: bytes) -> Extracted | None:
        if path.suffix.lower() not in EXTRACTORS:
            return None
        if not self.limits.sandbox:
            try:
                return extract(path, data, self.limits)
            except MemoryError:
                raise DocumentError(path, "ran out of memory while being read") from None
        send, receive = self._start()
        wall = self.limits.cpu_seconds * 2 + 10  # CPU time is the limit; this catches a worker that waits
        reply: dict[str, Any] | None = None
        replied = True
        try:
            send.send_bytes(json.dumps({"path": str(path), "limits": asdict(self.limits)}).encode())
            send.send_bytes(data)
            replied = receive.poll(wall)
            reply = json.loads(receive.recv_bytes()) if replied else None
        except (EOFError, OSError):
            reply = None
        if reply is None:
            if replied and self._process is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self._process.wait(timeout=2)  # it is ending: let it, so that its exit code says why
            self._stop(kill=True)
            raise DocumentError(path, self._why_stopped(replied, wall))
        for note in reply.get("notes", []):
            log.warning("%s", note)  # what the parser said about the file (pages without text...)
        kind = reply["kind"]
        if kind == "ok":
            return Extracted(reply["text"], reply["title"], reply["format"])
        if kind == "memory":
            self._stop(kill=True)  # a worker that ran out of memory is not trusted with the next file
            raise DocumentError(path, self._memory_problem())
        if kind == "import":
            raise ImportError(reply["problem"])
        raise DocumentError(path, reply["problem"])

    def _memory_problem(self) -> str:
        return (
            f"needs more than the {mb(self.limits.memory_bytes)} of memory its reader may use "
            "(QA_EXTRACT_MEMORY_MB); split it or raise the limit"
        )

    def _why_stopped(self, replied: bool, wall: float) -> str:
        if not replied:
            return f"took over {wall:.0f} s to read (QA_EXTRACT_SECONDS); split it or raise the limit"
        code = self._exitcode
        if code == -signal.SIGXCPU:
            return (
                f"took over {self.limits.cpu_seconds:g} s of CPU time to read (QA_EXTRACT_SECONDS); "
                "split it or raise the limit"
            )
        if code in (-signal.SIGKILL, -signal.SIGABRT, -signal.SIGSEGV, -signal.SIGBUS):
            return self._memory_problem() + f" (its reader was stopped by signal {-code})"
        return f"stopped its reader (exit code {code}); the file may be damaged"

    def _start(self) -> tuple[Connection, Connection]:
        if self._process is not None and self._process.poll() is None and self._send and self._receive:
            return self._send, self._receive
        self._stop(kill=True)
        to_worker_r, to_worker_w = os.pipe()
        from_worker_r, from_worker_w = os.pipe()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_ROOT), env.get("PYTHONPATH", "")]))
        try:
            self._process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "index.sandbox",
                    str(to_worker_r),
                    str(from_worker_w),
                    str(self.limits.memory_bytes),
                ],
                pass_fds=(to_worker_r, from_worker_w),
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,  # Ctrl-C reaches the parent, which stops the worker
            )
        finally:
            os.close(to_worker_r)
            os.close(from_worker_w)
        self._send = Connection(to_worker_w, readable=False)
        self._receive = Connection(from_worker_r, writable=False)
        self.started += 1
        return self._send, self._receive

    def _stop(self, *, kill: bool = False) -> None:
        process, send, receive = self._process, self._send, self._receive
        self._process, self._send, self._receive = None, None, None
        if send is not None:
            send.close()  # the worker reads end-of-file and ends
        if receive is not None:
            receive.close()
        if process is None:
            return
        if kill and process.poll() is None:
            process.kill()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        self._exitcode = process.returncode

    def close(self) -> None:
        self._stop()


class _Notes(logging.Handler):
    """The warnings :mod:`index.formats` logs about a file, sent back with the reply to be logged there."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def _serve(receive: Connection, send: Connection, memory_bytes: int) -> None:
    """The worker: extract each file sent, reply ``{"kind": "ok", ...}`` or ``{"kind": ..., "problem": ...}``."""
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    notes, ours = _Notes(), logging.getLogger("index")
    ours.setLevel(logging.WARNING)
    ours.addHandler(notes)
    ours.propagate = False
    while True:
        try:
            request = json.loads(receive.recv_bytes())
            data = receive.recv_bytes()
        except (EOFError, OSError):
            return
        limits = ReadLimits(**request["limits"])
        used = resource.getrusage(resource.RUSAGE_SELF)
        budget = math.ceil(used.ru_utime + used.ru_stime + limits.cpu_seconds)
        hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
        resource.setrlimit(resource.RLIMIT_CPU, (budget if hard == resource.RLIM_INFINITY else min(budget, hard), hard))
        reply: dict[str, Any]
        try:
            extracted = extract(Path(request["path"]), data, limits)
            assert extracted is not None, "the parent sends only files whose suffix has an extractor"
            reply = {"kind": "ok", "text": extracted.text, "title": extracted.title, "format": extracted.format}
        except DocumentError as err:
            reply = {"kind": "error", "problem": err.problem}
        except MemoryError:
            reply = {"kind": "memory"}
        except ImportError as err:
            reply = {"kind": "import", "problem": str(err)}
        del data
        reply["notes"], notes.lines = notes.lines, []
        try:
            send.send_bytes(json.dumps(reply).encode())
        except MemoryError:
            send.send_bytes(b'{"kind": "memory"}')


if __name__ == "__main__":
    logging.basicConfig(level=logging.ERROR)  # the parsers' own notes on damaged files stay in the worker
    _serve(
        Connection(int(sys.argv[1]), writable=False),
        Connection(int(sys.argv[2]), readable=False),
        int(sys.argv[3]),
    )
