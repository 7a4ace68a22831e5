"""The Milvus store: passage vectors and BM25 full-text search in a Milvus collection.

``QA_STORE=milvus:<uri>`` puts an index's search structures in Milvus through ``pymilvus``'s
``MilvusClient``: ``milvus:./milvus.db`` is Milvus Lite (embedded, a local folder, one process at a
time), ``milvus:http://host:19530`` a Milvus standalone or distributed cluster; the same code talks to
both. The index folder keeps documents, passages and vectors (builds reuse them); each build writes a
new collection, so the previous index keeps serving from its own until the new one is swapped in.

Hybrid retrieval asks Milvus for both sides: its HNSW index for the dense candidates and its BM25
function for the lexical ones, where the server has full-text search (Milvus 2.5 and later, Milvus
Lite). What a server can do is asked once, at connect (:func:`capabilities`: a probe collection with
a BM25 function, not a version string); without full-text search the collection holds the vectors
only and the lexical side stays local, bm25s over the index folder (``store.lexical: local``).

The BM25 text given to Milvus is our own analysis of the passage (lowercased, stopwords dropped,
Snowball-stemmed: :func:`index.lexical.tokenize`) joined by spaces, so that Milvus' BM25 sees the
tokens bm25s sees; k1 and b are bm25s' too.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index.errors import IndexCorruptError, QAError, StoreUnavailableError, first_line
from index.lexical import tokenize
from index.search import Candidates

log = logging.getLogger(__name__)

BATCH = 1000
HNSW = {"M": 32, "efConstruction": 80}
EF_SEARCH = 512
BM25 = {"bm25_k1": 1.5, "bm25_b": 0.75}  # bm25s' defaults
# Milvus scores BM25 with the classic (k1 + 1) factor in the numerator, which Lucene's variant (bm25s) drops:
# measured, Milvus' scores are bm25s' times 2.5 exactly on the civic corpora. Divided out, they are bm25s'.
BM25_SCALE = 1.0 / (BM25["bm25_k1"] + 1.0)
MAX_TEXT = 65535

_clients: dict[str, Any] = {}
_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a Milvus answers when asked: its version (as reported) and whether it has BM25 full-text search."""

    version: str
    full_text: bool

    @property
    def lexical(self) -> str:
        """Where the lexical side of a collection made here lives: ``milvus`` or ``local`` (bm25s)."""
        return "milvus" if self.full_text else "local"


_capabilities: dict[str, Capabilities] = {}


