"""``qa bench scale --ray ADDRESS``: the embedding rate per Ray worker, and what it makes of a million passages.

Real passages (the civic corpora, SQuAD and SciFact, as ``qa bench scale`` reads them) are embedded twice: a
sample of one chunk in this process (the plain build's rate, all of its threads), then all of them as
resumable chunks sent to the Ray workers (:mod:`index.spread`). Each worker's rate is its passages over its
seconds of embedding (model loading left out); the wall time includes loading the model in each worker and
Ray's scheduling. The vectors of the sample must be the plain build's (checked: the largest difference is
printed). The projection for N machines like the workers' divides the embedding of a million passages by N
times the rate the workers reached together; what stays serial (reading and chunking, writing the index
folder, building HNSW or loading Milvus) is not spread and is given apart.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eval.scale_corpus import real_documents
from index.build import passage_text
from index.chunking import ChunkSettings, chunk
from index.embed import Embedder
from index.resume import CHUNK_PASSAGES
from index.spread import Spread, SpreadReport, embed_spread

MILLION = 1_000_000
MACHINES = (1, 2, 4, 8, 16, 32)
# Not spread: writing the index folder, BM25 and the HNSW graph at a million passages (hnsw-ip, `qa bench scale`,
# docs/scale.md: "write s"); a Milvus store builds its HNSW on the Milvus nodes instead.
SERIAL_1M_S = 373.2


def real_texts(shared: Path, n: int, chunking: ChunkSettings | None = None) -> list[str]:
    """The first ``n`` real passages as a build embeds them (SQuAD articles first, as ``qa bench scale`` reads)."""
    texts: list[str] = []
    for documents in real_documents(shared).values():
        for doc in documents:
            texts.extend(passage_text(doc, p) for p in chunk(doc, chunking or ChunkSettings()))
            if len(texts) >= n:
                return texts[:n]
    return texts


@dataclass(frozen=True, slots=True)
class SpreadBench:
    address: str
    passages: int
    chunk: int
    local_rate: float  # passages/s, this process, one chunk
    wall_s: float  # all passages over Ray, from the first task sent to the last chunk saved
    workers: tuple[tuple[str, int, float], ...]  # (worker, passages, seconds embedding)
    max_diff: float  # the sample's vectors, Ray against this process

    @property
    def rate(self) -> float:
        """The workers' rate together: each one's passages over its seconds, summed."""
        return sum(n / s for _, n, s in self.workers if s > 0)


def run(texts: Sequence[str], embedder: Embedder, address: str, *, chunk: int = CHUNK_PASSAGES) -> SpreadBench:
    sample = list(texts[:chunk])
    embedder.dimension  # noqa: B018 (loaded before the clock starts)
    started = time.perf_counter()
    local = embedder.encode(sample, batch_size=64)
    local_rate = len(sample) / (time.perf_counter() - started)
    reports: list[SpreadReport] = []
    with tempfile.TemporaryDirectory(prefix="civic-qa-spread-") as folder:
        embedded = embed_spread(
            embedder, list(texts), Path(folder), Spread(address), chunk_passages=chunk, report=reports
        )
        first = np.asarray(embedded.chunks[0][: len(sample)], dtype=np.float32)
        diff = float(np.abs(first - local).max())
    report = reports[0]
    workers = tuple((w, n, s) for w, (n, s) in sorted(report.per_worker().items()))
    return SpreadBench(address, len(texts), chunk, local_rate, report.wall_seconds, workers, diff)


def format_report(bench: SpreadBench, serial_s: float | None = None) -> str:
    lines = [
        f"embedding {bench.passages:,} real passages in chunks of {bench.chunk:,} over Ray ({bench.address}); "
        f"this process alone: {bench.local_rate:.1f} passages/s",
        "",
        "| worker | passages | seconds embedding | passages/s |",
        "|---|---:|---:|---:|",
    ]
    for worker, n, s in bench.workers:
        lines.append(f"| {worker} | {n:,} | {s:.1f} | {n / s:.1f} |")
    lines += [
        f"| all {len(bench.workers)} together | {bench.passages:,} | wall {bench.wall_s:.1f} | {bench.rate:.1f} "
        f"(wall: {bench.passages / bench.wall_s:.1f}) |",
        "",
        f"vectors of the first chunk, Ray against this process: largest difference {bench.max_diff:.1e}",
        "",
        f"projected embedding of {MILLION:,} passages on N machines like this one (each at {bench.rate:.1f} "
        "passages/s, its workers together):",
        "",
        "| machines | embedding h | + serial h | total h |",
        "|---:|---:|---:|---:|",
    ]
    serial_h = (serial_s or 0.0) / 3600
    for n in MACHINES:
        hours = MILLION / (n * bench.rate) / 3600
        lines.append(f"| {n} | {hours:.2f} | {serial_h:.2f} | {hours + serial_h:.2f} |")
    if serial_s is not None:
        lines.append("")
        lines.append(
            f"serial: {serial_s:,.0f} s, not spread (writing the index folder, BM25 and the HNSW graph at a million "
            "passages, as `qa bench scale` measured it here)"
        )
    return "\n".join(lines)
