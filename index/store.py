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

import bisect
import contextlib
import fcntl
import json
import logging
import os
import platform
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from index.aliases import learn_aliases
from index.chunking import ChunkSettings, chunk, headings
from index.embed import Embedder
from index.entities import ENTITY_SCHEME, EntityTagger
from index.lexical import LexicalIndex, tokenize
from index.reader import DEFAULT_MAX_FILE_BYTES, read_documents
from qa.errors import (
    IndexBusyError,
    IndexCorruptError,
    IndexMismatchError,
    IndexNotFoundError,
    IndexWriteError,
    QAError,
)
from qa.types import Document, Entity, Passage, Sentence, Span

log = logging.getLogger(__name__)

FORMAT_VERSION = 4
INDEX_TYPES = ("flat-ip",)
MANIFEST = "manifest.json"
DOCUMENTS = "documents.jsonl"
PASSAGES = "passages.jsonl"
EMBEDDINGS = "embeddings.npy"
DENSE = "dense.faiss"
BM25_DIR = "bm25"
SENTENCES = "sentences.jsonl"
SENTENCE_EMBEDDINGS = "sentence_embeddings.npy"
TERMS = "terms.json"
ABBREVIATIONS = "abbreviations.json"


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
    sentences: list[SentenceRecord] = field(default_factory=list)
    sentence_embeddings: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    sentence_rows: dict[tuple[str, int, int], int] = field(default_factory=dict)
    term_df: dict[str, int] = field(default_factory=dict)
    abbreviations: dict[str, list[str]] = field(default_factory=dict)
    heading_rows: dict[str, list[tuple[int, int]]] = field(default_factory=dict)  # doc → [(start, row)]

    def __post_init__(self) -> None:
        for i, r in enumerate(self.sentences):
            if r.sentence.kind == "heading":
                self.heading_rows.setdefault(r.doc_id, []).append((r.sentence.start, i))

    def section_heading(self, passage: Passage) -> int | None:
        """The sentence row of the heading line of ``passage``'s section (the last one above it)."""
        rows = self.heading_rows.get(passage.doc_id)
        if not rows or not passage.heading_path:
            return None
        k = bisect.bisect_left(rows, (passage.start, -1))
        return rows[k - 1][1] if k else None

    def parts(self, doc_id: str) -> _Parts:
        p_rows = [i for i, p in enumerate(self.passages) if p.doc_id == doc_id]
        s_rows = [i for i, r in enumerate(self.sentences) if r.doc_id == doc_id]
        return _Parts(
            [self.passages[i] for i in p_rows],
            self.embeddings[p_rows],
            [self.sentences[i] for i in s_rows],
            self.sentence_embeddings[s_rows] if len(self.sentence_embeddings) else self.sentence_embeddings[:0],
        )

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
        sentences = list(_read_jsonl(path / SENTENCES, _sentence_from_json, documents))
        sentence_embeddings = _load_npy(path / SENTENCE_EMBEDDINGS)
        if len(sentences) != sentence_embeddings.shape[0]:
            raise IndexCorruptError(
                path / SENTENCE_EMBEDDINGS, f"holds {sentence_embeddings.shape[0]} rows for {len(sentences)} sentences"
            )
        rows = {(r.doc_id, r.sentence.start, r.sentence.end): i for i, r in enumerate(sentences)}
        term_df = _read_json(path / TERMS).get("df", {})
        abbreviations = _read_json(path / ABBREVIATIONS)
        return cls(
            path,
            manifest,
            documents,
            passages,
            embeddings,
            dense,
            lexical,
            aliases,
            sentences,
            sentence_embeddings,
            rows,
            term_df,
            abbreviations,
        )


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
    sentence_features: bool = True,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
) -> str:
    """``missing``, ``stale`` (documents or settings changed) or ``fresh``."""
    try:
        manifest = read_manifest(Path(index_dir))
    except IndexNotFoundError:
        return "missing"
    except (IndexCorruptError, IndexMismatchError):
        return "stale"
    if not _same_settings(manifest, model_name, chunking, index_type, sentence_features):
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
    sentence_features: bool = True,
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
        sentence_features=sentence_features,
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
    sentence_features: bool = True,
    tagger: EntityTagger | None = None,
    rebuild: bool = False,
    progress: bool = False,
    batch_size: int = 64,
    sources: Sequence[Path | str] = (),
    started: float | None = None,
) -> BuildReport:
    """:func:`build` for documents already read (benchmark corpora, tests).

    With ``sentence_features`` every sentence also gets its own embedding and its named
    entities (what the answer extractor needs); retrieval-only benchmarks turn them off.
    """
    if index_type not in INDEX_TYPES:
        raise ValueError(f"unknown index type {index_type!r}; choose one of {', '.join(INDEX_TYPES)}")
    chunking = chunking or ChunkSettings()
    index_dir = Path(index_dir)
    started = time.perf_counter() if started is None else started
    with _lock(index_dir):
        _recover(index_dir)
        previous = None
        if not rebuild:
            previous = _previous(index_dir, embedder.name, chunking, index_type, sentence_features)
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
        new_sentences = {
            doc.doc_id: _unique_sentences(doc, new_passages[doc.doc_id]) if sentence_features else [] for doc in fresh
        }
        to_embed = [passage_text(doc, p) for doc in fresh for p in new_passages[doc.doc_id]]
        sentence_texts = [r.sentence.text for doc in fresh for r in new_sentences[doc.doc_id]]
        log.info(
            "embedding %d passages and %d sentences of %d documents", len(to_embed), len(sentence_texts), len(fresh)
        )
        embed_started = time.perf_counter()
        vectors = embedder.encode(to_embed, batch_size=batch_size, progress=progress)
        embed_seconds = time.perf_counter() - embed_started
        sentence_vectors = embedder.encode(sentence_texts, batch_size=batch_size, progress=progress)
        annotations = (tagger or EntityTagger()).annotate(sentence_texts) if sentence_texts else []
        dimension = vectors.shape[1] if to_embed else _dimension(previous, embedder)

        p_cursor = s_cursor = 0
        for doc in fresh:
            ps, recs = new_passages[doc.doc_id], new_sentences[doc.doc_id]
            tagged = [
                SentenceRecord(
                    r.doc_id,
                    r.sentence,
                    tuple(Entity(r.sentence.start + a, r.sentence.start + b, label) for a, b, label in ents),
                    tuple(_shift(span, r.sentence.start) for span in spans),
                )
                for r, (ents, spans) in zip(recs, annotations[s_cursor : s_cursor + len(recs)], strict=True)
            ]
            parts[doc.doc_id] = _Parts(
                ps, vectors[p_cursor : p_cursor + len(ps)], tagged, sentence_vectors[s_cursor : s_cursor + len(recs)]
            )
            p_cursor += len(ps)
            s_cursor += len(recs)

        ordered = [parts[doc.doc_id] for doc in documents]
        passages = [p for part in ordered for p in part.passages]
        sentences = [r for part in ordered for r in part.sentences]
        embeddings = _stack([part.passage_vectors for part in ordered], dimension)
        sentence_embeddings = _stack([part.sentence_vectors for part in ordered], dimension)

        elapsed = time.perf_counter() - started
        manifest = _manifest(documents, passages, embedder.name, dimension, chunking, index_type, sources, elapsed)
        manifest["embedding"] = {"passages": len(to_embed), "seconds": round(embed_seconds, 3)}
        manifest["sentences"] = {
            "features": sentence_features,
            "count": len(sentences),
            "entities": ENTITY_SCHEME if sentence_features else None,
        }
        texts = [passage_text_for(documents, p) for p in passages]
        try:
            _write(index_dir, manifest, documents, passages, embeddings, texts, sentences, sentence_embeddings)
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