class _Unimplemented(logging.Filter):
    """pymilvus asks every server for a timestamp; Milvus Lite does not implement that call, pymilvus carries
    on without it, and grpc's server logs a traceback each time. Those records only are dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text += str(record.exc_info[1])
        return "Method not implemented" not in text


def _quiet_grpc() -> None:
    os.environ.setdefault("GRPC_VERBOSITY", "NONE")  # grpc's C core writes keepalive notices to stderr
    logger = logging.getLogger("grpc._server")
    if not any(isinstance(f, _Unimplemented) for f in logger.filters):
        logger.addFilter(_Unimplemented())


def client(uri: str) -> Any:
    """One ``MilvusClient`` per URI in this process (Milvus Lite opens its folder once)."""
    with _lock:
        if uri not in _clients:
            _quiet_grpc()
            try:
                from pymilvus import MilvusClient
            except ImportError as err:  # pragma: no cover (pinned in pyproject)
                raise QAError("QA_STORE=milvus:... needs pymilvus and milvus-lite: pip install -e .") from err
            try:
                _clients[uri] = _Guarded(MilvusClient(uri), uri)
            except Exception as err:  # grpc and pymilvus raise their own types
                raise StoreUnavailableError(uri, _first_line(err)) from err
        return _clients[uri]


class _Guarded:
    """A ``MilvusClient`` whose failures are typed: any error of a call raises :class:`StoreUnavailableError`
    (503 from the app, one line from the command), and a call on a collection that a restarted server has not
    loaded again loads it and is tried once more."""

    def __init__(self, raw: Any, uri: str) -> None:
        self._raw = raw
        self._uri = uri

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._raw, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return method(*args, **kwargs)
            except Exception as err:
                if args and "not loaded" in str(err):
                    log.warning("Milvus at %s had not loaded %s (restarted?): loading it", self._uri, args[0])
                    try:
                        self._raw.load_collection(args[0])
                        return method(*args, **kwargs)
                    except Exception as again:
                        err = again
                raise StoreUnavailableError(self._uri, _first_line(err)) from err

        return call


def close_all() -> None:
    """Close every client (tests, and before a Milvus Lite folder is opened by another process)."""
    with _lock:
        for c in _clients.values():
            try:
                c.close()
            except Exception:
                log.debug("closing a Milvus client failed", exc_info=True)
        _clients.clear()
        _capabilities.clear()


def capabilities(uri: str) -> Capabilities:
    """Ask the Milvus at ``uri`` (once per process) what it can do. Full-text search is tried, not inferred from
    the version: a probe collection with a BM25 function is created and described, then dropped; a Milvus
    without the function (2.3, 2.4) creates the collection but drops the function from its schema."""
    with _lock:
        known = _capabilities.get(uri)
    if known is not None:
        return known
    c = client(uri)
    version = str(c.get_server_version())
    found = Capabilities(version, _has_full_text(c))
    log.info("Milvus at %s: version %s, full-text search %s", uri, version, "yes" if found.full_text else "no")
    with _lock:
        _capabilities[uri] = found
    return found


def _has_full_text(c: Any) -> bool:
    from pymilvus import DataType, FunctionType

    name = f"civic_qa_probe_{os.getpid()}_{time.time_ns():x}"
    try:
        schema = c.create_schema(auto_id=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        _add_full_text(schema, max_length=64)
        c.create_collection(name, schema=schema)
        functions = c.describe_collection(name).get("functions") or []
        return any(f.get("type") == FunctionType.BM25 for f in functions)
    except Exception as err:  # a server that refuses the schema has no full-text search either
        log.info("Milvus refused a BM25 function (%s): the lexical side stays local", _first_line(err))
        return False
    finally:
        try:
            if c.has_collection(name):
                c.drop_collection(name)
        except Exception:
            log.warning("could not drop the probe collection %s", name, exc_info=True)


def _add_full_text(schema: Any, *, max_length: int) -> None:
    """``text`` and ``sparse``, the BM25 function's output from it."""
    from pymilvus import DataType, Function, FunctionType

    schema.add_field("text", DataType.VARCHAR, max_length=max_length, enable_analyzer=True)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_function(
        Function(
            name="bm25", function_type=FunctionType.BM25, input_field_names=["text"], output_field_names=["sparse"]
        ),
    )


