"""``qa bench parity``: the civic eval sets answered through a Milvus collection and through local FAISS + bm25s.

The same documents, chunks and vectors in both (one embedding model, one build pipeline); only the search
backend differs. Per set: the right document in the top 5 (hit@5), answer accuracy, and how many
questions got the very same top-5 passages and the very same answer (or abstention) both ways. The Milvus
side is Milvus Lite (default), a server (``--store milvus:http://…``), or one started for the run
(``--server``: the ``server`` extra's Milvus 2.3 standalone, whose lexical side stays local).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eval import answer_eval
from eval.corpora import ALL_SETS, retrievers
from index.chunking import ChunkSettings
from index.dense import StoreSpec
from index.embed import Embedder
from qa.fusion import TOP_K, FusionSettings

SYSTEM = answer_eval.SYSTEMS[0]


@dataclass(frozen=True, slots=True)
class ParityRow:
    name: str
    questions: int
    hit5: tuple[float, float]  # FAISS, Milvus
    accuracy: tuple[float, float]
    overall: tuple[float, float]
    same_passages: float  # share of questions with the same top-5 passages, in order
    same_answer: float  # share with the same answer text and document, or both abstaining
    p50_ms: tuple[float, float]


@dataclass(frozen=True, slots=True)
class ParityReport:
    uri: str
    rows: tuple[ParityRow, ...]
    server: str = ""  # the version Milvus reports
    lexical: str = "milvus"  # where the Milvus side's BM25 ran: milvus (full-text search) or local (bm25s)


@contextmanager
def server(start: bool) -> Iterator[str | None]:
    """With ``start``, a Milvus standalone server on a free port for the run (its data in a temporary folder,
    removed after): its URI; else ``None``."""
    if not start:
        yield None
        return
    from eval.milvus_server import MISSING, LocalMilvus, available
    from index.milvus import close_all

    if not available():
        raise ValueError(f"--server: {MISSING}")
    with tempfile.TemporaryDirectory(prefix="civic-qa-milvus-") as data, LocalMilvus(Path(data)) as running:
        try:
            yield running.uri
        finally:
            close_all()


def run(
    corpora: Path,
    *,
    embedder: Embedder,
    cache_dir: Path,
    uri: str,
    chunking: ChunkSettings,
    fusion: FusionSettings,
    readers: Callable[[Any], Any],
    threshold: float | None = None,
    sets: Sequence[str] = ALL_SETS,
    top_k: int = TOP_K,
) -> ParityReport:
    local = retrievers(sets, corpora, embedder=embedder, cache_dir=cache_dir, chunking=chunking, fusion=fusion)
    remote = retrievers(
        sets,
        corpora,
        embedder=embedder,
        cache_dir=cache_dir,
        chunking=chunking,
        fusion=fusion,
        store=StoreSpec("milvus", uri),
    )
    rows = []
    for (name, questions, faiss_r), (_, _, milvus_r) in zip(local, remote, strict=True):
        reports = [
            answer_eval.evaluate_system(SYSTEM, questions, r, top_k=top_k, threshold=threshold, reader=readers(r.index))
            for r in (faiss_r, milvus_r)
        ]
        top = [r.search([q.question for q in questions], top_k) for r in (faiss_r, milvus_r)]
        same_passages = sum(
            [(h.passage.doc_id, h.passage.start) for h in a] == [(h.passage.doc_id, h.passage.start) for h in b]
            for a, b in zip(*top, strict=True)
        )
        same_answer = sum(
            (x.answered, x.doc_id) == (y.answered, y.doc_id)
            for x, y in zip(reports[0].records, reports[1].records, strict=True)
        )
        n = len(questions)
        rows.append(
            ParityRow(
                name,
                n,
                (reports[0].hit5, reports[1].hit5),
                (reports[0].answer_accuracy, reports[1].answer_accuracy),
                (reports[0].overall, reports[1].overall),
                same_passages / n if n else 0.0,
                same_answer / n if n else 0.0,
                (reports[0].p50_ms, reports[1].p50_ms),
            )
        )
    manifest = remote[0][2].index.manifest if remote else {}
    return ParityReport(
        uri, tuple(rows), str(manifest.get("store", {}).get("server", "")), remote[0][2].index.lexical if remote else ""
    )


def format_report(report: ParityReport) -> str:
    lexical = "Milvus' BM25" if report.lexical == "milvus" else "BM25 local (bm25s: no full-text search there)"
    lines = [
        f"the civic eval sets through FAISS + bm25s (local) and through Milvus ({report.uri}"
        f"{f', {report.server}' if report.server else ''}; dense in Milvus, {lexical}): same documents, "
        "passages and vectors",
        "",
        "| set | questions | hit@5 FAISS | hit@5 Milvus | accuracy FAISS | accuracy Milvus | overall FAISS "
        "| overall Milvus | same top 5 | same answer | /ask p50 ms FAISS | Milvus |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report.rows:
        lines.append(
            f"| {r.name} | {r.questions} | {r.hit5[0]:.1%} | {r.hit5[1]:.1%} | {r.accuracy[0]:.1%} "
            f"| {r.accuracy[1]:.1%} | {r.overall[0]:.1%} | {r.overall[1]:.1%} | {r.same_passages:.1%} "
            f"| {r.same_answer:.1%} | {r.p50_ms[0]:.0f} | {r.p50_ms[1]:.0f} |"
        )
    return "\n".join(lines)
