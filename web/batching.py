"""Micro-batching: questions that arrive together are encoded and read in one ``ask`` call.

Request threads hand their question to :class:`MicroBatcher` and wait; one worker thread takes
the first waiting question together with every other question already waiting (and, with
``window_ms`` > 0, those arriving within it), up to ``max_batch``, answers them as one batch (one
encode call for all) and hands each result back. Under load the queue fills while a batch is
being answered, so batches form without any waiting; a lone question is answered at once.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Protocol

from qa.types import Result

log = logging.getLogger(__name__)


class Asks(Protocol):
    """What answers a batch: :class:`qa.wiring.Assistant` (the one of the request's snapshot of the app)."""

    def ask(self, questions: Sequence[str], top_k: int = ...) -> list[Result]: ...


@dataclass(slots=True)
class _Job:
    question: str
    assistant: Asks
    top_k: int
    future: Future[Result]


class MicroBatcher:
    """Questions for the same assistant and ``top_k`` that wait together are asked together."""

    def __init__(self, *, window_ms: float = 0.0, max_batch: int = 32) -> None:
        self._window = window_ms / 1000
        self._max = max_batch
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        self._worker = threading.Thread(target=self._run, name="qa-microbatcher", daemon=True)
        self._worker.start()

    def submit(self, question: str, assistant: Asks, top_k: int) -> Result:
        """Answer one question through the shared batch; raises what answering raised."""
        job = _Job(question, assistant, top_k, Future())
        self._jobs.put(job)
        return job.future.result()

    def close(self) -> None:
        self._jobs.put(None)
        self._worker.join(timeout=5)

    def _run(self) -> None:
        while True:
            first = self._jobs.get()
            if first is None:
                return
            batch = [first]
            deadline = time.monotonic() + self._window
            while len(batch) < self._max:
                left = deadline - time.monotonic()
                try:
                    # Whatever is already waiting joins at once; then wait out the window, if any.
                    job = self._jobs.get(timeout=left) if left > 0 else self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    self._jobs.put(None)  # finish this batch, then stop
                    break
                batch.append(job)
            self._answer_all(batch)

    def _answer_all(self, batch: list[_Job]) -> None:
        by_key: dict[tuple[int, int], list[_Job]] = {}
        for job in batch:
            by_key.setdefault((id(job.assistant), job.top_k), []).append(job)
        for jobs in by_key.values():
            try:
                results = jobs[0].assistant.ask([j.question for j in jobs], jobs[0].top_k)
            except Exception as err:
                if len(jobs) == 1:
                    jobs[0].future.set_exception(err)
                    continue
                for j in jobs:  # one bad question must not fail the others: answer each alone
                    answer_alone(j)
                continue
            for j, r in zip(jobs, results, strict=True):
                j.future.set_result(r)


def answer_alone(job: _Job) -> None:
    """Answer ``job`` alone, handing back its result or the error (mapped to a response by the caller)."""
    try:
        job.future.set_result(job.assistant.ask([job.question], job.top_k)[0])
    except Exception as err:
        job.future.set_exception(err)
