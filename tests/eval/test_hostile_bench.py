"""`qa bench hostile`: one row of it, run for real on small files (the full run makes a 1.1 GB bomb)."""

from __future__ import annotations

from pathlib import Path

import pytest

from eval.hostile_bench import _skip_reasons, format_report, index_row
from eval.hostile_files import nested_html


@pytest.mark.slow
def test_an_index_row_runs_qa_index_in_a_fresh_process_and_names_the_limit_hit(tmp_path: Path) -> None:
    row = index_row("nested", [lambda folder: nested_html(folder / "nested.html", 2_000)], False, tmp_path / "w")
    assert row.exit_code == 0 and row.documents == 1
    assert row.peak_mb > 0 and row.worker_peak_mb > 0
    [reason] = row.skipped
    assert reason.startswith("nested.html: nests its elements 2,000 deep") and "QA_MAX_HTML_DEPTH" in reason
    report = format_report([row], [])
    assert "| nested | default |" in report and "- (default) nested.html: nests" in report


def test_skip_reasons_are_read_from_the_builds_one_line() -> None:
    log = "qa: warning: skipped 2 files: /t/a/big.md: is 200 MB, over the 10 MB limit; x; /t/a/c.pdf: has 5 pages\n"
    assert _skip_reasons(log) == ("big.md: is 200 MB, over the 10 MB limit; x", "c.pdf: has 5 pages")
