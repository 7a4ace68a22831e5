"""Building the index folder: read, chunk, embed (only what changed, resumably), write atomically.

Unchanged documents keep their passages and vectors; only new or changed documents are chunked and
embedded, in chunks saved as they are computed (:mod:`index.resume`), so that a build killed after hours
resumes where it stopped. The folder is written beside the old one (:mod:`index.write`) and swapped in
whole (:func:`index.folder.atomic_folder`): the previous index serves until the new one is complete.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from index.chunking import ChunkSettings, chunk
from index.dense import StoreSpec
from index.embed import Embedder
from index.errors import (
    DocumentError,
    IndexCorruptError,
    IndexMismatchError,
    IndexNotFoundError,
    QAError,
    StoreUnavailableError,
)
from index.folder import atomic_folder, build_lock, recover, write_error, write_manifest
from index.limits import ReadLimits
from index.reader import ReadMemory, read_documents
from index.resume import CHUNK_PASSAGES, Embedded, discard, embed_resumable, journal_dir
from index.store import FORMAT_VERSION, Index, read_manifest
from index.types import Document, Passage
from index.write import DocPlan, passage_text, write_contents

if TYPE_CHECKING:
    from index.spread import Spread

log = logging.getLogger(__name__)

__all__ = ["BuildReport", "build", "build_documents", "passage_text", "status", "write_index"]


@dataclass(frozen=True, slots=True)
class BuildReport:
    """What a build did: counts of documents by fate and of passages embedded, and time taken."""

    index_dir: str
    documents: int
    passages: int
    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    unchanged: int = 0
    embedded: int = 0
    seconds: float = 0.0
    up_to_date: bool = False


def status(
    paths: Sequence[Path | str],
    index_dir: Path | str,
    *,
    model_name: str,
    chunking: ChunkSettings,
    store: StoreSpec | None = None,
    limits: ReadLimits | None = None,
    memory: ReadMemory | None = None,
) -> str:
    """``missing``, ``stale`` (documents or settings changed) or ``fresh``."""
    try:
        manifest = read_manifest(Path(index_dir))
    except IndexNotFoundError:
        return "missing"
    except (IndexCorruptError, IndexMismatchError):
        return "stale"
    if not _same_settings(manifest, model_name, chunking, store or StoreSpec()):
        return "stale"
    docs = read_documents(paths, limits=limits, memory=memory)
    return "fresh" if _fingerprint(docs) == _manifest_fingerprint(manifest) else "stale"


def build(
    paths: Sequence[Path | str],
    index_dir: Path | str,
    *,
    embedder: Embedder,
    chunking: ChunkSettings | None = None,
    store: StoreSpec | None = None,
    rebuild: bool = False,
    progress: bool = False,
    batch_size: int = 64,
    chunk_passages: int = CHUNK_PASSAGES,
    limits: ReadLimits | None = None,
    memory: ReadMemory | None = None,
    on_stage: Callable[[str], None] | None = None,
    spread: Spread | None = None,
) -> BuildReport:
    """Build or update the index at ``index_dir`` from the documents under ``paths``.

    Unchanged documents keep their passages and vectors; only new or changed documents are chunked and
    embedded. On an unchanged corpus nothing is written and the model is not loaded. ``rebuild`` ignores
    the previous index (vectors saved by an interrupted build of the same passages are still reused).
    Documents over one of ``limits`` are skipped (or refused when given explicitly); ``memory`` keeps what
    each file gave between builds (``--watch``: unchanged files are not parsed again). A folder that
    cannot be written raises :class:`IndexWriteError`. ``progress`` shows bars (files read, passages
    embedded, with rate and ETA); ``on_stage`` is called with one line as each stage ends. Vectors are
    saved every ``chunk_passages`` passages, so that a build killed midway resumes from there; ``spread``
    sends those chunks to Ray workers (:mod:`index.spread`).
    """
    started = time.perf_counter()
    skipped: list[DocumentError] = []
    documents = read_documents(paths, limits=limits, skipped=skipped, progress=progress, memory=memory)
    if on_stage is not None:
        on_stage(
            f"read {len(documents)} documents from {', '.join(map(str, paths))}"
            f"{f' ({len(skipped)} files skipped)' if skipped else ''} in {time.perf_counter() - started:.1f} s"
        )
    return build_documents(
        documents,
        index_dir,
        embedder=embedder,
        chunking=chunking,
        store=store,
        rebuild=rebuild,
        progress=progress,
        batch_size=batch_size,
        chunk_passages=chunk_passages,
        sources=paths,
        started=started,
        skipped=[{"path": err.path, "problem": err.problem} for err in skipped],
        on_stage=on_stage,
        spread=spread,
    )


def build_documents(
    documents: Sequence[Document],
    index_dir: Path | str,
    *,
    embedder: Embedder,
    chunking: ChunkSettings | None = None,
    store: StoreSpec | None = None,
    rebuild: bool = False,
    progress: bool = False,
    batch_size: int = 64,
    chunk_passages: int = CHUNK_PASSAGES,
    sources: Sequence[Path | str] = (),
    started: float | None = None,
    skipped: Sequence[dict[str, str]] = (),
    on_stage: Callable[[str], None] | None = None,
    spread: Spread | None = None,
) -> BuildReport:
    """:func:`build` for documents already read (benchmark corpora, tests); ``skipped`` lists the files
    that could not be read (path and problem), kept in the manifest for ``/healthz``. ``chunk_passages``
    passages are embedded between two saves of the work done."""
    chunking = chunking or ChunkSettings()
    store = store or StoreSpec()
    index_dir = Path(index_dir)
    started = time.perf_counter() if started is None else started
    with build_lock(index_dir):
        recover(index_dir)
        previous = None if rebuild else _previous(index_dir, embedder.name, chunking)
        old_docs = previous.documents if previous else {}
        if (
            previous
            and _same_store(previous.manifest, store)
            and _fingerprint(documents) == _manifest_fingerprint(previous.manifest)
            and list(skipped) == previous.manifest.get("skipped", [])
        ):
            return BuildReport(
                str(index_dir),
                len(documents),
                len(previous.passages),
                unchanged=len(documents),
                seconds=time.perf_counter() - started,
                up_to_date=True,
            )
        plan = [
            DocPlan(doc, reused=previous.doc_rows[doc.doc_id])
            if previous and doc.doc_id in old_docs and old_docs[doc.doc_id].sha256 == doc.sha256
            else DocPlan(doc, new=tuple(chunk(doc, chunking)))
            for doc in documents
        ]
        to_embed = [passage_text(p.doc, passage) for p in plan for passage in p.new]
        fresh = sum(1 for p in plan if p.reused is None)
        log.info("embedding %d passages of %d documents", len(to_embed), fresh)
        if to_embed:
            loading = time.perf_counter()
            embedder.dimension  # noqa: B018 (loads the model now, so that the rate below is the embedding's)
            if on_stage is not None:
                on_stage(f"loaded the embedding model in {time.perf_counter() - loading:.1f} s")
        journal = journal_dir(index_dir)
        try:
            if spread is not None and to_embed:
                from index.spread import embed_spread

                embedded = embed_spread(
                    embedder, to_embed, journal, spread, batch_size=batch_size, chunk_passages=chunk_passages
                )
            else:
                embedded = embed_resumable(
                    embedder, to_embed, journal, batch_size=batch_size, chunk_passages=chunk_passages, progress=progress
                )
        except OSError as err:  # the saved chunks stay for the next build; the index is untouched
            raise write_error(index_dir, err) from err
        if on_stage is not None and to_embed:
            rate = embedded.computed / max(embedded.seconds, 1e-9)
            resumed = len(to_embed) - embedded.computed
            on_stage(
                f"embedded {embedded.computed} passages of {fresh} new or changed documents "
                f"in {embedded.seconds:.1f} s ({rate:.0f} passages/s)"
                + (f"; {resumed} more were saved by an interrupted build" if resumed else "")
            )
        dimension = embedded.dimension if to_embed else _dimension(previous, embedder)
        manifest = _write(
            index_dir,
            plan,
            previous,
            embedded,
            dimension,
            store,
            model_name=embedder.name,
            chunking=chunking,
            sources=sources,
            started=started,
            extra={
                "embedding": {"passages": embedded.computed, "seconds": round(embedded.seconds, 3)},
                "skipped": list(skipped),
            },
        )
        discard(journal)
        n = manifest["counts"]["passages"]
        if on_stage is not None:
            on_stage(f"wrote {index_dir} ({n} passages) in {time.perf_counter() - started:.1f} s in all")
        ids = {d.doc_id for d in documents}
        reused = {p.doc.doc_id for p in plan if p.reused is not None}
        return BuildReport(
            index_dir=str(index_dir),
            documents=len(documents),
            passages=n,
            added=tuple(sorted(ids - set(old_docs))),
            changed=tuple(sorted(i for i in ids & set(old_docs) if i not in reused)),
            removed=tuple(sorted(set(old_docs) - ids)),
            unchanged=len(reused),
            embedded=len(to_embed),
            seconds=time.perf_counter() - started,
        )


def write_index(
    index_dir: Path | str,
    documents: Sequence[tuple[Document, Sequence[Passage]]],
    vectors: np.ndarray,
    *,
    model_name: str,
    chunking: ChunkSettings | None = None,
    store: StoreSpec | None = None,
) -> BuildReport:
    """Write an index of passages already cut and embedded (``vectors`` row ``i`` for the ``i``-th passage in
    document order), atomically as :func:`build_documents` does; ``qa bench scale`` builds with it."""
    chunking = chunking or ChunkSettings()
    store = store or StoreSpec()
    index_dir = Path(index_dir)
    started = time.perf_counter()
    plan = [DocPlan(doc, new=tuple(passages)) for doc, passages in documents]
    n = sum(p.count for p in plan)
    if vectors.ndim != 2 or len(vectors) != n:
        raise ValueError(f"{n} passages but vectors of shape {vectors.shape}")
    embedded = Embedded((vectors,), int(vectors.shape[1]), 0, 0.0)
    with build_lock(index_dir):
        recover(index_dir)
        _write(
            index_dir,
            plan,
            None,
            embedded,
            embedded.dimension,
            store,
            model_name=model_name,
            chunking=chunking,
            sources=(),
            started=started,
            extra={},
        )
    return BuildReport(str(index_dir), len(plan), n, embedded=0, seconds=time.perf_counter() - started)


def _write(
    index_dir: Path,
    plan: Sequence[DocPlan],
    previous: Index | None,
    embedded: Embedded,
    dimension: int,
    store: StoreSpec,
    *,
    model_name: str,
    chunking: ChunkSettings,
    sources: Sequence[Path | str],
    started: float,
    extra: dict[str, Any],
) -> dict[str, Any]:
    """Write the folder beside ``index_dir`` and swap it in (the caller holds the build lock); the manifest."""
    collection = _collection_name(index_dir) if store.index_type == "milvus" else None
    serving = _named_collection(index_dir) if collection else None  # kept for servers still on it
    try:
        with atomic_folder(index_dir) as tmp:
            section = write_contents(tmp, plan, previous, embedded, dimension, store, collection_name=collection)
            manifest = _manifest(
                plan, model_name, dimension, chunking, store, section, sources, time.perf_counter() - started
            )
            manifest.update(extra)
            write_manifest(tmp, manifest)  # last: a folder without one is never taken for an index
    except QAError:
        raise
    except OSError as err:  # read-only folder, disk full: the swap never happened
        raise write_error(index_dir, err) from err
    finally:
        if collection is not None:
            _drop_other_collections(index_dir, store, keep=serving)
    return manifest


def _collection_name(index_dir: Path) -> str:
    return f"{_collection_prefix(index_dir)}{time.time_ns():x}"


def _collection_prefix(index_dir: Path) -> str:
    return f"civic_qa_{hashlib.sha256(str(index_dir.resolve()).encode()).hexdigest()[:12]}_"


def _named_collection(index_dir: Path) -> str | None:
    try:
        return (read_manifest(index_dir).get("store") or {}).get("collection")
    except QAError:
        return None


def _drop_other_collections(index_dir: Path, store: StoreSpec, keep: str | None) -> None:
    """Drop this index's collections but the one its manifest names now and ``keep`` (the one it named
    before this build, which servers may still be searching until they reload): older ones, and any
    left by a build that died. A Milvus that is down keeps them until the next build (its error is the build's)."""
    from index.milvus import drop_collections

    try:
        drop_collections(store.uri or "", _collection_prefix(index_dir), keep=(_named_collection(index_dir), keep))
    except StoreUnavailableError as err:
        log.warning("old collections not dropped: %s", err)


def _dimension(previous: Index | None, embedder: Embedder) -> int:
    if previous is not None:
        return int(previous.manifest["model"]["dimension"])
    return embedder.dimension


def _same_settings(manifest: dict[str, Any], model_name: str, chunking: ChunkSettings, store: StoreSpec) -> bool:
    return _same_vectors(manifest, model_name, chunking) and _same_store(manifest, store)


def _same_vectors(manifest: dict[str, Any], model_name: str, chunking: ChunkSettings) -> bool:
    """Whether an index's passages and vectors are what these settings would make (the store aside)."""
    return bool(manifest["model"]["name"] == model_name and manifest["chunking"] == chunking.as_dict())


def _same_store(manifest: dict[str, Any], store: StoreSpec) -> bool:
    return manifest.get("index_type") == store.index_type and (manifest.get("store") or {}).get("uri") == store.uri


def _previous(index_dir: Path, model_name: str, chunking: ChunkSettings) -> Index | None:
    """The current index if its passages and vectors can be reused, else ``None``. Another store does not
    matter (switching ``QA_STORE`` re-makes the search structures from the saved vectors, embedding nothing),
    so the previous index is loaded without its search structures: a Milvus that is gone does not stop it."""
    try:
        previous = Index.load(index_dir, search=False)
    except IndexNotFoundError:
        return None
    except (IndexCorruptError, IndexMismatchError) as err:
        log.warning("rebuilding from scratch: %s", err)
        return None
    if not _same_vectors(previous.manifest, model_name, chunking):
        log.info("settings changed (model or chunking): rebuilding from scratch")
        return None
    return previous


def _fingerprint(documents: Sequence[Document]) -> dict[str, Any]:
    return {d.doc_id: [d.sha256, sorted(d.aliases)] for d in documents}


def _manifest_fingerprint(manifest: dict[str, Any]) -> dict[str, Any]:
    return {k: [v["sha256"], sorted(v.get("aliases", []))] for k, v in manifest["documents"].items()}


def _manifest(
    plan: Sequence[DocPlan],
    model_name: str,
    dimension: int,
    chunking: ChunkSettings,
    store: StoreSpec,
    store_section: dict[str, Any],
    paths: Sequence[Path | str],
    seconds: float,
) -> dict[str, Any]:
    documents = [p.doc for p in plan]
    per_doc = {p.doc.doc_id: p.count for p in plan}
    return {
        "format_version": FORMAT_VERSION,
        "model": {"name": model_name, "dimension": int(dimension), "normalized": True},
        "index_type": store.index_type,
        "store": store_section,
        "metric": "inner_product",
        "chunking": chunking.as_dict(),
        "bm25": {"library": "bm25s", "stemmer": "snowball-english", "stopwords": "english"},
        "sources": [str(Path(p).resolve()) for p in paths],
        "documents": {
            d.doc_id: {
                "sha256": d.sha256,
                "path": d.path,
                "title": d.title,
                "date": d.date,
                "aliases": list(d.aliases),
                "passages": per_doc.get(d.doc_id, 0),
            }
            for d in documents
        },
        "counts": {"documents": len(documents), "passages": sum(per_doc.values())},
        "versions": _versions(),
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "build_seconds": round(seconds, 3),
    }


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in ("civic-qa", "faiss-cpu", "bm25s", "sentence-transformers", "torch", "numpy"):
        with contextlib.suppress(importlib_metadata.PackageNotFoundError):
            out[dist] = importlib_metadata.version(dist)
    return out
