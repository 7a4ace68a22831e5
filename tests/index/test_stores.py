"""The dense-store seam: FAISS flat and HNSW, Milvus Lite; the same interface, the same passages found."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index import milvus
from index.build import build
from index.dense import FaissStore, StoreSpec, build_store
from index.embed import Embedder
from index.errors import IndexCorruptError
from index.store import Index
from qa.retriever import Retriever

QUESTIONS = ["What does Pehchaan do?", "Where is the hackathon held?", "How long is the fellowship?"]


def _unit(n: int, d: int = 16, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.mark.parametrize("kind", ["flat-ip", "hnsw-ip"])
def test_a_faiss_store_finds_each_vector_first_and_round_trips(kind: str, tmp_path: Path) -> None:
    v = _unit(500)
    store = build_store(kind, v)
    scores, ids = store.search(v[:20], 3)
    assert list(ids[:, 0]) == list(range(20)) and np.allclose(scores[:, 0], 1.0, atol=1e-5)
    store.save(tmp_path)
    again = FaissStore.load(tmp_path, kind, store.params)
    assert again.size == 500 and np.array_equal(again.search(v[:20], 3)[1], ids)


def test_flat_removes_by_id_and_hnsw_says_how_to_remove(tmp_path: Path) -> None:
    v = _unit(50)
    flat = build_store("flat-ip", v)
    assert flat.remove(np.array([7])) == 1 and flat.size == 49
    assert 7 not in flat.search(v[7:8], 5)[1][0]
    with pytest.raises(ValueError, match="rebuild"):
        build_store("hnsw-ip", v).remove(np.array([7]))


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("flat-ip", StoreSpec()),
        ("hnsw-ip", StoreSpec("hnsw-ip")),
        ("milvus:http://db:19530", StoreSpec("milvus", "http://db:19530")),
        ("milvus:./m.db", StoreSpec("milvus", str(Path("m.db").resolve()))),  # a Milvus Lite file, made absolute
    ],
)
def test_qa_store_parses(text: str, spec: StoreSpec) -> None:
    assert StoreSpec.parse(text) == spec and StoreSpec.parse(str(spec)) == spec


@pytest.mark.parametrize("text", ["milvus", "milvus:", "ivf", "flat-ip:x"])
def test_a_bad_qa_store_says_what_to_write(text: str) -> None:
    with pytest.raises(ValueError, match=r"milvus|choose one of"):
        StoreSpec.parse(text)


def _top(index: Index, embedder: Embedder) -> list[list[tuple[str, int]]]:
    hits = Retriever(index, embedder).search(QUESTIONS, k=3)
    return [[(h.passage.doc_id, h.passage.start) for h in q] for q in hits]


def test_hnsw_and_milvus_find_what_flat_finds(corpus: Path, tmp_path: Path, embedder: Embedder) -> None:
    build([corpus], tmp_path / "flat", embedder=embedder)
    build([corpus], tmp_path / "hnsw", embedder=embedder, store=StoreSpec("hnsw-ip"))
    uri = str(tmp_path / "milvus.db")
    try:
        build([corpus], tmp_path / "mv", embedder=embedder, store=StoreSpec("milvus", uri))
        flat = _top(Index.load(tmp_path / "flat"), embedder)
        assert _top(Index.load(tmp_path / "hnsw"), embedder) == flat
        mv = Index.load(tmp_path / "mv")
        assert mv.index_type == "milvus" and not (tmp_path / "mv" / "dense.faiss").exists()
        assert mv.lexical == "milvus" and not (tmp_path / "mv" / "bm25").exists()  # Milvus Lite has BM25
        assert _top(mv, embedder) == flat
    finally:
        milvus.close_all()


def test_milvus_builds_keep_the_serving_collection_and_drop_older_ones(
    corpus: Path, tmp_path: Path, embedder: Embedder
) -> None:
    uri, idx = str(tmp_path / "milvus.db"), tmp_path / "idx"
    spec = StoreSpec("milvus", uri)
    try:
        names = []
        for i in range(3):
            (corpus / "hackathon.md").write_text(f"# Civic hackathon\n\nThe hackathon moved to city {i}.\n")
            build([corpus], idx, embedder=embedder, store=spec)
            names.append(Index.load(idx).manifest["store"]["collection"])
            assert any(
                f"city {i}" in h.passage.text
                for h in Retriever(Index.load(idx), embedder).search(["Where did the hackathon move?"], k=3)[0]
            )
        left = [n for n in milvus.client(uri).list_collections() if n.startswith("civic_qa_")]
        assert sorted(left) == sorted(names[1:])  # the current one and the one before it
        milvus.client(uri).drop_collection(names[2])
        with pytest.raises(IndexCorruptError, match="not there"):
            Index.load(idx)
    finally:
        milvus.close_all()


def test_milvus_scores_both_sides_as_the_local_backend_does(corpus: Path, tmp_path: Path, embedder: Embedder) -> None:
    """Regression: a dense-only candidate scored 0 on the BM25 side through Milvus (bm25s knows its score), and
    Milvus' BM25 is bm25s' times k1 + 1; both made the backends rank 8 of 365 corpora-dev questions differently."""
    build([corpus], tmp_path / "flat", embedder=embedder)
    try:
        build([corpus], tmp_path / "mv", embedder=embedder, store=StoreSpec("milvus", str(tmp_path / "m.db")))
        local, remote = Index.load(tmp_path / "flat"), Index.load(tmp_path / "mv")
        questions = [*QUESTIONS, "apply online identity fellowship hackathon"]  # its best two sides differ
        vectors = embedder.encode(questions)
        for a, b in zip(
            local.search.candidates(questions, vectors, 1, lexical=True),  # one each: some only one side finds
            remote.search.candidates(questions, vectors, 1, lexical=True),
            strict=True,
        ):
            assert np.array_equal(a.rows, b.rows) and a.bm25 is not None and a.dense is not None
            assert np.allclose(a.dense, b.dense, atol=1e-5) and np.allclose(a.bm25, b.bm25, rtol=1e-4, atol=1e-6)
    finally:
        milvus.close_all()


def test_switching_the_store_embeds_nothing_and_a_gone_milvus_does_not_stop_it(
    corpus: Path, tmp_path: Path, embedder: Embedder
) -> None:
    """QA_STORE changed on a large index would have re-embedded every passage (hours at a million)."""
    idx, uri = tmp_path / "idx", str(tmp_path / "m.db")
    build([corpus], idx, embedder=embedder)
    vectors = np.array(Index.load(idx).embeddings)
    try:
        for spec in (StoreSpec("hnsw-ip"), StoreSpec("milvus", uri)):
            report = build([corpus], idx, embedder=embedder, store=spec)
            assert report.embedded == 0 and not report.up_to_date and Index.load(idx).index_type == spec.index_type
            assert np.array_equal(Index.load(idx).embeddings, vectors)
        milvus.client(uri).drop_collection(Index.load(idx, search=False).manifest["store"]["collection"])
        report = build([corpus], idx, embedder=embedder)  # back to flat-ip: the Milvus side is gone
        assert report.embedded == 0 and Index.load(idx).index_type == "flat-ip"
        assert build([corpus], idx, embedder=embedder).up_to_date
    finally:
        milvus.close_all()


def test_a_milvus_collection_adds_searches_and_removes_by_id(tmp_path: Path) -> None:
    v = _unit(20)
    try:
        collection = milvus.MilvusCollection.create(str(tmp_path / "m.db"), "civic_qa_test", 16)
        collection.add_all(v, [f"passage {i}" for i in range(20)])
        assert collection.size == 20 and list(collection.search(v[:3], 1)[1][:, 0]) == [0, 1, 2]
        assert collection.remove(np.array([1])) == 1 and collection.size == 19
        assert 1 not in collection.search(v[1:2], 5)[1][0]
    finally:
        milvus.close_all()
