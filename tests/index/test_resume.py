"""Resumable builds: the vectors a killed build computed are saved, and the next build embeds only the rest."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from index.build import build, passage_text
from index.embed import Embedder
from index.resume import embed_resumable, journal_dir
from index.store import Index
from tests.conftest import ROOT
from tests.index.test_store import snapshot

KILL_SCRIPT = """
import sys
from index.embed import Embedder
from index.build import build, passage_text
build([sys.argv[1]], sys.argv[2], embedder=Embedder(), batch_size=8, chunk_passages=32)
"""


def _chunks(folder: Path) -> list[Path]:
    return sorted(folder.glob("chunk-*.npy")) if folder.is_dir() else []


@pytest.mark.slow
def test_a_build_killed_midway_resumes_without_embedding_again(
    corpus: Path, tmp_path: Path, embedder: Embedder
) -> None:
    idx = tmp_path / "idx"
    build([corpus], idx, embedder=embedder)
    before = snapshot(idx)
    for i in range(120):
        (corpus / f"extra{i}.md").write_text(f"# Extra {i}\n\n" + f"Filler sentence number {i} about services. " * 40)
    proc = subprocess.Popen(
        [sys.executable, "-c", KILL_SCRIPT, str(corpus), str(idx)],
        cwd=ROOT,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    journal = journal_dir(idx)
    deadline = time.monotonic() + 300
    while len(_chunks(journal)) < 2 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "the build finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert snapshot(idx) == before and len(Index.load(idx).documents) == 3  # the old index still serves

    saved = sum(len(np.load(f)) for f in _chunks(journal))
    assert saved >= 64
    report = build([corpus], idx, embedder=embedder, batch_size=8, chunk_passages=32)
    manifest = json.loads((idx / "manifest.json").read_text())
    index = Index.load(idx)
    assert len(report.added) == 120 and report.embedded == sum(p.doc_id.startswith("extra") for p in index.passages)
    assert manifest["embedding"]["passages"] == report.embedded - saved  # only what was not saved
    assert not journal.exists()  # removed once the index is swapped in

    rows = [i for i, p in enumerate(index.passages) if p.doc_id == "extra0.md"]
    again = embedder.encode([passage_text(index.documents["extra0.md"], index.passages[i]) for i in rows])
    assert np.allclose(index.embeddings[rows], again, atol=1e-5)  # the saved vectors are the right ones


def test_a_damaged_saved_chunk_is_embedded_again(tmp_path: Path, embedder: Embedder) -> None:
    texts = [f"passage number {i} about the permit office" for i in range(10)]
    first = embed_resumable(embedder, texts, tmp_path, chunk_passages=4)
    assert first.computed == 10 and len(_chunks(tmp_path)) == 3
    _chunks(tmp_path)[0].write_bytes(b"not numpy")
    second = embed_resumable(embedder, texts, tmp_path, chunk_passages=4)
    assert second.computed in (4, 2)  # the damaged chunk only (4 passages, or the last 2)
    rows = second.rows().take(10)
    assert np.allclose(rows, embedder.encode(texts), atol=1e-5)
