"""The one place that knows which documents each civic eval set asks about."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from eval.retrieval_bench import cached_index
from eval.sets import SETS_DIR, EvalQuestion, load_eval_set
from index.chunking import ChunkSettings
from index.embed import Embedder
from index.reader import read_documents
from qa.retriever import FusionSettings, Retriever

SEEDS = SETS_DIR.parent.parent / "seeds"
DEV_SETS = ("seeds-dev", "corpora-dev")


def sources(set_name: str, corpora: Path) -> list[Path]:
    """The document folders of the eval set ``set_name`` (``seeds-dev``, ``corpora-test``, ...)."""
    if set_name.startswith("seeds"):
        return [SEEDS]
    if set_name.startswith("corpora"):
        return [corpora / "cil-handbook", corpora / "kp-digital-services"]
    raise ValueError(f"unknown eval set {set_name!r}: its name must start with 'seeds' or 'corpora'")


def retrievers(
    names: Sequence[str],
    corpora: Path,
    *,
    embedder: Embedder,
    cache_dir: Path,
    chunking: ChunkSettings,
    fusion: FusionSettings | None = None,
) -> list[tuple[str, list[EvalQuestion], Retriever]]:
    """(name, questions, retriever over its documents) for each eval set, indexes cached in ``cache_dir``."""
    out = []
    built: dict[str, Retriever] = {}
    for name in names:
        corpus = name.split("-")[0]
        if corpus not in built:
            index, _ = cached_index(read_documents(sources(name, corpora)), cache_dir, embedder, chunking, corpus)
            built[corpus] = Retriever(index, embedder, fusion)
        out.append((name, load_eval_set(SETS_DIR / f"{name}.jsonl"), built[corpus]))
    return out
