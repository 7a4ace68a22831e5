"""How retrieval ranks passages: the fusion of BM25 and dense rankings, and how many passages a question gets.

Plain data, light to import: the settings (:mod:`qa.settings`) take their defaults from here.
"""

from __future__ import annotations

from dataclasses import dataclass

TOP_K = 5  # passages retrieved and returned per question unless a caller asks for another number
MODES = ("hybrid", "bm25", "dense")
METHODS = ("rrf", "blend")


@dataclass(frozen=True, slots=True)
class FusionSettings:
    """How BM25 and dense rankings are fused.

    ``rrf``: score = w_bm25 / (rrf_k + rank_bm25) + w_dense / (rrf_k + rank_dense).
    ``blend``: score = w_bm25 * bm25 / max(bm25) + w_dense * cosine.
    ``candidates`` passages are taken from each retriever before fusing.

    The default (blend, 0.5 : 1) was chosen with ``qa bench fusion`` on SciFact *train* qrels and
    the civic *dev* questions: the best train nDCG@10 on a flat plateau (0.2 to 0.7), and as good
    as BM25 alone at ranking the right civic document first.
    """

    method: str = "blend"
    rrf_k: int = 60
    bm25_weight: float = 0.5
    dense_weight: float = 1.0
    candidates: int = 100

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"unknown fusion method {self.method!r}; choose one of {', '.join(METHODS)}")
        if self.candidates < 1 or self.rrf_k < 0:
            raise ValueError("candidates must be >= 1 and rrf_k >= 0")
