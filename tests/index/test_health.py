"""What ``qa serve`` does with an index before serving it: serve, build, refuse, or serve without refreshing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from index.build import build
from index.chunking import ChunkSettings
from index.dense import StoreSpec
from index.embed import Embedder
from index.errors import QAError
from index.health import readiness


def _ready(paths: list[Path], idx: Path, embedder: Embedder, store: StoreSpec | None = None):
    return readiness(
        paths, idx, default=paths, model_name=embedder.name, chunking=ChunkSettings(), store=store or StoreSpec()
    )


def test_missing_fresh_stale_and_another_store(corpus: Path, tmp_path: Path, embedder: Embedder) -> None:
    idx = tmp_path / "idx"
    assert _ready([corpus], idx, embedder).state == "missing"
    build([corpus], idx, embedder=embedder)
    fresh = _ready([], idx, embedder)  # no paths: the sources the index records
    assert fresh.state == "fresh" and fresh.loaded is not None and fresh.sources == [corpus.resolve()]
    assert _ready([], idx, embedder, StoreSpec("hnsw-ip")).state == "stale"  # QA_STORE changed: rebuilt
    (corpus / "hackathon.md").write_text("# Hackathon\n\nMoved.\n")
    stale = _ready([], idx, embedder)
    assert stale.state == "stale" and stale.loaded is None


def test_a_damaged_index_is_refused_with_the_command_that_rebuilds_it(
    corpus: Path, tmp_path: Path, embedder: Embedder
) -> None:
    idx = tmp_path / "idx"
    build([corpus], idx, embedder=embedder)
    (idx / "embeddings.npy").write_bytes(b"garbage")
    with pytest.raises(QAError, match=r"embeddings\.npy.*qa index .*--rebuild"):
        _ready([corpus], idx, embedder)


def test_gone_sources_serve_the_index_as_it_is(corpus: Path, tmp_path: Path, embedder: Embedder) -> None:
    idx = tmp_path / "idx"
    build([corpus], idx, embedder=embedder)
    shutil.rmtree(corpus)
    ready = _ready([], idx, embedder)
    assert ready.state == "sources-gone" and ready.loaded is not None and "not refreshed" in (ready.warning or "")
