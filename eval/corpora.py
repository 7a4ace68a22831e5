"""The one place that knows which documents each civic eval set asks about."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from eval.retrieval_bench import cached_index
from eval.sets import SETS_DIR, EvalQuestion, load_eval_set
from index.chunking import ChunkSettings
from index.dense import StoreSpec
from index.embed import Embedder
from index.reader import read_documents
from qa.fusion import FusionSettings
from qa.retriever import Retriever

SEEDS = SETS_DIR.parent.parent / "seeds"
# The first sets, written close to the documents' words; their dev halves train the reader and fit its confidence.
DEV_SETS = ("seeds-dev", "corpora-dev")
ALL_SETS = ("seeds-dev", "seeds-test", "corpora-dev", "corpora-test")
# Questions in people's own words over the seeds and both corpora at once, split by document.
PEOPLE_SETS = ("people-dev", "people-calibration", "people-test")
# The same documents asked in Urdu: in Arabic script, and in Latin letters (Roman Urdu).
URDU_SETS = ("people-ur-dev", "people-ur-test", "people-roman-dev", "people-roman-test")
CORPORA = ("seeds", "corpora", "people")


def corpus_of(set_name: str) -> str:
    """The corpus an eval set asks about, from its name: ``seeds``, ``corpora`` or ``people`` (seeds and both
    corpora together); the sets of one corpus share indexes."""
    corpus = set_name.split("-")[0]
    if corpus not in CORPORA:
        raise ValueError(f"unknown eval set {set_name!r}: its name must start with 'seeds-', 'corpora-' or 'people-'")
    return corpus


def sources(set_name: str, corpora: Path) -> list[Path]:
    """The document folders of the eval set ``set_name`` (``seeds-dev``, ``corpora-test``, ``people-test``...)."""
    corpus = corpus_of(set_name)
    shared = [corpora / "cil-handbook", corpora / "kp-digital-services"]
    if corpus == "seeds":
        return [SEEDS]
    return shared if corpus == "corpora" else [SEEDS, *shared]


def retrievers(
    names: Sequence[str],
    corpora: Path,
    *,
    embedder: Embedder,
    cache_dir: Path,
    chunking: ChunkSettings,
    fusion: FusionSettings | None = None,
    store: StoreSpec | None = None,
) -> list[tuple[str, list[EvalQuestion], Retriever]]:
    """(name, questions, retriever over its documents) for each eval set, indexes cached in ``cache_dir``."""
    out = []
    built: dict[str, Retriever] = {}
    for name in names:
        corpus = corpus_of(name)
        if corpus not in built:
            documents = read_documents(sources(name, corpora))
            index, _ = cached_index(documents, cache_dir, embedder, chunking, corpus, store=store)
            built[corpus] = Retriever(index, embedder, fusion)
        out.append((name, load_eval_set(SETS_DIR / f"{name}.jsonl"), built[corpus]))
    return out
