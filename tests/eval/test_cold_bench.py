from __future__ import annotations

from pathlib import Path

import pytest

from eval import cold_bench


@pytest.mark.slow
def test_one_cold_run_per_engine_answers_and_prints_a_table(three_docs_index: Path) -> None:
    """The CI-sized run of `qa bench cold`: a fresh `qa ask` process per engine, each one exits 0."""
    rows = cold_bench.run(three_docs_index, runs=1, question="When does the fellowship cohort start?")
    assert [r.engine for r in rows] == [label for label, _ in cold_bench.ENGINES]
    assert all(r.answered and len(r.seconds) == 1 and r.seconds[0] > 0 for r in rows)
    table = cold_bench.format_rows(rows, three_docs_index)
    assert "| auto (numpy) |" in table and "p50 s" in table