class MilvusCollection:
    """A collection of passages: ``id`` (the row), ``vec`` (HNSW, inner product) and, with ``full_text``,
    ``text`` (BM25)."""

    def __init__(self, uri: str, name: str, *, full_text: bool = True) -> None:
        self.uri = uri
        self.name = name
        self.full_text = full_text
        self.client = client(uri)

    @classmethod
    def create(cls, uri: str, name: str, dimension: int, *, full_text: bool = True) -> MilvusCollection:
        from pymilvus import DataType

        c = client(uri)
        schema = c.create_schema(auto_id=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("vec", DataType.FLOAT_VECTOR, dim=dimension)
        params = c.prepare_index_params()
        params.add_index("vec", index_type="HNSW", metric_type="IP", params=HNSW)
        if full_text:
            _add_full_text(schema, max_length=MAX_TEXT)
            params.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25", params=BM25)
        c.create_collection(name, schema=schema, index_params=params)
        return cls(uri, name, full_text=full_text)

    def describe(self) -> dict[str, Any]:
        if not self.full_text:
            return {"vector_index": "HNSW", "params": {**HNSW, "ef": EF_SEARCH}, "lexical": "local"}
        return {"vector_index": "HNSW", "params": {**HNSW, "ef": EF_SEARCH}, "bm25": BM25, "lexical": "milvus"}

    def add_all(self, vectors: np.ndarray, texts: Iterable[str]) -> None:
        """Insert rows ``0..n-1`` (vector and BM25 text), then flush so that searches see them all."""
        self.add(vectors, np.arange(len(vectors), dtype=np.int64), texts)

    def add(self, vectors: np.ndarray, ids: np.ndarray, texts: Iterable[str]) -> None:
        text_iter = iter(texts)
        for start in range(0, len(vectors), BATCH):
            block = np.asarray(vectors[start : start + BATCH], dtype=np.float32)
            rows = [
                {"id": int(i), "vec": v.tolist()} | ({"text": _analysed(next(text_iter))} if self.full_text else {})
                for i, v in zip(ids[start : start + BATCH], block, strict=True)
            ]
            self.client.insert(self.name, rows)
        self.client.flush(self.name)

    def remove(self, ids: np.ndarray) -> int:
        result = self.client.delete(self.name, ids=[int(i) for i in ids])
        return int(result.get("delete_count", len(ids))) if isinstance(result, dict) else len(ids)

    @property
    def size(self) -> int:
        return int(self.client.get_collection_stats(self.name)["row_count"])

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Dense search: (cosines, rows), padded with ``-1`` rows like FAISS."""
        results = self.client.search(
            self.name,
            data=[np.asarray(q, dtype=np.float32).tolist() for q in queries],
            anns_field="vec",
            limit=k,
            output_fields=["id"],
            search_params={"metric_type": "IP", "params": {"ef": max(EF_SEARCH, k)}},
        )
        return _padded(results, k, absolute=False)

    def bm25(self, queries: Sequence[str], k: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """BM25 search: per query (rows, scores), best first; a query of no indexable word finds nothing."""
        out: list[tuple[np.ndarray, np.ndarray]] = [(np.zeros(0, np.int64), np.zeros(0, np.float32))] * len(queries)
        analysed = [(i, _analysed(q)) for i, q in enumerate(queries)]
        asked = [(i, text) for i, text in analysed if text]
        if not asked:
            return out
        results = self.client.search(
            self.name, data=[text for _, text in asked], anns_field="sparse", limit=k, output_fields=["id"]
        )
        scores, rows = _padded(results, k, absolute=True)
        for (i, _), s, r in zip(asked, scores, rows, strict=True):
            keep = r >= 0
            out[i] = (r[keep], s[keep] * BM25_SCALE)
        return out

    def bm25_of(self, query: str, rows: Sequence[int]) -> dict[int, float]:
        """The BM25 scores of these rows for ``query`` (rows that share no word with it are left out)."""
        text = _analysed(query)
        if not text or not rows:
            return {}
        ids = [int(r) for r in rows]
        results = self.client.search(
            self.name, data=[text], anns_field="sparse", limit=len(ids), output_fields=["id"], filter=f"id in {ids}"
        )
        return {int(h["id"]): abs(float(h["distance"])) * BM25_SCALE for h in results[0]}

    def vectors(self, rows: Sequence[int]) -> dict[int, np.ndarray]:
        if not rows:
            return {}
        got = self.client.get(self.name, ids=[int(r) for r in rows], output_fields=["vec"])
        return {int(g["id"]): np.asarray(g["vec"], dtype=np.float32) for g in got}


class MilvusSearch:
    """Candidates from Milvus: its HNSW index and its BM25 function, for the whole collection.

    Both scores are exact for every candidate, as on the local backend: the vectors of BM25-only candidates
    are fetched for their cosines, and the dense-only candidates are scored by a BM25 search filtered to
    them (without it they would score 0, and 8 of the 365 corpora-dev questions got another top 5).
    """

    def __init__(self, collection: MilvusCollection) -> None:
        self.collection = collection

    @classmethod
    def open(cls, path: Path, store: dict[str, Any], n: int, dimension: int) -> MilvusSearch:
        uri, name = store.get("uri"), store.get("collection")
        where = path / "manifest.json"
        if not uri or not name:
            raise IndexCorruptError(where, "names no Milvus URI and collection (store.uri, store.collection)")
        c = client(str(uri))
        if not c.has_collection(name):
            raise IndexCorruptError(
                where, f"names Milvus collection {name} at {uri}, which is not there: rebuild with `qa index --rebuild`"
            )
        collection = MilvusCollection(str(uri), str(name), full_text=store.get("lexical", "milvus") == "milvus")
        c.load_collection(name)
        size = collection.size
        if size != n:
            raise IndexCorruptError(
                where, f"Milvus collection {name} holds {size} passages where the manifest says {n}"
            )
        return cls(collection)

    def candidates(
        self, queries: Sequence[str], vectors: np.ndarray | None, n: int, *, lexical: bool
    ) -> list[Candidates]:
        dense_rows = self.collection.search(vectors, n) if vectors is not None else None
        lexical_hits = self.collection.bm25(queries, n) if lexical else None
        out = []
        for qi in range(len(queries)):
            cosine: dict[int, float] = {}
            if dense_rows is not None:
                scores, rows = dense_rows[0][qi], dense_rows[1][qi]
                cosine = {int(r): float(s) for r, s in zip(rows, scores, strict=True) if r >= 0}
            bm25: dict[int, float] = {}
            if lexical_hits is not None:
                rows, scores = lexical_hits[qi]
                bm25 = {int(r): float(s) for r, s in zip(rows, scores, strict=True) if s > 0}
            union = np.array(sorted(set(cosine) | set(bm25)), dtype=np.int64)
            if lexical:
                bm25.update(self.collection.bm25_of(queries[qi], [r for r in cosine if r not in bm25]))
            if vectors is not None:
                missing = [int(r) for r in union if int(r) not in cosine]
                for r, v in self.collection.vectors(missing).items():
                    cosine[r] = float(v @ vectors[qi])
            out.append(
                Candidates(
                    union,
                    np.array([bm25.get(int(r), 0.0) for r in union], np.float32) if lexical else None,
                    np.array([cosine[int(r)] for r in union], np.float32) if vectors is not None else None,
                )
            )
        return out


def drop_collections(uri: str, prefix: str, keep: Iterable[str | None]) -> list[str]:
    """Drop the collections named ``prefix*`` except those in ``keep``; the names dropped."""
    c = client(uri)
    kept = {k for k in keep if k}
    dropped = [name for name in c.list_collections() if name.startswith(prefix) and name not in kept]
    for name in dropped:
        log.info("dropping Milvus collection %s at %s", name, uri)
        c.drop_collection(name)
    return dropped


def _analysed(text: str) -> str:
    return " ".join(tokenize(text))[:MAX_TEXT]


def _padded(results: Any, k: int, *, absolute: bool) -> tuple[np.ndarray, np.ndarray]:
    """pymilvus hits → (scores, rows) arrays of ``k`` columns, ``-1`` rows past the hits. Milvus Lite 3.2
    reports BM25 as a negated distance and a server as the score: both read as ``|distance|``."""
    scores = np.zeros((len(results), k), np.float32)
    rows = np.full((len(results), k), -1, np.int64)
    for qi, hits in enumerate(results):
        for j, hit in enumerate(list(hits)[:k]):
            rows[qi, j] = int(hit["id"])
            d = float(hit["distance"])
            scores[qi, j] = abs(d) if absolute else d
    return scores, rows


def _first_line(err: BaseException) -> str:
    message = getattr(err, "message", None)  # pymilvus' exceptions: the server's words without the wrapping
    return first_line(Exception(message)) if message else first_line(err)
