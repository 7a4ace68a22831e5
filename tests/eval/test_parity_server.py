"""`qa bench parity` against a real Milvus server (standalone 2.3: dense in Milvus, BM25 local): the civic eval
sets get FAISS' answers and top 5, question for question."""

from __future__ import annotations

from pathlib import Path

import pytest

from eval import parity_bench
from eval.milvus_server import LocalMilvus
from index.embed import Embedder
from qa import wiring
from qa.settings import Settings
from tests.conftest import SHARED

pytestmark = pytest.mark.slow


def _parity(sets: tuple[str, ...], server: LocalMilvus, cache: Path, embedder: Embedder) -> parity_bench.ParityReport:
    settings = Settings()
    return parity_bench.run(
        SHARED / "corpora",
        embedder=embedder,
        cache_dir=cache,
        uri=server.uri,
        chunking=wiring.chunking(settings),
        fusion=wiring.fusion(settings),
        readers=wiring.readers(settings),
        threshold=wiring.threshold(settings),
        sets=sets,
    )


def _same(report: parity_bench.ParityReport) -> None:
    assert report.lexical == "local" and report.server.startswith("v2.3")
    for row in report.rows:
        assert row.questions > 0 and (row.same_passages, row.same_answer) == (1.0, 1.0), parity_bench.format_report(
            report
        )
        assert row.hit5[0] == row.hit5[1] and row.accuracy[0] == row.accuracy[1]


def test_the_seeds_sets_through_a_milvus_server(milvus_server: LocalMilvus, tmp_path: Path, embedder: Embedder) -> None:
    _same(_parity(("seeds-dev", "seeds-test"), milvus_server, tmp_path, embedder))


def test_the_corpora_sets_through_a_milvus_server(
    shared: Path, milvus_server: LocalMilvus, tmp_path: Path, embedder: Embedder
) -> None:
    _same(_parity(("corpora-dev", "corpora-test"), milvus_server, tmp_path, embedder))
