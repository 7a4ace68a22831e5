"""``qa bench scale`` end to end on a small real corpus: every store built and served in fresh processes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from eval import scale_bench
from eval.scale_bench import _documents, format_report, measure, plot
from eval.scale_corpus import RealCorpus, grown
from index.embed import Embedder
from qa.cli import main

TOPICS = ["birth certificates", "property tax", "driving licences", "police reports", "land records", "school fees"]


def _real(embedder: Embedder) -> RealCorpus:
    texts = [
        f"Passage {i}: how to apply for {TOPICS[i % 6]} in district {i}, the office hours and the documents needed."
        for i in range(60)
    ]
    return RealCorpus(texts, embedder.encode(texts), {"made-up": 60}, 50.0)


def test_grown_passages_keep_the_real_ones_and_mix_beyond(embedder: Embedder) -> None:
    real = _real(embedder)
    texts, vectors = grown(real, 200)
    assert texts[:60] == real.texts and np.array_equal(vectors[:60], real.vectors)
    assert len(texts) == len(vectors) == 200 and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    words = {w for t in real.texts for w in t.split()}
    assert all(set(t.split()) <= words for t in texts[60:])  # made of real words only


def test_made_up_documents_hold_their_passages_at_their_offsets() -> None:
    docs = _documents([f"text number {i}" for i in range(23)])
    assert [len(p) for _, p in docs] == [10, 10, 3]
    for doc, passages in docs:
        assert all(doc.text[p.start : p.end] == p.text for p in passages)


@pytest.mark.slow
def test_every_store_is_built_served_and_measured(tmp_path: Path, embedder: Embedder) -> None:
    questions = [f"Where do I apply for {t}?" for t in TOPICS]
    report = measure(
        _real(embedder),
        questions,
        embedder,
        tmp_path / "work",
        sizes=(60, 300),
        stores=("flat-ip", "hnsw-ip", "milvus"),
    )
    assert [(r.size, r.store) for r in report.rows] == [
        (n, s) for n in (60, 300) for s in ("flat-ip", "hnsw-ip", "milvus")
    ]
    for r in report.rows:
        assert r.error is None, r.error
        assert r.disk_mb > 0 and r.rss_mb > 0 and r.p50_ms > 0 and r.dense_p50_ms > 0
    assert all(r.recall10 == 1.0 for r in report.rows if r.store == "flat-ip")  # exact is exact
    assert all(r.recall10 >= 0.9 for r in report.rows)
    table = format_report(report)
    assert table.count("| 300 |") == 3 and "projected at 50.0 passages/s" in table
    assert plot(report, tmp_path / "scale.png").stat().st_size > 1000
    assert not list((tmp_path / "work").glob("index-*"))  # removed unless asked to keep


def test_the_command_refuses_bad_sizes_and_a_missing_shared_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for args, says in (
        (["--sizes", "10k"], "comma-separated whole numbers"),
        (["--stores", "flat-ip,elastic"], "choose from flat-ip, hnsw-ip, milvus"),
    ):
        with pytest.raises(SystemExit) as stop:
            main(["bench", "scale", *args])
        assert stop.value.code == 2 and says in capsys.readouterr().err
    assert main(["bench", "scale", "--shared", str(tmp_path)]) == 2
    assert f"{tmp_path / 'datasets'}: no such folder" in capsys.readouterr().err


def test_milvus_lite_past_its_size_is_not_run_and_says_why(
    tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scale_bench, "MILVUS_LITE_MAX", 100)
    report = measure(
        _real(embedder), ["Where is the tax office?"], embedder, tmp_path, sizes=(300,), stores=("milvus",)
    )
    (row,) = report.rows
    assert row.error is not None and row.error.startswith("not run: Milvus Lite") and "not run" in format_report(report)