@dataclass(frozen=True, slots=True)
class SentenceRecord:
    """A sentence of the index with its named entities and candidate answer spans (offsets into the document)."""

    doc_id: str
    sentence: Sentence
    entities: tuple[Entity, ...] = ()
    spans: tuple[Span, ...] = ()


def _shift(span: Span, offset: int) -> Span:
    """``span`` with offsets relative to a sentence moved to offsets into the document."""
    gov = (span.gov_start + offset, span.gov_end + offset) if span.gov_end else (0, 0)
    return Span(
        span.start + offset, span.end + offset, span.label, span.noun_chunk, span.dep, span.pos, *gov, span.prep
    )


@dataclass(slots=True)
class _Parts:
    """Everything an index holds for one document, reused whole when the document is unchanged."""

    passages: list[Passage]
    passage_vectors: np.ndarray
    sentences: list[SentenceRecord]
    sentence_vectors: np.ndarray


def _unique_sentences(doc: Document, passages: Sequence[Passage]) -> list[SentenceRecord]:
    """The sentences of a document's passages, once each (neighbouring passages overlap), and its
    heading lines (kind ``heading``): the reader reads a passage's section heading with it."""
    seen: dict[tuple[int, int], Sentence] = {}
    for p in passages:
        for s in p.sentences:
            seen.setdefault((s.start, s.end), s)
    if passages:
        for h in headings(doc):
            seen.setdefault((h.start, h.end), h)
    return [SentenceRecord(doc.doc_id, s) for _, s in sorted(seen.items())]


def _stack(blocks: Sequence[np.ndarray], dimension: int) -> np.ndarray:
    blocks = [b.reshape(-1, dimension) for b in blocks]
    return np.concatenate(blocks).astype(np.float32) if blocks else np.zeros((0, dimension), np.float32)


def passage_text(doc: Document, passage: Passage) -> str:
    """What gets embedded and BM25-indexed: title and headings as context, then the passage."""
    heads = [h for h in passage.heading_path if h != doc.title]
    context = " > ".join([doc.title, *heads])
    if passage.context:
        context = f"{context}. {passage.context}"
    return f"{context}\n{passage.text}"


