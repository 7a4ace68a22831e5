from __future__ import annotations

from pathlib import Path

import pytest

from eval import cold_bench
from index.build import build
from index.embed import Embedder


@pytest.mark.slow
def test_one_cold_run_per_engine_answers_and_prints_a_table(corpus: Path, tmp_path: Path, embedder: Embedder) -> None:
    """The CI-sized run of `qa bench cold`: a fresh `qa ask` process per engine, each one exits 0."""
    build([corpus], tmp_path / "idx", embedder=embedder)
    rows = cold_bench.run(tmp_path / "idx", runs=1, question="When does the fellowship cohort start?")
    assert [r.engine for r in rows] == [label for label, _ in cold_bench.ENGINES]
    assert all(r.answered and len(r.seconds) == 1 and r.seconds[0] > 0 for r in rows)
    table = cold_bench.format_rows(rows, tmp_path / "idx")
    assert "| auto (numpy) |" in table and "p50 s" in table
