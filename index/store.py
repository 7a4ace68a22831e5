"""The index folder: build it (incrementally, atomically), check it, load it.

Layout of an index folder::

    manifest.json      model, dimension, index type, chunk settings, per-document hashes, versions
    documents.jsonl    one document a line, original text included (the document page needs it)
    passages.jsonl     one passage a line, with its sentences and heading path
    embeddings.npy     float32 passage vectors, row i for passage i (reused by incremental builds)
    dense.faiss        the FAISS index over those vectors
    bm25/              bm25s state (JSON + .npy)

A build writes a sibling temporary folder and swaps it in with renames, so a build that dies
leaves the previous index untouched and loadable. Nothing is pickled.
"""

from __future__ import annotations

import contextlib
import json
import logging
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from index.boilerplate import repeated_lines
from index.chunking import ChunkSettings, chunk
from index.embed import Embedder
from index.folder import (
    BM25_DIR,
    DENSE,
    DOCUMENTS,
    EMBEDDINGS,
    MANIFEST,
    PASSAGES,
    build_lock,
    document_from_json,
    load_faiss,
    load_npy,
    passage_from_json,
    read_jsonl,
    recover,
    recover_if_idle,
    write_error,
    write_folder,
)
from index.lexical import LexicalIndex
from index.reader import DEFAULT_MAX_FILE_BYTES, read_documents
from qa.errors import (
    DocumentError,
    IndexCorruptError,
    IndexMismatchError,
    IndexNotFoundError,
    QAError,
)
from qa.reading import passage_context
from qa.types import Document, Passage

log = logging.getLogger(__name__)

FORMAT_VERSION = 6
INDEX_TYPES = ("flat-ip",)


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


@dataclass(slots=True)
class Index:
    """A loaded index: documents, passages and both search structures."""

    path: Path
    manifest: dict[str, Any]
    documents: dict[str, Document]
    passages: list[Passage]
    embeddings: np.ndarray
    dense: Any  # faiss.Index
    lexical: LexicalIndex
    aliases: dict[str, str] = field(default_factory=dict)
    _repeated: frozenset[str] | None = field(default=None, repr=False, compare=False)

    def repeated_lines(self) -> frozenset[str]:
        """The lines that stand in several documents (:mod:`index.boilerplate`), computed once."""
        if self._repeated is None:
            self._repeated = repeated_lines(self.documents.values())
        return self._repeated

    def parts(self, doc_id: str) -> _Parts:
        p_rows = [i for i, p in enumerate(self.passages) if p.doc_id == doc_id]
        return _Parts([self.passages[i] for i in p_rows], self.embeddings[p_rows])

    @property
    def model_name(self) -> str:
        return str(self.manifest["model"]["name"])

    def document(self, doc_id: str) -> Document | None:
        """The document with this id or alias, or ``None``."""
        return self.documents.get(self.aliases.get(doc_id, doc_id))

    @classmethod
    def load(cls, path: Path | str, *, model_name: str | None = None, dimension: int | None = None) -> Index:
        """Load and check an index folder; raise a typed error naming what is wrong."""
        path = Path(path)
        recover_if_idle(path)  # mid-swap, the folder comes back when the build finishes
        manifest = read_manifest(path)
        if model_name is not None and manifest["model"]["name"] != model_name:
            raise IndexMismatchError(path / MANIFEST, "model", model_name, manifest["model"]["name"])
        dim = int(manifest["model"]["dimension"])
        if dimension is not None and dim != dimension:
            raise IndexMismatchError(path / MANIFEST, "dimension", dimension, dim)
        documents = {d.doc_id: d for d in read_jsonl(path / DOCUMENTS, document_from_json)}
        passages = list(read_jsonl(path / PASSAGES, passage_from_json))
        embeddings = load_npy(path / EMBEDDINGS)
        dense = load_faiss(path / DENSE)
        try:
            lexical = LexicalIndex.load(path / BM25_DIR)
        except (OSError, ValueError, KeyError) as err:
            raise IndexCorruptError(path / BM25_DIR, f"BM25 state cannot be read ({err})") from err

        n = int(manifest["counts"]["passages"])
        checks = [
            (path / PASSAGES, len(passages), "passages"),
            (path / EMBEDDINGS, embeddings.shape[0], "embedding rows"),
            (path / DENSE, dense.ntotal, "vectors"),
            (path / BM25_DIR, lexical.size if n else 0, "BM25 documents"),
        ]
        for file, found, what in checks:
            if found != n:
                raise IndexCorruptError(file, f"holds {found} {what} where the manifest says {n}")
        if embeddings.ndim != 2 or (n and embeddings.shape[1] != dim):
            raise IndexMismatchError(path / EMBEDDINGS, "dimension", dim, embeddings.shape[1:])
        if dense.d != dim:
            raise IndexMismatchError(path / DENSE, "dimension", dim, dense.d)
        if set(documents) != set(manifest["documents"]):
            raise IndexCorruptError(path / DOCUMENTS, "does not list the documents the manifest lists")
        unknown = {p.doc_id for p in passages} - set(documents)
        if unknown:
            raise IndexCorruptError(path / PASSAGES, f"names unknown documents {sorted(unknown)[:3]}")
        for number, p in enumerate(passages, 1):  # a sidecar of another index or another build
            if documents[p.doc_id].text[p.start : p.end] != p.text:
                raise IndexCorruptError(
                    path / PASSAGES, f"line {number} does not match {p.doc_id} at {p.start}-{p.end} (another index's?)"
                )
        aliases = {alias: doc.doc_id for doc in documents.values() for alias in doc.aliases}
        return cls(path, manifest, documents, passages, embeddings, dense, lexical, aliases)


