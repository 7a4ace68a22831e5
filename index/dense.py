"""Dense vector stores behind one small interface, chosen by the manifest's ``index_type``.

* ``flat-ip``: FAISS exact inner product (the default: exact, fast enough to a few hundred thousand
  passages on a laptop).
* ``hnsw-ip``: FAISS HNSW graph for large corpora (chosen over IVF by ``qa bench scale``: see the README).
* ``milvus``: a Milvus collection (:mod:`index.milvus`), Milvus Lite in a local file or a server by URI;
  it also answers the BM25 side of hybrid search.

A local store's ids are the passages' rows in the index folder; vectors are unit-length and scored by
inner product (cosine). ``search`` pads with id ``-1`` where fewer than ``k`` vectors exist.
"""

from __future__ import annotations

import errno
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol, cast

import faiss
import numpy as np

from index.errors import IndexCorruptError

log = logging.getLogger(__name__)

DENSE = "dense.faiss"


INDEX_TYPES = ("flat-ip", "hnsw-ip", "milvus")


@dataclass(frozen=True, slots=True)
class StoreSpec:
    """Where an index keeps its search structures: ``index_type`` and, for Milvus, the server or file URI.

    Written as ``QA_STORE`` (:meth:`parse`): ``flat-ip`` (default), ``hnsw-ip``, or ``milvus:<uri>`` where
    the URI is a Milvus Lite file (``milvus:./milvus.db``) or a server (``milvus:http://host:19530``).
    """

    index_type: str = "flat-ip"
    uri: str | None = None

    def __post_init__(self) -> None:
        if self.index_type not in INDEX_TYPES:
            raise ValueError(f"unknown index type {self.index_type!r}; choose one of {', '.join(INDEX_TYPES)}")
        if (self.index_type == "milvus") != bool(self.uri):
            raise ValueError("a Milvus store needs a URI (milvus:<uri>), and only a Milvus store takes one")

    @classmethod
    def parse(cls, text: str) -> StoreSpec:
        text = text.strip()
        if text.startswith("milvus:"):
            uri = text.removeprefix("milvus:").strip()
            if not uri:
                raise ValueError(
                    "QA_STORE=milvus:<uri> needs a URI: a Milvus Lite file (milvus:./milvus.db) or a server"
                )
            if "://" not in uri:  # a Milvus Lite folder: the same one from any working directory
                uri = str(Path(uri).expanduser().resolve())
            return cls("milvus", uri)
        if text == "milvus":
            raise ValueError(
                "QA_STORE=milvus needs a URI: milvus:./milvus.db (Milvus Lite) or milvus:http://host:19530"
            )
        return cls(text)

    def __str__(self) -> str:
        return f"milvus:{self.uri}" if self.uri else self.index_type


class DenseStore(Protocol):
    """What retrieval and builds need of a vector store."""

    index_type: str

    @property
    def size(self) -> int: ...

    def add(self, vectors: np.ndarray, ids: np.ndarray) -> None: ...

    def remove(self, ids: np.ndarray) -> int: ...

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]: ...

    def save(self, folder: Path) -> None: ...


@dataclass(frozen=True, slots=True)
class HnswParams:
    """HNSW's graph degree, build depth and search depth; ``ef_search`` trades recall for time."""

    m: int = 32
    ef_construction: int = 80
    ef_search: int = 512

    def as_dict(self) -> dict[str, int]:
        return {"m": self.m, "ef_construction": self.ef_construction, "ef_search": self.ef_search}


