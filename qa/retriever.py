"""Hybrid retrieval: BM25 and dense candidates, fused into one ranking of passages.

``Retriever.search(queries, k)`` takes a batch of questions (a single question is a batch of one)
and returns, per question, ``k`` :class:`~qa.types.Hit` objects carrying the fused score and the
per-retriever ranks and scores behind it. The candidates and their scores come from the index's search
backend (:mod:`index.search`: bm25s and FAISS on this machine, or a Milvus collection).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from index.embed import Embedder
from index.errors import InvalidQueryError
from index.store import Index
from qa.fusion import MODES, TOP_K, FusionSettings
from qa.questions import clean_question
from qa.types import Hit


class Retriever:
    """Search an :class:`~index.store.Index` with BM25, dense vectors, or both fused."""

    def __init__(self, index: Index, embedder: Embedder, fusion: FusionSettings | None = None) -> None:
        if embedder.name != index.model_name:
            from index.errors import IndexMismatchError

            raise IndexMismatchError(index.path, "model", embedder.name, index.model_name)
        self.index = index
        self.embedder = embedder
        self.fusion = fusion or FusionSettings()

    def search(
        self, queries: Sequence[str], k: int = TOP_K, *, mode: str = "hybrid", vectors: np.ndarray | None = None
    ) -> list[list[Hit]]:
        """The top ``k`` passages for each query, best first.

        ``vectors`` may carry the queries' embeddings when the caller has them already.
        """
        if isinstance(queries, str):
            raise TypeError("search takes a batch of queries: pass [question]")
        if mode not in MODES:
            raise InvalidQueryError(f"unknown retrieval mode {mode!r}; choose one of {', '.join(MODES)}")
        if k < 1:
            raise InvalidQueryError(f"k must be at least 1, got {k}")
        for q in queries:
            if not clean_question(q):
                raise InvalidQueryError("a query is empty; ask a question in words")
        n_passages = len(self.index.passages)
        if not queries or n_passages == 0:
            return [[] for _ in queries]
        n = min(max(self.fusion.candidates, k), n_passages)

        if vectors is None and mode != "bm25":
            vectors = self.embedder.encode(list(queries))
        found = self.index.search.candidates(list(queries), vectors, n, lexical=mode != "dense")
        return [self._fuse(c.rows, c.bm25, c.dense, k, mode) if c.rows.size else [] for c in found]

    def _fuse(
        self, cand: np.ndarray, bm25: np.ndarray | None, dense: np.ndarray | None, k: int, mode: str
    ) -> list[Hit]:
        f = self.fusion
        bm25_rank = _ranks(bm25, positive_only=True) if bm25 is not None else None
        dense_rank = _ranks(dense) if dense is not None else None
        fused: np.ndarray
        if mode == "bm25":
            assert bm25 is not None, "a bm25 search scores its candidates"
            fused = bm25
        elif mode == "dense":
            assert dense is not None, "a dense search scores its candidates"
            fused = dense
        else:
            assert bm25 is not None and dense is not None, "a hybrid search scores its candidates both ways"
            assert bm25_rank is not None and dense_rank is not None
            if f.method == "rrf":
                fused = np.zeros(cand.size)
                for ranks, weight in ((bm25_rank, f.bm25_weight), (dense_rank, f.dense_weight)):
                    fused += np.where(ranks > 0, weight / (f.rrf_k + np.maximum(ranks, 1)), 0.0)
            else:
                top = float(bm25.max()) if bm25.size and bm25.max() > 0 else 1.0
                fused = f.bm25_weight * bm25 / top + f.dense_weight * dense
        order = np.lexsort((cand, -fused))[:k]
        hits = []
        for rank, j in enumerate(order, 1):
            passage = self.index.passages[int(cand[j])]
            doc = self.index.documents[passage.doc_id]
            hits.append(
                Hit(
                    passage=passage,
                    title=doc.title,
                    score=float(fused[j]),
                    rank=rank,
                    bm25_rank=int(bm25_rank[j]) if bm25_rank is not None and bm25_rank[j] > 0 else None,
                    bm25_score=float(bm25[j]) if bm25 is not None else None,
                    dense_rank=int(dense_rank[j]) if dense_rank is not None else None,
                    dense_score=float(dense[j]) if dense is not None else None,
                )
            )
        return hits


def _ranks(scores: np.ndarray, positive_only: bool = False) -> np.ndarray:
    """1-based ranks by descending score among the candidates; 0 where a score is not positive."""
    order = np.argsort(-scores, kind="stable")
    ranks = np.empty(scores.size, dtype=np.int64)
    ranks[order] = np.arange(1, scores.size + 1)
    if positive_only:
        ranks[scores <= 0] = 0
    return ranks