def read_manifest(path: Path) -> dict[str, Any]:
    """Read and check ``manifest.json``: present, JSON, and of this format version."""
    file = path / MANIFEST
    if not path.is_dir() or not file.exists():
        if path.is_dir() and any(path.iterdir()):
            raise IndexCorruptError(file, "is missing")
        raise IndexNotFoundError(path)
    try:
        manifest = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise IndexCorruptError(file, f"cannot be read as JSON ({err})") from err
    if not isinstance(manifest, dict):
        raise IndexCorruptError(file, "is not a JSON object")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise IndexMismatchError(file, "format version", FORMAT_VERSION, version)
    try:
        manifest["model"]["name"], int(manifest["model"]["dimension"]), int(manifest["counts"]["passages"])
        dict(manifest["documents"]), dict(manifest["chunking"])
    except (KeyError, TypeError, ValueError) as err:
        raise IndexCorruptError(file, f"lacks a required field ({err})") from err
    return manifest


def status(
    paths: Sequence[Path | str],
    index_dir: Path | str,
    *,
    model_name: str,
    chunking: ChunkSettings,
    index_type: str = "flat-ip",
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
) -> str:
    """``missing``, ``stale`` (documents or settings changed) or ``fresh``."""
    try:
        manifest = read_manifest(Path(index_dir))
    except IndexNotFoundError:
        return "missing"
    except (IndexCorruptError, IndexMismatchError):
        return "stale"
    if not _same_settings(manifest, model_name, chunking, index_type):
        return "stale"
    docs = read_documents(paths, max_file_bytes=max_file_bytes)
    return "fresh" if _fingerprint(docs) == _manifest_fingerprint(manifest) else "stale"


def build(
    paths: Sequence[Path | str],
    index_dir: Path | str,
    *,
    embedder: Embedder,
    chunking: ChunkSettings | None = None,
    index_type: str = "flat-ip",
    rebuild: bool = False,
    progress: bool = False,
    batch_size: int = 64,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    on_stage: Callable[[str], None] | None = None,
) -> BuildReport:
    """Build or update the index at ``index_dir`` from the documents under ``paths``.

    Unchanged documents keep their passages and vectors; only new or changed documents are
    chunked and embedded. On an unchanged corpus nothing is written and the model is not loaded.
    ``rebuild`` ignores the previous index. Documents over ``max_file_bytes`` are skipped (or refused
    when given explicitly). A folder that cannot be written raises :class:`IndexWriteError`.
    ``progress`` shows bars (files read, passages embedded, with rate and ETA); ``on_stage`` is
    called with one line as each stage ends (read, embedded, written).
    """
    started = time.perf_counter()
    skipped: list[DocumentError] = []
    documents = read_documents(paths, max_file_bytes=max_file_bytes, skipped=skipped, progress=progress)
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
        index_type=index_type,
        rebuild=rebuild,
        progress=progress,
        batch_size=batch_size,
        sources=paths,
        started=started,
        skipped=[{"path": err.path, "problem": err.problem} for err in skipped],
        on_stage=on_stage,
    )


