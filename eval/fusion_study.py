"""`qa bench fusion`: compare fusion settings on SciFact **train** qrels and the civic **dev** sets.

Never uses the test queries that get reported. Prints one row per setting.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eval.corpora import DEV_SETS, corpus_of, sources
from eval.metrics import hit_at_k, mrr_at_k, ndcg_at_k, unique_docs
from eval.retrieval_bench import cached_index, load_beir
from eval.sets import SETS_DIR, load_eval_set
from index.chunking import ChunkSettings
from index.embed import Embedder
from index.reader import read_documents
from qa.fusion import FusionSettings
from qa.retriever import Retriever

GRID: tuple[tuple[str, str, FusionSettings], ...] = (
    ("bm25 alone", "bm25", FusionSettings()),
    ("dense alone", "dense", FusionSettings()),
    *((f"rrf k={k}", "hybrid", FusionSettings(method="rrf", rrf_k=k, bm25_weight=1.0)) for k in (10, 30, 60, 100)),
    *(
        (f"rrf k=60 bm25:dense={wb}:{wd}", "hybrid", FusionSettings(method="rrf", bm25_weight=wb, dense_weight=wd))
        for wb, wd in ((1.5, 1.0), (2.0, 1.0), (1.0, 1.5))
    ),
    *(
        (f"blend {wb}*bm25/max + cos", "hybrid", FusionSettings(method="blend", bm25_weight=wb))
        for wb in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 1.0)
    ),
)


class MemoEmbedder(Embedder):
    """Caches query vectors so that every setting of the grid encodes each query once."""

    def __init__(self, inner: Embedder) -> None:
        super().__init__(inner.name)
        self._inner = inner
        self._memo: dict[str, np.ndarray] = {}

    def encode(self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._memo]
        if missing:
            for t, v in zip(missing, self._inner.encode(missing, batch_size=batch_size), strict=True):
                self._memo[t] = v
        return np.stack([self._memo[t] for t in texts])


@dataclass(frozen=True, slots=True)
class StudyRow:
    name: str
    scifact_ndcg10: float
    civic_hit1: float
    civic_mrr10: float


def run(
    scifact: Path, corpora: Path, *, embedder: Embedder, cache_dir: Path, chunking: ChunkSettings
) -> list[StudyRow]:
    memo = MemoEmbedder(embedder)
    docs, queries, qrels = load_beir(scifact, "train")
    sci_index, _ = cached_index(docs, cache_dir, embedder, chunking, "scifact")
    qids = sorted(queries)
    civic = []
    for set_name in DEV_SETS:
        documents = read_documents(sources(set_name, corpora))
        index, _ = cached_index(documents, cache_dir, embedder, chunking, corpus_of(set_name))
        questions = [q for q in load_eval_set(SETS_DIR / f"{set_name}.jsonl") if q.answerable]
        civic.append((index, questions))

    rows = []
    for name, mode, fusion in GRID:
        sci = Retriever(sci_index, memo, fusion).search([queries[q] for q in qids], 40, mode=mode)
        ndcg = [
            ndcg_at_k(unique_docs([h.passage.doc_id for h in hits]), qrels[q], 10)
            for q, hits in zip(qids, sci, strict=True)
        ]
        hits1, mrrs = [], []
        for index, questions in civic:
            results = Retriever(index, memo, fusion).search([q.question for q in questions], 20, mode=mode)
            for q, hits in zip(questions, results, strict=True):
                ranked = unique_docs([index.aliases.get(h.passage.doc_id, h.passage.doc_id) for h in hits])
                gold = index.aliases.get(q.doc, q.doc) if q.doc is not None else ""  # no doc: a review case, a miss
                hits1.append(hit_at_k(ranked, gold, 1))
                mrrs.append(mrr_at_k(ranked, {gold: 1}, 10))
        rows.append(StudyRow(name, float(np.mean(ndcg)), float(np.mean(hits1)), float(np.mean(mrrs))))
    return rows


def format_rows(rows: list[StudyRow]) -> str:
    lines = ["| fusion | SciFact train nDCG@10 | civic dev doc hit@1 | civic dev doc MRR@10 |", "|---|---:|---:|---:|"]
    lines += [f"| {r.name} | {r.scifact_ndcg10:.4f} | {r.civic_hit1:.3f} | {r.civic_mrr10:.3f} |" for r in rows]
    return "\n".join(lines)
