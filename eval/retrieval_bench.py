"""`qa bench retrieval`: BEIR SciFact with BM25 alone, dense alone and hybrid, side by side.

The SciFact corpus is indexed with the product's own pipeline (chunking, embedding, index
folder) into a cache folder keyed by model, chunk settings and corpus hash; the index's own
incremental build makes reruns skip all embedding work. Documents are ranked by their best
passage.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from eval.metrics import mrr_at_k, ndcg_at_k, percentile, recall_at_k, unique_docs
from index.build import build_documents
from index.chunking import ChunkSettings
from index.dense import StoreSpec
from index.embed import Embedder
from index.errors import QAError
from index.reader import parse_document
from index.store import Index
from index.types import Document
from qa.fusion import FusionSettings
from qa.retriever import Retriever

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BenchRow:
    mode: str
    ndcg10: float
    recall100: float
    mrr10: float
    p50_ms: float
    p95_ms: float


@dataclass(frozen=True, slots=True)
class BenchResult:
    split: str
    queries: int
    documents: int
    passages: int
    build_seconds: float
    embedded: int
    embed_seconds: float
    cached: bool
    rows: tuple[BenchRow, ...]


def load_beir(folder: Path, split: str) -> tuple[list[Document], dict[str, str], dict[str, dict[str, int]]]:
    """BEIR files → (documents, queries, qrels). Each document is ``# title`` then the abstract."""
    corpus_file, queries_file, qrels_file = (
        folder / "corpus.jsonl",
        folder / "queries.jsonl",
        folder / "qrels" / f"{split}.tsv",
    )
    for file in (corpus_file, queries_file, qrels_file):
        if not file.exists():
            raise QAError(f"{file}: missing; give --data a BEIR folder (corpus.jsonl, queries.jsonl, qrels/)")
    documents = beir_documents(corpus_file)
    qrels: dict[str, dict[str, int]] = {}
    with open(qrels_file, encoding="utf-8") as f:
        next(f)
        for line in f:
            qid, did, score = line.rstrip("\n").split("\t")
            qrels.setdefault(qid, {})[did] = int(score)
    queries = {}
    with open(queries_file, encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            if str(row["_id"]) in qrels:
                queries[str(row["_id"])] = row["text"]
    return documents, queries, qrels


def beir_documents(corpus_file: Path, prefix: str = "") -> list[Document]:
    """A BEIR ``corpus.jsonl`` as documents (``# title`` then the text), ids ``prefix + _id``."""
    documents = []
    with open(corpus_file, encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            text = f"# {row.get('title', '').strip()}\n\n{row['text']}" if row.get("title") else row["text"]
            if text.strip():
                documents.append(parse_document(f"{prefix}{row['_id']}", corpus_file, text))
    return documents


def cached_index(
    documents: Sequence[Document],
    cache_dir: Path,
    embedder: Embedder,
    chunking: ChunkSettings,
    name: str,
    *,
    store: StoreSpec | None = None,
) -> tuple[Index, bool]:
    """Build (or reuse) the index of ``documents`` under ``cache_dir`` (in ``store``, default FAISS flat);
    return it and whether it was cached."""
    digest = hashlib.sha256()
    for d in documents:
        digest.update(d.doc_id.encode())
        digest.update(d.sha256.encode())
    store = store or StoreSpec()
    key = hashlib.sha256(json.dumps([embedder.name, chunking.as_dict(), digest.hexdigest()]).encode()).hexdigest()[:16]
    folder = cache_dir / (f"{name}-{key}" if store == StoreSpec() else f"{name}-{key}-{store.index_type}")
    report = build_documents(documents, folder, embedder=embedder, chunking=chunking, store=store, progress=True)
    return Index.load(folder, model_name=embedder.name), report.up_to_date


def run(
    data: Path,
    *,
    embedder: Embedder,
    cache_dir: Path,
    split: str = "test",
    chunking: ChunkSettings | None = None,
    fusion: FusionSettings | None = None,
    depth: int = 100,
    latency_queries: int = 200,
) -> BenchResult:
    chunking = chunking or ChunkSettings()
    fusion = fusion or FusionSettings()
    documents, queries, qrels = load_beir(data, split)
    index, cached = cached_index(documents, cache_dir, embedder, chunking, data.name)
    manifest = index.manifest
    qids = sorted(queries)
    texts = [queries[q] for q in qids]
    # Enough passages per query to rank ``depth`` distinct documents.
    per_doc = max(1.0, len(index.passages) / max(1, len(index.documents)))
    k = int(depth * per_doc * 2) + 10
    deep = Retriever(index, embedder, replace(fusion, candidates=k))
    product = Retriever(index, embedder, fusion)
    rows = []
    for mode in ("bm25", "dense", "hybrid"):
        results = deep.search(texts, k, mode=mode)
        ranked = [unique_docs([h.passage.doc_id for h in hits])[:depth] for hits in results]
        ndcg = [ndcg_at_k(r, qrels[q], 10) for q, r in zip(qids, ranked, strict=True)]
        rec = [recall_at_k(r, qrels[q], 100) for q, r in zip(qids, ranked, strict=True)]
        mrr = [mrr_at_k(r, qrels[q], 10) for q, r in zip(qids, ranked, strict=True)]
        times = []
        product.search([texts[0]], 10, mode=mode)  # warm-up
        for text in texts[:latency_queries]:
            t = time.perf_counter()
            product.search([text], 10, mode=mode)
            times.append((time.perf_counter() - t) * 1000)
        rows.append(BenchRow(mode, _mean(ndcg), _mean(rec), _mean(mrr), percentile(times, 50), percentile(times, 95)))
    embedding = manifest.get("embedding", {})
    return BenchResult(
        split=split,
        queries=len(qids),
        documents=len(index.documents),
        passages=len(index.passages),
        build_seconds=float(manifest.get("build_seconds", 0.0)),
        embedded=int(embedding.get("passages", 0)),
        embed_seconds=float(embedding.get("seconds", 0.0)),
        cached=cached,
        rows=tuple(rows),
    )


def _mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs) if xs else 0.0


def format_table(result: BenchResult) -> str:
    rate = result.embedded / result.embed_seconds if result.embed_seconds else float("nan")
    lines = [
        f"SciFact {result.split}: {result.queries} queries, {result.documents} documents, {result.passages} passages",
        f"build {result.build_seconds:.1f} s (embedding {result.embedded} passages at {rate:.1f} passages/s)"
        + ("; this run reused the cached index" if result.cached else ""),
        "",
        "| retrieval | nDCG@10 | Recall@100 | MRR@10 | query p50 ms | query p95 ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in result.rows:
        lines.append(
            f"| {r.mode} | {r.ndcg10:.4f} | {r.recall100:.4f} | {r.mrr10:.4f} | {r.p50_ms:.1f} | {r.p95_ms:.1f} |"
        )
    return "\n".join(lines)
