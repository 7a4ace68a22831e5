"""A real Milvus server (standalone 2.3, the `server` extra): capabilities asked, not guessed; the dense side in
Milvus and BM25 local where the server has no full-text search; a kill -9 during a build loses nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from eval.milvus_server import LocalMilvus
from index import milvus
from index.build import build
from index.dense import StoreSpec
from index.embed import Embedder
from index.errors import StoreUnavailableError
from index.resume import journal_dir
from index.search import LocalSearch
from index.store import Index
from qa.retriever import Retriever
from qa.settings import Settings
from tests.conftest import ROOT
from tests.web.conftest import local_client
from web.app import create_app

SEEDS = ROOT / "seeds"
QUESTIONS = [
    "What does Pehchaan do?",
    "Where is the hackathon held?",
    "How long is the fellowship?",
    "apply online identity fellowship hackathon",
    "SMS short code",
]

pytestmark = pytest.mark.slow


def _top(index: Index, embedder: Embedder, k: int = 5) -> list[list[tuple[str, int, float]]]:
    hits = Retriever(index, embedder).search(QUESTIONS, k=k)
    return [[(h.passage.doc_id, h.passage.start, round(h.score, 4)) for h in q] for q in hits]


def test_capabilities_are_asked_of_the_server_not_guessed(milvus_server: LocalMilvus, tmp_path: Path) -> None:
    server = milvus.capabilities(milvus_server.uri)
    assert server.version.startswith("v2.3") and not server.full_text and server.lexical == "local"
    lite = milvus.capabilities(str(tmp_path / "lite.db"))
    assert lite.full_text and lite.lexical == "milvus"  # Milvus Lite has BM25; its version says nothing of it
    for uri in (milvus_server.uri, str(tmp_path / "lite.db")):  # the probe leaves no collection behind
        assert not [n for n in milvus.client(uri).list_collections() if "probe" in n]
    milvus.close_all()


def test_the_seeds_through_a_milvus_server_find_what_faiss_finds(
    milvus_server: LocalMilvus, tmp_path: Path, embedder: Embedder
) -> None:
    """The index folder moved into Milvus as `QA_STORE=milvus:http://… qa index` does: nothing re-embedded."""
    build([SEEDS], tmp_path / "flat", embedder=embedder)
    shutil.copytree(tmp_path / "flat", tmp_path / "mv")
    vectors = np.array(Index.load(tmp_path / "mv").embeddings)
    report = build([SEEDS], tmp_path / "mv", embedder=embedder, store=StoreSpec.parse(f"milvus:{milvus_server.uri}"))
    assert report.embedded == 0 and not report.up_to_date
    remote = Index.load(tmp_path / "mv")
    assert np.array_equal(remote.embeddings, vectors)
    store = remote.manifest["store"]
    assert remote.lexical == "local" and store["server"].startswith("v2.3") and store["uri"] == milvus_server.uri
    assert isinstance(remote.search, LocalSearch) and isinstance(remote.search.dense, milvus.MilvusCollection)
    assert (tmp_path / "mv" / "bm25").is_dir() and not (tmp_path / "mv" / "dense.faiss").exists()
    assert _top(remote, embedder) == _top(Index.load(tmp_path / "flat"), embedder)
    with local_client(create_app(Settings(index_dir=tmp_path / "mv"), embedder=embedder)) as client:
        health = client.get("/healthz").json()
        assert (health["store"], health["lexical"]) == ("milvus", "local")
        answer = client.post("/ask", json={"question": "What does Pehchaan do?"})
        assert answer.status_code == 200 and len(answer.json()["passages"]) == 5


def test_a_milvus_server_killed_mid_build_loses_nothing(
    milvus_server: LocalMilvus, tmp_path: Path, embedder: Embedder
) -> None:
    """kill -9 of the server while a build is under way: the build fails with a one-line error, the previous
    index (folder and collection) serves again once the server is back, and the next build embeds nothing.
    (The session's server itself is killed and restarted: Milvus 2.3's embedded etcd always takes port 2380,
    so two cannot run on one machine.)"""
    server = milvus_server
    spec, idx = StoreSpec("milvus", server.uri), tmp_path / "idx"
    docs = shutil.copytree(SEEDS, tmp_path / "docs")
    build([docs], idx, embedder=embedder, store=spec)
    before = Index.load(idx)
    collection, answers = before.manifest["store"]["collection"], _top(before, embedder)
    (docs / "hackathon.md").write_text("# Civic hackathon\n\nThe civic hackathon moved to Swat this year.\n")
    stages: list[str] = []

    def kill_when_embedded(line: str) -> None:
        stages.append(line)
        if line.startswith("embedded"):  # between embedding and writing the collection
            server.kill()

    try:
        with pytest.raises(StoreUnavailableError, match="cannot be used"):
            build([docs], idx, embedder=embedder, store=spec, chunk_passages=2, on_stage=kill_when_embedded)
        assert any(line.startswith("embedded") for line in stages)
        assert list(journal_dir(idx).glob("chunk-*.npy"))  # the vectors computed are kept
        with pytest.raises(StoreUnavailableError):
            _top(before, embedder)  # down: a typed error (503 from the app), not a stack trace
    finally:
        if server.pid is None:
            server.start()  # the same port and data, as an operator's restart
    served = Index.load(idx)
    assert served.manifest["store"]["collection"] == collection and _top(served, embedder) == answers
    assert _top(before, embedder) == answers  # loaded before the kill: the collection is loaded again
    lines: list[str] = []
    report = build([docs], idx, embedder=embedder, store=spec, chunk_passages=2, on_stage=lines.append)
    assert report.added == ("hackathon.md",) and any(line.startswith("embedded 0 passages") for line in lines)
    after = Index.load(idx)
    assert after.manifest["store"]["collection"] != collection and not journal_dir(idx).exists()
    assert "Swat" in Retriever(after, embedder).search(["Where did the hackathon move?"], k=1)[0][0].passage.text
    prefix = collection.rsplit("_", 1)[0] + "_"
    left = [n for n in milvus.client(server.uri).list_collections() if n.startswith(prefix)]
    assert sorted(left) == sorted([collection, after.manifest["store"]["collection"]])  # the dead build's: gone
