"""Writing an index folder's files from a build's plan, streaming: no step holds every passage at once.

Unchanged documents' passages are copied line for line from the previous ``passages.jsonl`` and their
vectors row for row from its memory-mapped ``embeddings.npy``; new passages come from the build's
saved embedding chunks. The search structures are then made from the written vectors: a local FAISS
store and bm25s, or a new Milvus collection (:mod:`index.milvus`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib.format import open_memmap

from index.dense import StoreSpec, build_store
from index.folder import (
    BM25_DIR,
    DOCUMENTS,
    EMBEDDINGS,
    PASSAGES,
    document_to_json,
    passage_to_json,
    write_jsonl,
)
from index.lexical import LexicalIndex
from index.passages import passage_context
from index.resume import Embedded
from index.store import Index
from index.types import Document, Passage

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DocPlan:
    """One document of the new index: its passages are either reused (rows of the previous index) or new."""

    doc: Document
    reused: range | None = None
    new: tuple[Passage, ...] = ()

    @property
    def count(self) -> int:
        return len(self.reused) if self.reused is not None else len(self.new)


def passage_text(doc: Document, passage: Passage) -> str:
    """What gets embedded and BM25-indexed (and read): title and headings as context, then the passage."""
    return passage_context(doc.context_title, passage).text


def write_contents(
    folder: Path,
    plan: Sequence[DocPlan],
    previous: Index | None,
    embedded: Embedded,
    dimension: int,
    store: StoreSpec,
    *,
    collection_name: str | None = None,
) -> dict[str, Any]:
    """Write documents, passages, vectors and the search structures into ``folder`` (not the manifest);
    return the manifest's ``store`` section."""
    write_jsonl(folder / DOCUMENTS, (document_to_json(p.doc) for p in plan))
    with open(folder / PASSAGES, "wb") as f:
        for p in plan:
            if p.reused is not None:
                for row in p.reused:
                    f.write(_previous(previous).passages.raw(row))
            else:
                for passage in p.new:
                    f.write(_json_line(passage_to_json(passage)))
    n = sum(p.count for p in plan)
    vectors = open_memmap(folder / EMBEDDINGS, mode="w+", dtype=np.float32, shape=(n, dimension))
    rows = embedded.rows()
    at = 0
    for p in plan:
        if p.reused is not None:
            vectors[at : at + p.count] = _previous(previous).embeddings[p.reused.start : p.reused.stop]
        elif p.count:
            vectors[at : at + p.count] = rows.take(p.count)
        at += p.count
    vectors.flush()
    del vectors
    vectors = np.load(folder / EMBEDDINGS, mmap_mode="r")
    if store.index_type == "milvus":
        from index.milvus import MilvusCollection, capabilities

        assert collection_name is not None
        uri = store.uri or ""
        found = capabilities(uri)  # without full-text search, the lexical side is bm25s in the folder
        collection = MilvusCollection.create(uri, collection_name, dimension, full_text=found.full_text)
        collection.add_all(vectors, _texts(plan, previous))
        if not found.full_text:
            _write_bm25(folder, plan, previous)
        return {"uri": store.uri, "collection": collection_name, "server": found.version, **collection.describe()}
    dense = build_store(store.index_type, vectors)
    dense.save(folder)
    _write_bm25(folder, plan, previous)
    return {"params": dense.params} if dense.params else {}


def _write_bm25(folder: Path, plan: Sequence[DocPlan], previous: Index | None) -> None:
    lexical = LexicalIndex.fit(_texts(plan, previous))
    (folder / BM25_DIR).mkdir()
    if lexical.size:
        lexical.save(folder / BM25_DIR)


def _texts(plan: Sequence[DocPlan], previous: Index | None) -> Iterator[str]:
    for p in plan:
        passages = _previous(previous).passages[p.reused.start : p.reused.stop] if p.reused is not None else p.new
        for passage in passages:
            yield passage_text(p.doc, passage)


def _previous(previous: Index | None) -> Index:
    if previous is None:
        raise ValueError("a plan that reuses passages needs the previous index")
    return previous


def _json_line(row: dict[str, Any]) -> bytes:
    return (json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8")
