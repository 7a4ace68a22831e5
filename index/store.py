"""The index folder, loaded and checked: :class:`Index`.

Layout of an index folder::

    manifest.json      model, dimension, index type (and store), chunk settings, per-document hashes, versions
    documents.jsonl    one document a line, original text included (the document page needs it)
    passages.jsonl     one passage a line, with its sentences and heading path (read on demand)
    embeddings.npy     float32 passage vectors, row i for passage i (memory-mapped; reused by builds)
    dense.faiss        the FAISS index over those vectors (flat-ip, hnsw-ip)
    bm25/              bm25s state (JSON + .npy) (flat-ip, hnsw-ip)

With ``index_type: milvus`` the last two live in a Milvus collection named by the manifest instead.
Builds (:mod:`index.build`) write a sibling folder and swap it in; nothing is pickled.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from index.boilerplate import repeated_lines
from index.dense import DENSE, FaissStore
from index.errors import IndexCorruptError, IndexMismatchError, IndexNotFoundError
from index.folder import (
    BM25_DIR,
    DOCUMENTS,
    EMBEDDINGS,
    MANIFEST,
    PASSAGES,
    PassageTable,
    document_from_json,
    load_npy,
    read_jsonl,
    recover_if_idle,
)
from index.lexical import LexicalIndex
from index.search import LocalSearch, SearchBackend
from index.types import Document, Passage

log = logging.getLogger(__name__)

FORMAT_VERSION = 8
FULL_CHECK = 20_000  # up to this many passages, every one is checked against its document at load


@dataclass(slots=True)
class Index:
    """A loaded index: documents, passages (read on demand), their vectors and the search structures."""

    path: Path
    manifest: dict[str, Any]
    documents: dict[str, Document]
    passages: PassageTable
    embeddings: np.ndarray  # a read-only memory map
    search: SearchBackend
    aliases: dict[str, str] = field(default_factory=dict)
    doc_rows: dict[str, range] = field(default_factory=dict)
    _repeated: frozenset[str] | None = field(default=None, repr=False, compare=False)

    def repeated_lines(self) -> frozenset[str]:
        """The lines that stand in several documents (:mod:`index.boilerplate`), computed once."""
        if self._repeated is None:
            self._repeated = repeated_lines(self.documents.values())
        return self._repeated

    @property
    def model_name(self) -> str:
        return str(self.manifest["model"]["name"])

    @property
    def index_type(self) -> str:
        return str(self.manifest["index_type"])

    @property
    def lexical(self) -> str:
        """Where the BM25 side is searched: ``milvus`` (its full-text search) or ``local`` (bm25s, the folder)."""
        store = self.manifest.get("store") or {}
        return str(store.get("lexical", "milvus")) if self.index_type == "milvus" else "local"

    def document(self, doc_id: str) -> Document | None:
        """The document with this id or alias, or ``None``."""
        return self.documents.get(self.aliases.get(doc_id, doc_id))

    def passages_of(self, doc_id: str) -> list[Passage]:
        """The passages of one document, in order (they are contiguous rows)."""
        rows = self.doc_rows.get(doc_id, range(0))
        return self.passages[rows.start : rows.stop]

    @classmethod
    def load(
        cls, path: Path | str, *, model_name: str | None = None, dimension: int | None = None, search: bool = True
    ) -> Index:
        """Load and check an index folder; raise a typed error naming what is wrong. ``search=False`` leaves the
        search structures closed (builds reuse passages and vectors only)."""
        path = Path(path)
        recover_if_idle(path)  # mid-swap, the folder comes back when the build finishes
        manifest = read_manifest(path)
        if model_name is not None and manifest["model"]["name"] != model_name:
            raise IndexMismatchError(path / MANIFEST, "model", model_name, manifest["model"]["name"])
        dim = int(manifest["model"]["dimension"])
        if dimension is not None and dim != dimension:
            raise IndexMismatchError(path / MANIFEST, "dimension", dimension, dim)
        documents = {d.doc_id: d for d in read_jsonl(path / DOCUMENTS, document_from_json)}
        passages = PassageTable(path / PASSAGES)
        embeddings = load_npy(path / EMBEDDINGS, mmap=True)
        n = int(manifest["counts"]["passages"])
        for file, found, what in (
            (path / PASSAGES, len(passages), "passages"),
            (path / EMBEDDINGS, embeddings.shape[0], "embedding rows"),
        ):
            if found != n:
                raise IndexCorruptError(file, f"holds {found} {what} where the manifest says {n}")
        if embeddings.ndim != 2 or (n and embeddings.shape[1] != dim):
            raise IndexMismatchError(path / EMBEDDINGS, "dimension", dim, embeddings.shape[1:])
        if set(documents) != set(manifest["documents"]):
            raise IndexCorruptError(path / DOCUMENTS, "does not list the documents the manifest lists")
        doc_rows = _doc_rows(path, manifest, n)
        _check_passages(path, passages, documents, doc_rows)
        backend = _open_search(path, manifest, embeddings, n, dim) if search else _Closed(path)
        aliases = {alias: doc.doc_id for doc in documents.values() for alias in doc.aliases}
        return cls(path, manifest, documents, passages, embeddings, backend, aliases, doc_rows)


class _Closed:
    """The search backend of an index loaded for its passages and vectors only."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def candidates(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"{self.path} was loaded without its search structures (Index.load(search=False))")


