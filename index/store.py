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
import fcntl
import json
import logging
import os
import platform
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from index.chunking import ChunkSettings, chunk
from index.embed import Embedder
from index.lexical import LexicalIndex
from index.reader import DEFAULT_MAX_FILE_BYTES, read_documents
from qa.errors import (
    IndexBusyError,
    IndexCorruptError,
    IndexMismatchError,
    IndexNotFoundError,
    IndexWriteError,
    QAError,
)
from qa.reading import passage_context
from qa.types import Document, Passage, Sentence

log = logging.getLogger(__name__)

FORMAT_VERSION = 5
INDEX_TYPES = ("flat-ip",)
MANIFEST = "manifest.json"
DOCUMENTS = "documents.jsonl"
PASSAGES = "passages.jsonl"
EMBEDDINGS = "embeddings.npy"
DENSE = "dense.faiss"
BM25_DIR = "bm25"


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
        if not _build_running(path):  # mid-swap, the folder comes back when the build finishes
            _recover(path)
        manifest = read_manifest(path)
        if model_name is not None and manifest["model"]["name"] != model_name:
            raise IndexMismatchError(path / MANIFEST, "model", model_name, manifest["model"]["name"])
        dim = int(manifest["model"]["dimension"])
        if dimension is not None and dim != dimension:
            raise IndexMismatchError(path / MANIFEST, "dimension", dimension, dim)
        documents = {d.doc_id: d for d in _read_jsonl(path / DOCUMENTS, _document_from_json)}
        passages = list(_read_jsonl(path / PASSAGES, _passage_from_json))
        embeddings = _load_npy(path / EMBEDDINGS)
        dense = _load_faiss(path / DENSE)
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
) -> BuildReport:
    """Build or update the index at ``index_dir`` from the documents under ``paths``.

    Unchanged documents keep their passages and vectors; only new or changed documents are
    chunked and embedded. On an unchanged corpus nothing is written and the model is not loaded.
    ``rebuild`` ignores the previous index. Documents over ``max_file_bytes`` are skipped (or refused
    when given explicitly). A folder that cannot be written raises :class:`IndexWriteError`.
    """
    started = time.perf_counter()
    documents = read_documents(paths, max_file_bytes=max_file_bytes)
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
) -> BuildReport:
    """:func:`build` for documents already read (benchmark corpora, tests)."""
    if index_type not in INDEX_TYPES:
        raise ValueError(f"unknown index type {index_type!r}; choose one of {', '.join(INDEX_TYPES)}")
    chunking = chunking or ChunkSettings()
    index_dir = Path(index_dir)
    started = time.perf_counter() if started is None else started
    with _lock(index_dir):
        _recover(index_dir)
        previous = None
        if not rebuild:
            previous = _previous(index_dir, embedder.name, chunking, index_type)
        old_docs = previous.documents if previous else {}
        if previous and _fingerprint(documents) == _manifest_fingerprint(previous.manifest):
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
        embed_started = time.perf_counter()
        vectors = embedder.encode(to_embed, batch_size=batch_size, progress=progress)
        embed_seconds = time.perf_counter() - embed_started
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
        texts = [passage_text_for(documents, p) for p in passages]
        try:
            _write(index_dir, manifest, documents, passages, embeddings, texts)
        except QAError:
            raise
        except OSError as err:  # read-only folder, disk full: the swap never happened
            raise _write_error(index_dir, err) from err
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


def _stack(blocks: Sequence[np.ndarray], dimension: int) -> np.ndarray:
    blocks = [b.reshape(-1, dimension) for b in blocks]
    return np.concatenate(blocks).astype(np.float32) if blocks else np.zeros((0, dimension), np.float32)


def passage_text(doc: Document, passage: Passage) -> str:
    """What gets embedded and BM25-indexed (and read): title and headings as context, then the passage."""
    return passage_context(doc.title, passage).text


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


# ---------------------------------------------------------------- writing, atomically


