"""Questions are answered concurrently (no whole-request lock), and concurrent answers are the sequential ones."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

import web.deps

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


def test_the_state_has_no_request_lock() -> None:
    assert not any("lock" in name for name in web.deps.AppState.__slots__)


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