def _doc_rows(path: Path, manifest: dict[str, Any], n: int) -> dict[str, range]:
    """Each document's rows: passages are stored document by document, in the manifest's order."""
    rows, at = {}, 0
    for doc_id, meta in manifest["documents"].items():
        count = int(meta.get("passages", 0))
        rows[doc_id] = range(at, at + count)
        at += count
    if at != n:
        raise IndexCorruptError(path / MANIFEST, f"counts {at} passages by document but {n} in all")
    return rows


def _check_passages(
    path: Path, passages: PassageTable, documents: dict[str, Document], doc_rows: dict[str, range]
) -> None:
    """Each passage names its document and matches its text there (a sidecar of another index or build
    does not); every passage up to :data:`FULL_CHECK`, an even sample of that many beyond."""
    n = len(passages)
    rows = range(n) if n <= FULL_CHECK else np.unique(np.linspace(0, n - 1, FULL_CHECK).astype(np.int64))
    for row in rows:
        p = passages[int(row)]
        doc = documents.get(p.doc_id)
        if doc is None:
            raise IndexCorruptError(path / PASSAGES, f"names unknown documents ['{p.doc_id}']")
        if int(row) not in doc_rows[p.doc_id]:
            raise IndexCorruptError(path / PASSAGES, f"line {int(row) + 1} is out of its document's order")
        lines = [(p.start, p.end, p.text), *((h.start, h.end, h.text) for h in p.headings)]
        for start, end, text in lines:
            if doc.text[start:end] != text:
                raise IndexCorruptError(
                    path / PASSAGES,
                    f"line {int(row) + 1} does not match {p.doc_id} at {start}-{end} (another index's?)",
                )


def _open_search(path: Path, manifest: dict[str, Any], embeddings: np.ndarray, n: int, dim: int) -> SearchBackend:
    index_type = str(manifest.get("index_type"))
    store = dict(manifest.get("store") or {})
    if index_type == "milvus":
        from index.milvus import MilvusSearch

        remote = MilvusSearch.open(path, store, n, dim)
        if store.get("lexical") == "local":  # a Milvus without full-text search: dense there, BM25 here
            return LocalSearch(remote.collection, _lexical(path, n), embeddings)
        return remote
    if index_type not in FaissStore.KINDS:
        raise IndexMismatchError(path / MANIFEST, "index type", " or ".join(FaissStore.KINDS), index_type)
    dense = FaissStore.load(path, index_type, store.get("params"))
    if dense.size != n:
        raise IndexCorruptError(path / DENSE, f"holds {dense.size} vectors where the manifest says {n}")
    if dense.dimension != dim:
        raise IndexMismatchError(path / DENSE, "dimension", dim, dense.dimension)
    return LocalSearch(dense, _lexical(path, n), embeddings)


def _lexical(path: Path, n: int) -> LexicalIndex:
    """The folder's bm25s state, checked to hold the manifest's ``n`` passages."""
    try:
        lexical = LexicalIndex.load(path / BM25_DIR)
    except (OSError, ValueError, KeyError) as err:
        raise IndexCorruptError(path / BM25_DIR, f"BM25 state cannot be read ({err})") from err
    found = lexical.size if n else 0
    if found != n:
        raise IndexCorruptError(path / BM25_DIR, f"holds {found} BM25 documents where the manifest says {n}")
    return lexical


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
