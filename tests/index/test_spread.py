"""Embedding spread over Ray (`qa index --ray`): a local cluster of 2 workers gives a plain build's vectors, a
worker killed mid-build loses nothing, and without --ray nothing imports Ray."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from eval.milvus_server import free_port
from index.build import build
from index.embed import Embedder
from index.errors import QAError
from index.resume import journal_dir
from index.spread import ChunkDone, Spread
from index.store import Index
from tests.conftest import ROOT, need_extra

SEEDS = ROOT / "seeds"
CHUNK = 4  # passages a Ray task: the seeds' 36 passages make 9 tasks


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    """A local Ray cluster of 2 workers in this process, for the module; shut down at the end."""
    need_extra(importlib.util.find_spec("ray") is not None, "Ray is not installed (pip install -e '.[ray]')")
    import ray

    from index.spread import _ray

    _ray("local:2")
    try:
        yield
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> np.ndarray:
    folder = tmp_path_factory.mktemp("plain") / "idx"
    build([SEEDS], folder, embedder=embedder, chunk_passages=CHUNK)
    return np.array(Index.load(folder).embeddings)


@pytest.mark.slow
def test_a_build_spread_over_two_ray_workers_gives_a_plain_builds_vectors(
    cluster: None, plain: np.ndarray, tmp_path: Path, embedder: Embedder
) -> None:
    done: list[ChunkDone] = []
    idx = tmp_path / "idx"
    report = build([SEEDS], idx, embedder=embedder, chunk_passages=CHUNK, spread=Spread("local:2", done.append))
    vectors = np.array(Index.load(idx).embeddings)
    assert report.passages == len(plain) and vectors.shape == plain.shape
    assert np.abs(vectors - plain).max() <= 1e-5
    assert sorted(d.chunk for d in done) == list(range(-(-len(plain) // CHUNK)))  # every chunk, once
    assert len({d.pid for d in done}) == 2 and os.getpid() not in {d.pid for d in done}  # both workers, not here
    assert not journal_dir(idx).exists()


@pytest.mark.slow
def test_a_ray_worker_killed_mid_build_loses_nothing(
    cluster: None, plain: np.ndarray, tmp_path: Path, embedder: Embedder
) -> None:
    """kill -9 of the worker that finished the first chunk, while the others wait: Ray runs its task again
    elsewhere, the build finishes, and the vectors are a plain build's."""
    killed: list[int] = []

    def kill_first(chunk: ChunkDone) -> None:
        if not killed:
            os.kill(chunk.pid, signal.SIGKILL)
            killed.append(chunk.pid)

    done: list[ChunkDone] = []

    def follow(chunk: ChunkDone) -> None:
        done.append(chunk)
        kill_first(chunk)

    idx = tmp_path / "idx"
    build([SEEDS], idx, embedder=embedder, chunk_passages=CHUNK, spread=Spread("local:2", follow))
    assert killed and np.abs(np.array(Index.load(idx).embeddings) - plain).max() <= 1e-5
    assert sorted(d.chunk for d in done) == list(range(-(-len(plain) // CHUNK)))
    later = done[done.index(next(d for d in done if d.pid == killed[0])) + 1 :]
    assert later and killed[0] not in {d.pid for d in later}  # the dead worker did no more


def test_without_ray_nothing_imports_it(tmp_path: Path) -> None:
    """A plain `qa index` (and a bad --ray, refused before any document is read) never imports Ray."""
    code = (
        "import sys; from qa.cli import main; rc = main(sys.argv[1:]); "
        "print('RAY' if 'ray' in sys.modules else 'NO RAY'); sys.exit(rc)"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    plain = subprocess.run(
        [sys.executable, "-c", code, "index", str(SEEDS), "--index", str(tmp_path / "idx")],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert plain.returncode == 0 and plain.stdout.strip().endswith("NO RAY"), plain.stderr
    bad = subprocess.run(
        [sys.executable, "-m", "qa.cli", "index", str(SEEDS), "--index", str(tmp_path / "x"), "--ray", "local:0"],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert bad.returncode == 2 and "local:N" in bad.stderr and "Traceback" not in bad.stderr
    assert not (tmp_path / "x").exists()


def test_regression_a_ray_address_where_nothing_listens_fails_at_once(tmp_path: Path, embedder: Embedder) -> None:
    """`qa index --ray host:port` with nothing listening there waited over 10 minutes inside Ray's own retries:
    now it is a one-line error naming the address, and no index is written."""
    need_extra(importlib.util.find_spec("ray") is not None, "Ray is not installed (pip install -e '.[ray]')")
    address = f"127.0.0.1:{free_port()}"
    with pytest.raises(QAError, match=f"cannot join the Ray cluster at '{address}': nothing answers"):
        build([SEEDS], tmp_path / "idx", embedder=embedder, spread=Spread(address))
    assert not (tmp_path / "idx" / "manifest.json").exists()


@pytest.mark.slow
def test_a_spread_build_resumes_the_chunks_a_plain_build_saved(
    cluster: None, tmp_path: Path, embedder: Embedder
) -> None:
    """The journal is shared: chunks a plain build saved before it was killed are not sent to Ray again."""
    from index.resume import embed_resumable
    from index.spread import embed_spread

    texts = [f"Passage {i} of the district's service charter, page {i % 7}." for i in range(14)]
    folder = tmp_path / "journal"
    embed_resumable(embedder, texts[:8], folder, chunk_passages=CHUNK)  # a plain build killed after 2 chunks
    done: list[ChunkDone] = []
    embedded = embed_spread(embedder, texts, folder, Spread("local:2", done.append), chunk_passages=CHUNK)
    assert sorted(d.chunk for d in done) == [2, 3] and embedded.computed == 6
    vectors = np.concatenate([np.asarray(c) for c in embedded.chunks])
    assert np.abs(vectors - embedder.encode(texts)).max() <= 1e-5
