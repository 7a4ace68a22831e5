from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from index import dense, folder
from index.build import build, status
from index.chunking import ChunkSettings
from index.embed import Embedder
from index.errors import IndexCorruptError, IndexMismatchError, IndexNotFoundError
from index.passages import passage_context
from index.store import Index
from tests.conftest import ROOT, THREE_DOCS, write_corpus


def snapshot(index_dir: Path) -> dict[str, bytes]:
    return {str(p.relative_to(index_dir)): p.read_bytes() for p in sorted(index_dir.rglob("*")) if p.is_file()}


def test_build_then_load_round_trip(corpus: Path, tmp_path: Path, embedder: Embedder) -> None:
    report = build([corpus], tmp_path / "idx", embedder=embedder)
    assert report.documents == 3 and report.embedded == report.passages > 3
    index = Index.load(tmp_path / "idx", model_name=embedder.name, dimension=384)
    assert sorted(index.documents) == sorted(THREE_DOCS)
    assert len(index.passages) == report.passages == index.search.dense.size == index.embeddings.shape[0]
    for p in index.passages:
        assert index.documents[p.doc_id].text[p.start : p.end] == p.text
    norms = np.linalg.norm(index.embeddings, axis=1)
    assert np.allclose(norms, 1.0, atol=1e-4)
    manifest = json.loads((tmp_path / "idx" / "manifest.json").read_text())
    assert manifest["model"] == {"name": embedder.name, "dimension": 384, "normalized": True}
    assert manifest["chunking"] == ChunkSettings().as_dict() and manifest["index_type"] == "flat-ip"
    assert set(manifest["documents"]) == set(THREE_DOCS)
    assert all(len(d["sha256"]) == 64 for d in manifest["documents"].values())
    assert {"faiss-cpu", "bm25s", "sentence-transformers", "python"} <= set(manifest["versions"])
    assert manifest["built_at"] and manifest["build_seconds"] > 0


def test_unchanged_corpus_does_no_embedding_work(corpus: Path, tmp_path: Path, embedder: Embedder) -> None:
    build([corpus], tmp_path / "idx", embedder=embedder)
    before = snapshot(tmp_path / "idx")
    lazy = Embedder()  # never loaded: an unchanged corpus must not need the model
    report = build([corpus], tmp_path / "idx", embedder=lazy)
    assert report.up_to_date and report.embedded == 0
    assert lazy._model is None
    assert snapshot(tmp_path / "idx") == before
    assert status([corpus], tmp_path / "idx", model_name=embedder.name, chunking=ChunkSettings()) == "fresh"


def test_editing_one_file_reembeds_only_its_passages(corpus: Path, tmp_path: Path, embedder: Embedder) -> None:
    idx = tmp_path / "idx"
    build([corpus], idx, embedder=embedder)
    old = Index.load(idx)
    (corpus / "hackathon.md").write_text("# Civic hackathon\n\nThe hackathon moved to Mardan in 2024.\n")
    assert status([corpus], idx, model_name=embedder.name, chunking=ChunkSettings()) == "stale"
    report = build([corpus], idx, embedder=embedder)
    new = Index.load(idx)
    assert report.changed == ("hackathon.md",) and report.unchanged == 2 and not report.added
    assert report.embedded == sum(p.doc_id == "hackathon.md" for p in new.passages)
    for doc_id in ("pehchaan.md", "fellowship.txt"):
        old_rows = [i for i, p in enumerate(old.passages) if p.doc_id == doc_id]
        new_rows = [i for i, p in enumerate(new.passages) if p.doc_id == doc_id]
        assert [old.passages[i] for i in old_rows] == [new.passages[i] for i in new_rows]
        assert np.array_equal(old.embeddings[old_rows], new.embeddings[new_rows])
    assert any("Mardan" in p.text for p in new.passages)
    assert not any("Winning teams" in p.text for p in new.passages)


def test_adding_and_deleting_files(corpus: Path, tmp_path: Path, embedder: Embedder) -> None:
    idx = tmp_path / "idx"
    build([corpus], idx, embedder=embedder)
    (corpus / "fellowship.txt").unlink()
    (corpus / "new.md").write_text("# New\n\nA new service called Rehnuma guides citizens.\n")
    report = build([corpus], idx, embedder=embedder)
    assert report.removed == ("fellowship.txt",) and report.added == ("new.md",)
    index = Index.load(idx)
    assert {p.doc_id for p in index.passages} == {"pehchaan.md", "hackathon.md", "new.md"}
    assert report.embedded == sum(p.doc_id == "new.md" for p in index.passages)


def _manifest_edit(idx: Path, **changes: object) -> None:
    path = idx / "manifest.json"
    manifest = json.loads(path.read_text())
    for dotted, value in changes.items():
        node = manifest
        *parents, last = dotted.split("__")
        for key in parents:
            node = node[key]
        node[last] = value
    path.write_text(json.dumps(manifest))


@pytest.mark.parametrize(
    ("change", "what"),
    [({"model__name": "other/model"}, "model"), ({"format_version": 99}, "format version")],
)
def test_manifest_mismatch_names_what_differs(
    corpus: Path, tmp_path: Path, embedder: Embedder, change: dict[str, object], what: str
) -> None:
    idx = tmp_path / "idx"
    build([corpus], idx, embedder=embedder)
    _manifest_edit(idx, **change)
    with pytest.raises(IndexMismatchError) as err:
        Index.load(idx, model_name=embedder.name)
    assert err.value.what == what and "manifest.json" in str(err.value)