class FaissStore:
    """A FAISS index holding passage vectors under their row ids (``IndexIDMap2``)."""

    KINDS: ClassVar[tuple[str, ...]] = ("flat-ip", "hnsw-ip")

    def __init__(self, index_type: str, index: Any, params: dict[str, Any] | None = None) -> None:
        if index_type not in self.KINDS:
            raise ValueError(f"unknown FAISS index type {index_type!r}; choose one of {', '.join(self.KINDS)}")
        self.index_type = index_type
        self.index = index
        self.params = dict(params or {})
        if index_type == "hnsw-ip":
            hnsw = cast(faiss.IndexHNSWFlat, faiss.downcast_index(index.index))  # faiss types it the base Index
            hnsw.hnsw.efSearch = int(self.params.get("ef_search", HnswParams().ef_search))

    @classmethod
    def create(cls, index_type: str, dimension: int, params: dict[str, Any] | None = None) -> FaissStore:
        base: faiss.Index
        if index_type == "flat-ip":
            base = faiss.IndexFlatIP(dimension)
        elif index_type == "hnsw-ip":
            hp = HnswParams(**(params or {}))
            hnsw = faiss.IndexHNSWFlat(dimension, hp.m, faiss.METRIC_INNER_PRODUCT)
            hnsw.hnsw.efConstruction = hp.ef_construction
            base = hnsw
            params = hp.as_dict()
        else:
            raise ValueError(f"unknown FAISS index type {index_type!r}; choose one of {', '.join(cls.KINDS)}")
        return cls(index_type, faiss.IndexIDMap2(base), params)

    @classmethod
    def load(cls, folder: Path, index_type: str, params: dict[str, Any] | None = None) -> FaissStore:
        path = folder / DENSE
        if not path.exists():
            raise IndexCorruptError(path, "is missing")
        try:
            index = faiss.read_index(str(path))
        except RuntimeError as err:
            raise IndexCorruptError(path, f"cannot be read by FAISS ({str(err).splitlines()[0][:200]})") from err
        if not isinstance(index, faiss.IndexIDMap2):
            raise IndexCorruptError(path, "is not an id-mapped FAISS index (written by another version?)")
        return cls(index_type, index, params)

    @property
    def size(self) -> int:
        return int(self.index.ntotal)

    @property
    def dimension(self) -> int:
        return int(self.index.d)

    def add(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if len(vectors):
            self.index.add_with_ids(vectors, np.ascontiguousarray(ids, dtype=np.int64))

    def remove(self, ids: np.ndarray) -> int:
        """Remove these ids; the number removed. HNSW graphs cannot drop nodes: rebuild those instead."""
        if self.index_type == "hnsw-ip":
            raise ValueError("an HNSW store cannot remove vectors; rebuild it (qa index does) or use flat-ip")
        return int(self.index.remove_ids(np.ascontiguousarray(ids, dtype=np.int64)))

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        scores, ids = self.index.search(queries, k)
        return scores, ids

    def save(self, folder: Path) -> None:
        path = folder / DENSE
        try:
            faiss.write_index(self.index, str(path))
        except RuntimeError as err:  # FAISS reports a failed write as a C++ assertion, many lines long
            raise write_failure(err, path) from None


def write_failure(err: RuntimeError, path: Path) -> OSError:
    """The OSError a FAISS write error stands for: its message ends with the C library's reason ("write
    error in ...: 4051 != 32000 (No space left on device)"), which says which errno it was."""
    message = str(err)
    for code in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EIO):
        if os.strerror(code) in message:
            return OSError(code, os.strerror(code), str(path))
    first = message.strip().splitlines()[0][:200] if message.strip() else "no detail"
    return OSError(errno.EIO, f"FAISS could not write the vectors ({first})", str(path))


def build_store(
    index_type: str, vectors: np.ndarray, params: dict[str, Any] | None = None, *, batch: int = 65536
) -> FaissStore:
    """A local store holding ``vectors`` under ids ``0..n-1``, added in slices (memory maps stay mapped)."""
    store = FaissStore.create(index_type, int(vectors.shape[1]), params)
    for start in range(0, len(vectors), batch):
        block = np.asarray(vectors[start : start + batch], dtype=np.float32)
        store.add(block, np.arange(start, start + len(block), dtype=np.int64))
    return store
