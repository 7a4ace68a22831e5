from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from eval import load_bench


@pytest.mark.slow
def test_short_bounded_load_run_has_no_errors(three_docs_index: Path, tmp_path: Path) -> None:
    """The CI-sized run of `qa bench load`: a real `qa serve` process, loopback only, stops by itself."""
    shutil.copytree(three_docs_index, tmp_path / "idx")  # a copy: `qa serve` may refresh what it serves
    questions = ["What is Pehchaan?", "When does the fellowship start?", "Where is the hackathon?"]
    report = load_bench.run(tmp_path / "idx", questions, clients=4, seconds=3, max_requests=200)
    assert report.requests > 0 and report.errors == 0 and report.statuses == {200: report.requests}
    assert report.requests <= 200 and report.seconds < 60


def test_load_generator_refuses_other_hosts() -> None:
    with pytest.raises(ValueError, match=r"127\.0\.0\.1"):
        load_bench.run_load("http://10.0.0.1:8000", ["q"], clients=1, seconds=1)
