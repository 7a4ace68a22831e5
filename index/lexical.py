"""BM25 over stemmed tokens (bm25s + PyStemmer), saved as JSON and .npy files, never pickled."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import bm25s
import numpy as np
import Stemmer

log = logging.getLogger(__name__)

_TOKEN = re.compile(r"\w+", re.UNICODE)
_STOPWORDS = frozenset(bm25s.stopwords.STOPWORDS_EN)


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def tokenize(text: str) -> list[str]:
    """Lowercased word tokens without English stopwords, Snowball-stemmed."""
    words = [w for w in _TOKEN.findall(text.lower()) if w not in _STOPWORDS and (len(w) > 1 or w.isdigit())]
    stems: list[str] = _stemmer().stemWords(words)  # PyStemmer is untyped: it returns a list of str
    return stems


class LexicalIndex:
    """A BM25 index over passages; ``scores`` returns one score per passage."""

    def __init__(self, bm25: bm25s.BM25) -> None:
        self._bm25 = bm25

    @classmethod
    def fit(cls, texts: Iterable[str]) -> LexicalIndex:
        bm25 = bm25s.BM25()
        # Tokens interned: a million passages hold ~60 million tokens of ~100,000 distinct words; one copy each.
        corpus = [[sys.intern(w) for w in tokenize(t)] or [""] for t in texts]
        if corpus:
            bm25.index(corpus, show_progress=False)
        return cls(bm25)

    @property
    def size(self) -> int:
        scores = getattr(self._bm25, "scores", None)
        return int(scores["num_docs"]) if scores else 0

    def scores(self, query: str) -> np.ndarray:
        tokens = tokenize(query)
        if not tokens or self.size == 0:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(tokens), dtype=np.float32)

    def save(self, folder: Path) -> None:
        self._bm25.save(str(folder), show_progress=False, allow_pickle=False)

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex:
        # Memory-mapped: a query reads only its words' postings, so a million passages' BM25 stays on disk.
        return cls(bm25s.BM25.load(str(folder), allow_pickle=False, mmap=True))
