from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from index.embed import Embedder
from index.store import Index
from qa.answer import answer, reader_for
from qa.retriever import Retriever
from qa.types import Result
from qa.wiring import Assistant
from web.batching import MicroBatcher

QUESTIONS = [
    "What is Pehchaan?",
    "Which SMS short code reaches the identity service?",
    "When does the fellowship cohort start?",
    "What do fellows build?",
    "Where is the hackathon held?",
    "Do hackathon winners get cash?",
]


def test_concurrent_questions_are_answered_in_shared_batches(three_docs_index: Path, embedder: Embedder) -> None:
    retriever = Retriever(Index.load(three_docs_index), embedder)
    assistant = Assistant(retriever, reader_for(retriever.index))
    sizes: list[int] = []

    class Counting:
        """The real assistant, counting the questions of each batch it is asked."""

        def ask(self, questions: Sequence[str], top_k: int = 5) -> list[Result]:
            sizes.append(len(questions))
            return assistant.ask(questions, top_k)

    counting = Counting()
    batcher = MicroBatcher(window_ms=50)
    results: dict[str, Result] = {}
    start = threading.Barrier(len(QUESTIONS))

    def ask(q: str) -> None:
        start.wait()
        results[q] = batcher.submit(q, counting, 5)

    threads = [threading.Thread(target=ask, args=(q,)) for q in QUESTIONS]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    batcher.close()
    alone = {q: answer([q], retriever)[0] for q in QUESTIONS}
    assert set(results) == set(QUESTIONS)
    for q in QUESTIONS:  # each question gets its own result, the same as when asked alone
        assert results[q].question == q
        got, want = results[q].answer, alone[q].answer
        assert (got.text if got else None) == (want.text if want else None)
    assert max(sizes) > 1 and sum(sizes) == len(QUESTIONS)


def test_a_failing_question_does_not_fail_its_batch(three_docs_index: Path, embedder: Embedder) -> None:
    retriever = Retriever(Index.load(three_docs_index), embedder)
    assistant = Assistant(retriever, reader_for(retriever.index))
    batcher = MicroBatcher(window_ms=50)
    outcomes: dict[str, object] = {}
    start = threading.Barrier(2)

    def ask(q: str) -> None:
        start.wait()
        try:
            outcomes[q] = batcher.submit(q, assistant, 5)
        except Exception as err:
            outcomes[q] = err

    threads = [threading.Thread(target=ask, args=(q,)) for q in ("What is Pehchaan?", "   ")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    batcher.close()
    assert isinstance(outcomes["What is Pehchaan?"], Result)
    assert isinstance(outcomes["   "], Exception) and "empty" in str(outcomes["   "])
