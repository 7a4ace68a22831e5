"""Candidate search behind retrieval: where the BM25 and dense candidates of a query come from.

:class:`LocalSearch` keeps both on this machine (bm25s and a :mod:`index.dense` store over the index
folder's vectors); :class:`index.milvus.MilvusSearch` asks a Milvus collection, whose own BM25 full-text
search and vector index answer, so that nothing must fit on one machine. Both return, per query, the
union of the two candidate lists with a BM25 score and a cosine for each candidate; fusing them into one
ranking is :class:`qa.retriever.Retriever`'s job.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from index.lexical import LexicalIndex


@dataclass(frozen=True, slots=True)
class Candidates:
    """One query's candidate rows, with their BM25 scores (``None``: not asked) and cosines (likewise)."""

    rows: np.ndarray
    bm25: np.ndarray | None
    dense: np.ndarray | None


class SearchBackend(Protocol):
    """What a retriever asks of an index's search structures."""

    def candidates(
        self, queries: Sequence[str], vectors: np.ndarray | None, n: int, *, lexical: bool
    ) -> list[Candidates]: ...


class NearestVectors(Protocol):
    """The dense candidates of queries: (cosines, rows) of ``k`` columns, ``-1`` rows past the hits."""

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]: ...


class LocalSearch:
    """BM25 (bm25s) and a dense store (a local :class:`index.dense.DenseStore`, or a Milvus collection without
    full-text search); both scores are exact for every candidate (BM25 from the full score vector, the cosine
    from the stored passage vectors)."""

    def __init__(self, dense: NearestVectors, lexical: LexicalIndex, embeddings: np.ndarray) -> None:
        self.dense = dense
        self.lexical = lexical
        self.embeddings = embeddings

    def candidates(
        self, queries: Sequence[str], vectors: np.ndarray | None, n: int, *, lexical: bool
    ) -> list[Candidates]:
        dense_ids = self.dense.search(vectors, n)[1] if vectors is not None else None
        out = []
        for qi, query in enumerate(queries):
            bm25_all = self.lexical.scores(query) if lexical else None
            lists: list[np.ndarray] = []
            if bm25_all is not None:
                top = top_n(bm25_all, n)
                lists.append(top[bm25_all[top] > 0])
            if dense_ids is not None:
                ids = dense_ids[qi]
                lists.append(ids[ids >= 0])
            rows = np.unique(np.concatenate(lists)) if lists else np.zeros(0, np.int64)
            bm25 = bm25_all[rows] if bm25_all is not None else None
            dense = np.asarray(self.embeddings[rows], dtype=np.float32) @ vectors[qi] if vectors is not None else None
            out.append(Candidates(rows.astype(np.int64), bm25, dense))
        return out


def top_n(scores: np.ndarray, n: int) -> np.ndarray:
    """The indices of the ``n`` highest scores, best first."""
    if n >= scores.size:
        return np.argsort(-scores, kind="stable")
    part = np.argpartition(-scores, n - 1)[:n]
    return part[np.argsort(-scores[part], kind="stable")]
