"""How close an eval set's questions sit to the documents' words: the lexical overlap.

For an answerable question, the share of its content words (lowercased, English stopwords and
question words dropped, Snowball-stemmed: the BM25 analysis) that stand within ``WINDOW``
characters either side of its gold answer in its gold document; where the answer stands more than
once, the closest occurrence counts (so the figure is never understated). A set's overlap is the
median over its answerable questions. People ask in their own words (about 0.35); questions written
while reading the text sit near 0.5-0.6.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Mapping, Sequence

from eval.sets import EvalQuestion
from index.lexical import tokenize

WINDOW = 150  # characters either side of the answer: about its sentence and the next
_QUESTION_WORDS = frozenset(
    tokenize(
        " ".join(
            [
                "what",
                "which",
                "who",
                "whom",
                "whose",
                "when",
                "where",
                "why",
                "how",
                "much",
                "many",
                "does",
                "did",
                "do",
                "is",
                "are",
                "can",
                "tell",
                "me",
                "please",
            ]
        )
    )
)
_QUESTION_WORDS = _QUESTION_WORDS | frozenset(["much", "mani", "tell", "pleas"])


def content_words(question: str) -> set[str]:
    return {w for w in tokenize(question) if w not in _QUESTION_WORDS}


def _occurrences(text: str, gold: str) -> list[int]:
    pattern = re.escape(gold.strip()).replace(r"\ ", r"\s+")
    return [m.start() for m in re.finditer(pattern, text, flags=re.IGNORECASE)]


def question_overlap(question: EvalQuestion, documents: Mapping[str, str], window: int = WINDOW) -> float | None:
    """The share of the question's content words around its answer; None when unanswerable or not found."""
    if not question.answerable or question.doc is None or question.doc not in documents:
        return None
    words = content_words(question.question)
    if not words:
        return 0.0
    text = documents[question.doc]
    best: float | None = None
    for gold in question.answers:
        for at in _occurrences(text, gold):
            around = set(tokenize(text[max(0, at - window) : at + len(gold) + window]))
            share = len(words & around) / len(words)
            best = share if best is None else max(best, share)
    return best


def set_overlap(questions: Sequence[EvalQuestion], documents: Mapping[str, str]) -> float | None:
    """The median overlap over the answerable questions whose answer stands in their document."""
    values = [v for q in questions if (v := question_overlap(q, documents)) is not None]
    return statistics.median(values) if values else None