def build_documents(
    documents: Sequence[Document],
    index_dir: Path | str,
    *,
    embedder: Embedder,
    chunking: ChunkSettings | None = None,
    index_type: str = "flat-ip",
    rebuild: bool = False,
    progress: bool = False,
    batch_size: int = 64,
    sources: Sequence[Path | str] = (),
    started: float | None = None,
    skipped: Sequence[dict[str, str]] = (),
    on_stage: Callable[[str], None] | None = None,
) -> BuildReport:
    """:func:`build` for documents already read (benchmark corpora, tests); ``skipped`` lists the files
    that could not be read (path and problem), kept in the manifest for ``/healthz``."""
    if index_type not in INDEX_TYPES:
        raise ValueError(f"unknown index type {index_type!r}; choose one of {', '.join(INDEX_TYPES)}")
    chunking = chunking or ChunkSettings()
    index_dir = Path(index_dir)
    started = time.perf_counter() if started is None else started
    with build_lock(index_dir):
        recover(index_dir)
        previous = None
        if not rebuild:
            previous = _previous(index_dir, embedder.name, chunking, index_type)
        old_docs = previous.documents if previous else {}
        if (
            previous
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

        parts: dict[str, _Parts] = {}
        if previous:
            parts = {
                doc.doc_id: previous.parts(doc.doc_id)
                for doc in documents
                if doc.doc_id in old_docs and old_docs[doc.doc_id].sha256 == doc.sha256
            }
        reused = set(parts)
        fresh = [doc for doc in documents if doc.doc_id not in reused]
        new_passages = {doc.doc_id: chunk(doc, chunking) for doc in fresh}
        to_embed = [passage_text(doc, p) for doc in fresh for p in new_passages[doc.doc_id]]
        log.info("embedding %d passages of %d documents", len(to_embed), len(fresh))
        if to_embed:
            loading = time.perf_counter()
            embedder.dimension  # noqa: B018 (loads the model now, so that the rate below is the embedding's)
            if on_stage is not None:
                on_stage(f"loaded the embedding model in {time.perf_counter() - loading:.1f} s")
        embed_started = time.perf_counter()
        vectors = _embed(embedder, to_embed, batch_size, progress)
        embed_seconds = time.perf_counter() - embed_started
        if on_stage is not None and to_embed:
            rate = len(to_embed) / max(embed_seconds, 1e-9)
            on_stage(
                f"embedded {len(to_embed)} passages of {len(fresh)} new or changed documents "
                f"in {embed_seconds:.1f} s ({rate:.0f} passages/s)"
            )
        dimension = vectors.shape[1] if to_embed else _dimension(previous, embedder)

        cursor = 0
        for doc in fresh:
            ps = new_passages[doc.doc_id]
            parts[doc.doc_id] = _Parts(ps, vectors[cursor : cursor + len(ps)])
            cursor += len(ps)

        ordered = [parts[doc.doc_id] for doc in documents]
        passages = [p for part in ordered for p in part.passages]
        embeddings = _stack([part.passage_vectors for part in ordered], dimension)

        elapsed = time.perf_counter() - started
        manifest = _manifest(documents, passages, embedder.name, dimension, chunking, index_type, sources, elapsed)
        manifest["embedding"] = {"passages": len(to_embed), "seconds": round(embed_seconds, 3)}
        manifest["skipped"] = list(skipped)
        texts = [passage_text_for(documents, p) for p in passages]
        try:
            write_folder(index_dir, manifest, documents, passages, embeddings, texts)
        except QAError:
            raise
        except OSError as err:  # read-only folder, disk full: the swap never happened
            raise write_error(index_dir, err) from err
        if on_stage is not None:
            on_stage(f"wrote {index_dir} ({len(passages)} passages) in {time.perf_counter() - started:.1f} s in all")
        ids = {d.doc_id for d in documents}
        return BuildReport(
            index_dir=str(index_dir),
            documents=len(documents),
            passages=len(passages),
            added=tuple(sorted(ids - set(old_docs))),
            changed=tuple(sorted(i for i in ids & set(old_docs) if i not in reused)),
            removed=tuple(sorted(set(old_docs) - ids)),
            unchanged=len(reused),
            embedded=len(to_embed),
            seconds=time.perf_counter() - started,
        )


@dataclass(slots=True)
class _Parts:
    """Everything an index holds for one document, reused whole when the document is unchanged."""

    passages: list[Passage]
    passage_vectors: np.ndarray


def _embed(embedder: Embedder, texts: Sequence[str], batch_size: int, progress: bool) -> np.ndarray:
    """Embed in slices, so that a bar can count passages (sorting by length still works within a slice)."""
    step = batch_size * 16
    with tqdm(total=len(texts), desc="embedding", unit="passage", disable=not progress, leave=False) as bar:
        parts = []
        for i in range(0, len(texts), step):
            parts.append(embedder.encode(texts[i : i + step], batch_size=batch_size))
            bar.update(len(texts[i : i + step]))
    return np.concatenate(parts) if parts else embedder.encode([])


def _stack(blocks: Sequence[np.ndarray], dimension: int) -> np.ndarray:
    blocks = [b.reshape(-1, dimension) for b in blocks]
    return np.concatenate(blocks).astype(np.float32) if blocks else np.zeros((0, dimension), np.float32)


def passage_text(doc: Document, passage: Passage) -> str:
    """What gets embedded and BM25-indexed (and read): title and headings as context, then the passage."""
    return passage_context(doc.context_title, passage).text


def passage_text_for(documents: Sequence[Document], passage: Passage) -> str:
    by_id = {d.doc_id: d for d in documents}
    return passage_text(by_id[passage.doc_id], passage)


def _dimension(previous: Index | None, embedder: Embedder) -> int:
    if previous is not None:
        return int(previous.manifest["model"]["dimension"])
    return embedder.dimension


def _same_settings(manifest: dict[str, Any], model_name: str, chunking: ChunkSettings, index_type: str) -> bool:
    return (
        manifest["model"]["name"] == model_name
        and manifest["chunking"] == chunking.as_dict()
        and manifest.get("index_type") == index_type
    )


def _previous(index_dir: Path, model_name: str, chunking: ChunkSettings, index_type: str) -> Index | None:
    """The current index if it can be reused for an incremental build, else ``None``."""
    try:
        previous = Index.load(index_dir)
    except IndexNotFoundError:
        return None
    except (IndexCorruptError, IndexMismatchError) as err:
        log.warning("rebuilding from scratch: %s", err)
        return None
    if not _same_settings(previous.manifest, model_name, chunking, index_type):
        log.info("settings changed (model, chunking or index type): rebuilding from scratch")
        return None
    return previous


def _fingerprint(documents: Sequence[Document]) -> dict[str, Any]:
    return {d.doc_id: [d.sha256, sorted(d.aliases)] for d in documents}


def _manifest_fingerprint(manifest: dict[str, Any]) -> dict[str, Any]:
    return {k: [v["sha256"], sorted(v.get("aliases", []))] for k, v in manifest["documents"].items()}


def _manifest(
    documents: Sequence[Document],
    passages: Sequence[Passage],
    model_name: str,
    dimension: int,
    chunking: ChunkSettings,
    index_type: str,
    paths: Sequence[Path | str],
    seconds: float,
) -> dict[str, Any]:
    per_doc: dict[str, int] = {}
    for p in passages:
        per_doc[p.doc_id] = per_doc.get(p.doc_id, 0) + 1
    return {
        "format_version": FORMAT_VERSION,
        "model": {"name": model_name, "dimension": int(dimension), "normalized": True},
        "index_type": index_type,
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
        "counts": {"documents": len(documents), "passages": len(passages)},
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