def passage_text_for(documents: Sequence[Document], passage: Passage) -> str:
    by_id = {d.doc_id: d for d in documents}
    return passage_text(by_id[passage.doc_id], passage)


def _dimension(previous: Index | None, embedder: Embedder) -> int:
    if previous is not None:
        return int(previous.manifest["model"]["dimension"])
    return embedder.dimension


def _same_settings(
    manifest: dict[str, Any], model_name: str, chunking: ChunkSettings, index_type: str, sentence_features: bool
) -> bool:
    return (
        manifest["model"]["name"] == model_name
        and manifest["chunking"] == chunking.as_dict()
        and manifest.get("index_type") == index_type
        and manifest.get("sentences", {}).get("features") == sentence_features
        and (not sentence_features or manifest.get("sentences", {}).get("entities") == ENTITY_SCHEME)
    )


def _previous(
    index_dir: Path, model_name: str, chunking: ChunkSettings, index_type: str, sentence_features: bool
) -> Index | None:
    """The current index if it can be reused for an incremental build, else ``None``."""
    try:
        previous = Index.load(index_dir)
    except IndexNotFoundError:
        return None
    except (IndexCorruptError, IndexMismatchError) as err:
        log.warning("rebuilding from scratch: %s", err)
        return None
    if not _same_settings(previous.manifest, model_name, chunking, index_type, sentence_features):
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
    sentences: Sequence[SentenceRecord],
    sentence_embeddings: np.ndarray,
) -> None:
    parent = index_dir.parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = parent / f".{index_dir.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        _write_jsonl(tmp / DOCUMENTS, (_document_to_json(d) for d in documents))
        _write_jsonl(tmp / PASSAGES, (_passage_to_json(p) for p in passages))
        _write_jsonl(tmp / SENTENCES, (_sentence_to_json(r) for r in sentences))
        for name, array in ((EMBEDDINGS, embeddings), (SENTENCE_EMBEDDINGS, sentence_embeddings)):
            with open(tmp / name, "wb") as f:
                np.save(f, array, allow_pickle=False)
        dense = faiss.IndexFlatIP(embeddings.shape[1])
        if len(embeddings):
            dense.add(embeddings)
        faiss.write_index(dense, str(tmp / DENSE))
        lexical = LexicalIndex.fit(texts)
        df: Counter[str] = Counter()
        for text in texts:
            df.update(set(tokenize(text)))
        (tmp / ABBREVIATIONS).write_text(json.dumps(learn_aliases(documents), indent=1, ensure_ascii=False), "utf-8")
        (tmp / TERMS).write_text(json.dumps({"passages": len(texts), "df": dict(df)}, ensure_ascii=False), "utf-8")
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


def _read_jsonl(path: Path, parse: Callable[..., Any], *extra: Any) -> Iterator[Any]:
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.readlines()
    except FileNotFoundError as err:
        raise IndexCorruptError(path, "is missing") from err
    except (OSError, UnicodeDecodeError) as err:
        raise IndexCorruptError(path, f"cannot be read ({err})") from err
    for number, line in enumerate(lines, 1):
        try:
            yield parse(json.loads(line), *extra)
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
            raise IndexCorruptError(path, f"line {number} is malformed ({err})") from err


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise IndexCorruptError(path, "is missing") from err
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise IndexCorruptError(path, f"cannot be read as JSON ({err})") from err
    if not isinstance(data, dict):
        raise IndexCorruptError(path, "is not a JSON object")
    return data


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


def _sentence_to_json(r: SentenceRecord) -> dict[str, Any]:
    s = r.sentence
    return {
        "doc_id": r.doc_id,
        "start": s.start,
        "end": s.end,
        "kind": s.kind,
        "entities": [[e.start, e.end, e.label] for e in r.entities],
        "spans": [
            [x.start, x.end, x.label, int(x.noun_chunk), x.dep, x.pos, x.gov_start, x.gov_end, x.prep] for x in r.spans
        ],
    }


def _sentence_from_json(data: dict[str, Any], documents: dict[str, Document]) -> SentenceRecord:
    doc = documents[data["doc_id"]]
    start, end = int(data["start"]), int(data["end"])
    if not 0 <= start < end <= len(doc.text):
        raise ValueError(f"offsets {start}-{end} fall outside {data['doc_id']}")
    entities = tuple(Entity(int(a), int(b), str(label)) for a, b, label in data["entities"])
    spans = tuple(
        Span(int(a), int(b), str(label), bool(nc), str(dep), str(pos), int(gs), int(ge), str(prep))
        for a, b, label, nc, dep, pos, gs, ge, prep in data["spans"]
    )
    if any(not start <= x.start < x.end <= end for x in spans):
        raise ValueError(f"a candidate span falls outside its sentence {start}-{end} of {data['doc_id']}")
    return SentenceRecord(data["doc_id"], Sentence(start, end, doc.text[start:end], data["kind"]), entities, spans)


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