def _write(
    index_dir: Path,
    manifest: dict[str, Any],
    documents: Sequence[Document],
    passages: Sequence[Passage],
    embeddings: np.ndarray,
    texts: Sequence[str],
) -> None:
    parent = index_dir.parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = parent / f".{index_dir.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        _write_jsonl(tmp / DOCUMENTS, (_document_to_json(d) for d in documents))
        _write_jsonl(tmp / PASSAGES, (_passage_to_json(p) for p in passages))
        with open(tmp / EMBEDDINGS, "wb") as f:
            np.save(f, embeddings, allow_pickle=False)
        dense = faiss.IndexFlatIP(embeddings.shape[1])
        if len(embeddings):
            dense.add(embeddings)
        faiss.write_index(dense, str(tmp / DENSE))
        lexical = LexicalIndex.fit(texts)
        (tmp / BM25_DIR).mkdir()
        if lexical.size:
            lexical.save(tmp / BM25_DIR)
        # The manifest goes last: a folder without one is never taken for an index.
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
        _fsync_tree(tmp)
        _swap(tmp, index_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _swap(new: Path, target: Path) -> None:
    """Put ``new`` in place of ``target``; the old one is moved aside first and removed after."""
    if not target.exists():
        os.rename(new, target)
        return
    old = target.parent / f".{target.name}.old-{os.getpid()}"
    shutil.rmtree(old, ignore_errors=True)
    os.rename(target, old)
    os.rename(new, target)
    _fsync_dir(target.parent)
    shutil.rmtree(old, ignore_errors=True)


def _recover(index_dir: Path) -> None:
    """Undo a swap cut between its two renames, and drop leftovers of dead builds."""
    parent = index_dir.parent
    if not parent.is_dir():
        return
    olds = sorted(parent.glob(f".{index_dir.name}.old-*"))
    if olds and not index_dir.exists():
        with contextlib.suppress(OSError):
            os.rename(olds[-1], index_dir)
            log.warning("restored %s from an interrupted build", index_dir)


def _build_running(index_dir: Path) -> bool:
    """Whether a build holds the lock of ``index_dir`` right now (a loader must not repair mid-swap)."""
    lock_path = index_dir.parent / f".{index_dir.name}.lock"
    try:
        handle = open(lock_path)  # noqa: SIM115 (closed below)
    except OSError:
        return False
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def _fsync_tree(folder: Path) -> None:
    for file in folder.rglob("*"):
        if file.is_file():
            with open(file, "rb") as f:
                os.fsync(f.fileno())
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_error(index_dir: Path, err: OSError) -> IndexWriteError:
    try:
        kept = (index_dir / MANIFEST).exists()
    except OSError:
        kept = False
    return IndexWriteError(index_dir, err, previous_kept=kept)


@contextlib.contextmanager
def _lock(index_dir: Path) -> Iterator[None]:
    lock_path = index_dir.parent / f".{index_dir.name}.lock"
    try:
        index_dir.parent.mkdir(parents=True, exist_ok=True)
        handle = open(lock_path, "a+")  # noqa: SIM115 (closed below, after the error is translated)
    except OSError as err:  # a read-only parent folder
        raise _write_error(index_dir, err) from err
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as err:
            raise IndexBusyError(f"{index_dir}: another build is running (lock {lock_path})") from err
        try:
            for leftover in index_dir.parent.glob(f".{index_dir.name}.tmp-*"):
                shutil.rmtree(leftover, ignore_errors=True)
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# ---------------------------------------------------------------- JSON (de)serialisation


def _write_jsonl(path: Path, rows: Iterator[dict[str, Any]]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False))
            f.write("\n")


def _read_jsonl(path: Path, parse: Callable[..., Any]) -> Iterator[Any]:
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.readlines()
    except FileNotFoundError as err:
        raise IndexCorruptError(path, "is missing") from err
    except (OSError, UnicodeDecodeError) as err:
        raise IndexCorruptError(path, f"cannot be read ({err})") from err
    for number, line in enumerate(lines, 1):
        try:
            yield parse(json.loads(line))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
            raise IndexCorruptError(path, f"line {number} is malformed ({err})") from err


def _load_npy(path: Path) -> np.ndarray:
    try:
        array = np.load(path, allow_pickle=False)
    except FileNotFoundError as err:
        raise IndexCorruptError(path, "is missing") from err
    except (OSError, ValueError, EOFError) as err:
        raise IndexCorruptError(path, f"cannot be read ({err})") from err
    return np.ascontiguousarray(array, dtype=np.float32)


def _load_faiss(path: Path) -> Any:
    if not path.exists():
        raise IndexCorruptError(path, "is missing")
    try:
        return faiss.read_index(str(path))
    except RuntimeError as err:
        raise IndexCorruptError(path, f"cannot be read by FAISS ({str(err).splitlines()[0][:200]})") from err


def _document_to_json(doc: Document) -> dict[str, Any]:
    data = asdict(doc)
    data["aliases"] = list(doc.aliases)
    return data


def _document_from_json(data: dict[str, Any]) -> Document:
    return Document(
        doc_id=data["doc_id"],
        path=data["path"],
        text=data["text"],
        title=data["title"],
        sha256=data["sha256"],
        date=data.get("date"),
        body_start=int(data.get("body_start", 0)),
        metadata=dict(data.get("metadata") or {}),
        aliases=tuple(data.get("aliases") or ()),
    )


def _passage_to_json(p: Passage) -> dict[str, Any]:
    return {
        "doc_id": p.doc_id,
        "start": p.start,
        "end": p.end,
        "text": p.text,
        "heading_path": list(p.heading_path),
        "context": p.context,
        "sentences": [[s.start, s.end, s.kind] for s in p.sentences],
    }


def _passage_from_json(data: dict[str, Any]) -> Passage:
    start, text = int(data["start"]), data["text"]
    if len(text) != int(data["end"]) - start:
        raise ValueError("text length does not match its offsets")
    sentences = tuple(Sentence(s, e, text[s - start : e - start], k) for s, e, k in data["sentences"])
    return Passage(
        doc_id=data["doc_id"],
        start=start,
        end=int(data["end"]),
        text=text,
        heading_path=tuple(data.get("heading_path") or ()),
        sentences=sentences,
        context=data.get("context", ""),
    )