def test_dimension_mismatch(corpus: Path, tmp_path: Path, embedder: Embedder) -> None:
    idx = tmp_path / "idx"
    build([corpus], idx, embedder=embedder)
    with pytest.raises(IndexMismatchError, match="dimension"):
        Index.load(idx, dimension=768)
    _manifest_edit(idx, model__dimension=768)
    with pytest.raises(IndexMismatchError, match="dimension"):
        Index.load(idx)


@pytest.mark.parametrize(
    ("damage", "file"),
    [
        (lambda d: (d / "dense.faiss").write_bytes((d / "dense.faiss").read_bytes()[:100]), "dense.faiss"),
        (lambda d: (d / "passages.jsonl").write_text('{"doc_id": "x"\n'), "passages.jsonl"),
        (lambda d: (d / "embeddings.npy").unlink(), "embeddings.npy"),
        (lambda d: (d / "manifest.json").write_text("{not json"), "manifest.json"),
        (lambda d: (d / "manifest.json").unlink(), "manifest.json"),
    ],
)
def test_damaged_index_gives_a_typed_error_naming_the_file(
    corpus: Path, tmp_path: Path, embedder: Embedder, damage: Callable[[Path], object], file: str
) -> None:
    idx = tmp_path / "idx"
    build([corpus], idx, embedder=embedder)
    damage(idx)
    with pytest.raises(IndexCorruptError) as err:
        Index.load(idx)
    assert file in str(err.value) and "qa index --rebuild" in str(err.value)


def test_no_index_is_its_own_error(tmp_path: Path) -> None:
    with pytest.raises(IndexNotFoundError, match="qa index"):
        Index.load(tmp_path / "nothing")


def test_a_failed_write_keeps_the_previous_index(
    corpus: Path, tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    idx = tmp_path / "idx"
    build([corpus], idx, embedder=embedder)
    before = snapshot(idx)
    (corpus / "new.md").write_text("# New\n\nSomething new.\n")

    def disk_full(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(dense.faiss, "write_index", disk_full)
    with pytest.raises(OSError, match="No space"):
        build([corpus], idx, embedder=embedder)
    assert snapshot(idx) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".idx.tmp")] == []


def test_a_swap_cut_between_its_renames_is_recovered(
    corpus: Path, tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    idx = tmp_path / "idx"
    build([corpus], idx, embedder=embedder)
    before = snapshot(idx)
    (corpus / "new.md").write_text("# New\n\nSomething new.\n")
    real_rename = os.rename
    calls = []

    def crash_on_second(src: object, dst: object) -> None:
        calls.append((src, dst))
        if len(calls) == 2:
            raise KeyboardInterrupt("killed between the renames")
        real_rename(src, dst)

    monkeypatch.setattr(folder.os, "rename", crash_on_second)
    with pytest.raises(KeyboardInterrupt):
        build([corpus], idx, embedder=embedder)
    monkeypatch.setattr(folder.os, "rename", real_rename)
    assert not idx.exists()
    Index.load(idx)  # puts the previous index back
    assert snapshot(idx) == before


KILL_SCRIPT = """
import logging, sys
logging.basicConfig(level=logging.INFO, stream=sys.stderr)
from index.embed import Embedder
from index.build import build
build([sys.argv[1]], sys.argv[2], embedder=Embedder(), batch_size=4)
"""


def test_sigkill_midway_leaves_the_earlier_index_loadable_and_unchanged(
    corpus: Path, tmp_path: Path, embedder: Embedder
) -> None:
    idx = tmp_path / "idx"
    build([corpus], idx, embedder=embedder)
    before = snapshot(idx)
    for i in range(300):
        (corpus / f"extra{i}.md").write_text(f"# Extra {i}\n\n" + f"Filler sentence number {i} about services. " * 40)
    proc = subprocess.Popen(
        [sys.executable, "-c", KILL_SCRIPT, str(corpus), str(idx)],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        if "embedding" in line and "passages" in line:
            break
    time.sleep(1.0)  # well inside the embedding of ~1500 passages
    assert proc.poll() is None, "the build finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert snapshot(idx) == before
    assert len(Index.load(idx).documents) == 3


def test_a_loader_does_not_repair_while_a_build_holds_the_lock(
    corpus: Path, tmp_path: Path, embedder: Embedder
) -> None:
    """Regression: a reload during a build's swap could move the old folder back under the build."""
    idx = tmp_path / "idx"
    build([corpus], idx, embedder=embedder)
    old = tmp_path / ".idx.old-12345"
    os.rename(idx, old)  # as between the build's two renames
    with folder.build_lock(idx):
        with pytest.raises(IndexNotFoundError):
            Index.load(idx)
        assert old.exists() and not idx.exists()
    assert len(Index.load(idx).documents) == 3  # no build running: the interrupted swap is repaired


def test_a_passage_reads_with_the_headings_above_it(tmp_path: Path, embedder: Embedder) -> None:
    folder = write_corpus(
        tmp_path / "c",
        {"a.md": "# Guide\n\nIntro text here.\n\n## Fees (2024)\n\nThe fee is 100 rupees.\n\nIt is paid online."},
    )
    build([folder], tmp_path / "idx", embedder=embedder)
    index = Index.load(tmp_path / "idx")
    fees = next(p for p in index.passages if "fee is" in p.text)
    assert fees.heading_path[-1] == "Fees (2024)"
    context = passage_context(index.documents["a.md"].title, fees)
    assert context.text[: context.body_start] == "Guide > Fees (2024)\n"  # read, never answered
    assert context.text[context.body_start :] == fees.text
