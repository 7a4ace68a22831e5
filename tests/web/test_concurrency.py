"""Questions are answered concurrently (no whole-request lock), and concurrent answers are the sequential ones."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from index.embed import Embedder
from qa.settings import Settings
from tests.web.conftest import uvicorn_in_thread
from web.app import create_app

QUESTIONS = [
    "What is the SMS short code of Pehchaan?",
    "When does the fellowship cohort start?",
    "Where is the annual civic hackathon held?",
    "How many passengers does the Peshawar BRT carry a day?",
    "Who won the cricket world cup?",
]


def essentials(body: dict[str, Any]) -> tuple[Any, ...]:
    answer = body["answer"]
    key = (answer["doc_id"], answer["start"], answer["end"], answer["text"]) if answer else None
    return body["question"], body["no_answer"], key, [(p["doc_id"], p["start"], p["end"]) for p in body["passages"]]


class HoldingEmbedder(Embedder):
    """The session's real model, that holds the encoding of ``HELD`` until ``release`` is set."""

    def __init__(self, real: Embedder) -> None:
        super().__init__(real.name)
        self._model = real.model
        self.holding = threading.Event()
        self.release = threading.Event()

    def encode(self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False) -> np.ndarray:
        if HELD in texts:
            self.holding.set()
            assert self.release.wait(timeout=60)
        return super().encode(texts, batch_size=batch_size, progress=progress)


HELD = "Who organises the civic hackathon?"


def test_a_question_is_answered_while_another_is_still_being_answered(web_index: Path, embedder: Embedder) -> None:
    """No lock around a whole request: one question held inside the model does not stop the next. (Micro-batching
    off: with it on, questions wait for the batch in flight by design, and this test fails.)"""
    holding = HoldingEmbedder(embedder)
    app = create_app(Settings(index_dir=web_index, micro_batch=False, examples=0), embedder=holding)
    with uvicorn_in_thread(app, lifespan="on") as port, ThreadPoolExecutor(max_workers=1) as pool:
        base = f"http://127.0.0.1:{port}"
        held = pool.submit(lambda: httpx.post(f"{base}/ask", json={"question": HELD}, timeout=120))
        try:
            assert holding.holding.wait(timeout=60)
            response = httpx.post(f"{base}/ask", json={"question": QUESTIONS[0]}, timeout=30)  # fails, not hangs
            assert response.status_code == 200 and "8070" in response.json()["answer"]["text"]
            assert not held.done()  # the first question is still inside the model
        finally:
            holding.release.set()
        assert held.result(timeout=120).status_code == 200


def test_twenty_concurrent_questions_get_twenty_right_answers(live_server: str) -> None:
    with httpx.Client(base_url=live_server, timeout=120) as client:
        expected = {q: essentials(client.post("/ask", json={"question": q}).json()) for q in QUESTIONS}
    asked = [QUESTIONS[i % len(QUESTIONS)] for i in range(20)]
    barrier = threading.Barrier(len(asked))

    def ask(question: str) -> tuple[int, dict[str, Any]]:
        with httpx.Client(base_url=live_server, timeout=120) as client:
            barrier.wait(timeout=60)  # all twenty on the wire at once
            response = client.post("/ask", json={"question": question})
            return response.status_code, response.json()

    with ThreadPoolExecutor(max_workers=len(asked)) as pool:
        results = list(pool.map(ask, asked))
    assert [status for status, _ in results] == [200] * 20
    for question, (_, body) in zip(asked, results, strict=True):
        assert essentials(body) == expected[question]
    assert expected[QUESTIONS[0]][2] is not None and "8070" in expected[QUESTIONS[0]][2][3]
