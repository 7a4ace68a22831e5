"""Micro-batching: questions that arrive together are encoded and read in one ``answer`` call.

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
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass

from qa.types import Result

log = logging.getLogger(__name__)

# answer_batch(questions, key): ``key`` is whatever must be the same for the whole batch
# (the retriever of the request's snapshot, top_k, threshold, the reader).
AnswerBatch = Callable[[Sequence[str], Hashable], list[Result]]


@dataclass(slots=True)
class _Job:
    question: str
    key: Hashable
    future: Future[Result]


class MicroBatcher:
    def __init__(self, answer_batch: AnswerBatch, *, window_ms: float = 0.0, max_batch: int = 32) -> None:
        self._answer = answer_batch
        self._window = window_ms / 1000
        self._max = max_batch
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        self._worker = threading.Thread(target=self._run, name="qa-microbatcher", daemon=True)
        self._worker.start()

    def submit(self, question: str, key: Hashable) -> Result:
        """Answer one question through the shared batch; raises what answering raised."""
        job = _Job(question, key, Future())
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
        by_key: dict[Hashable, list[_Job]] = {}
        for job in batch:
            by_key.setdefault(job.key, []).append(job)
        for key, jobs in by_key.items():
            try:
                results = self._answer([j.question for j in jobs], key)
            except Exception as err:
                if len(jobs) == 1:
                    jobs[0].future.set_exception(err)
                    continue
                for j in jobs:  # one bad question must not fail the others: answer each alone
                    answer_alone(j, self._answer)
                continue
            for j, r in zip(jobs, results, strict=True):
                j.future.set_result(r)


def answer_alone(job: _Job, answer_batch: AnswerBatch) -> None:
    """Answer ``job`` alone, handing back its result or the error (mapped to a response by the caller)."""
    try:
        job.future.set_result(answer_batch([job.question], job.key)[0])
    except Exception as err:
        job.future.set_exception(err)
