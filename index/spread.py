"""Embedding spread over a Ray cluster: ``qa index --ray local[:N]|auto|ADDRESS``.

The passages to embed are cut into the resumable chunks of :mod:`index.resume` (1,024 passages); each chunk
not saved by an earlier run is a Ray task, run by a worker that loads the embedding model once and keeps it.
The driver saves each chunk's vectors into the build's journal as it arrives, in the same files a plain
build writes, so a build spread over Ray and a plain one resume each other's work, and the index folder is
written here, as always (only embedding is spread: reading, chunking, writing the folder and building the
search structures stay on the machine that runs ``qa index``).

A worker that dies (``kill -9``, a node lost) loses only its task: Ray runs it again on another worker
(:data:`RETRIES` times at most); chunks already saved are never computed again. ``local:N`` starts a
cluster of ``N`` workers inside this process (tests, one machine); ``auto`` joins the cluster this
machine belongs to (``ray start``); anything else is the address of its head (``head:6379``; a cluster with
token authentication needs ``RAY_AUTH_MODE=token`` and its token here too). Every node needs civic-qa installed
with the ``ray`` extra and the embedding model.
Nothing here imports Ray until a build asks for it.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from index.embed import Embedder
from index.errors import QAError, first_line
from index.resume import CHUNK_PASSAGES, Embedded, chunk_file, load_chunk, save_chunk

log = logging.getLogger(__name__)

RETRIES = 5  # times Ray runs a chunk again after its worker died
MISSING = "--ray needs Ray: pip install -e '.[ray]' (on every node of the cluster)"


@dataclass(frozen=True, slots=True)
class ChunkDone:
    """One chunk embedded by a worker: which chunk, how many passages, by which process, in how long."""

    chunk: int
    passages: int
    worker: str  # node and process id
    pid: int
    seconds: float


@dataclass(frozen=True, slots=True)
class Spread:
    """Where to embed: a Ray address (``local:N``, ``auto``, ``head:6379``), and who to tell of each chunk done."""

    address: str
    on_chunk: Callable[[ChunkDone], None] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not self.address.strip():
            raise ValueError("--ray needs an address: local[:N], auto, or the head node's (head:6379)")
        if self.address.startswith("local"):
            _local_workers(self.address)  # checked now: a bad count fails before anything is read


@dataclass(frozen=True, slots=True)
class SpreadReport:
    """What the workers did: passages and seconds of embedding, per worker."""

    done: tuple[ChunkDone, ...]
    wall_seconds: float

    def per_worker(self) -> dict[str, tuple[int, float]]:
        out: dict[str, tuple[int, float]] = {}
        for d in self.done:
            n, s = out.get(d.worker, (0, 0.0))
            out[d.worker] = (n + d.passages, s + d.seconds)
        return out


def embed_spread(
    embedder: Embedder,
    texts: Sequence[str],
    folder: Path,
    spread: Spread,
    *,
    batch_size: int = 64,
    chunk_passages: int = CHUNK_PASSAGES,
    report: list[SpreadReport] | None = None,
) -> Embedded:
    """:func:`index.resume.embed_resumable`, the chunks computed by Ray workers; ``report`` gets what they did."""
    folder.mkdir(parents=True, exist_ok=True)
    starts = list(range(0, len(texts), chunk_passages))
    files = [chunk_file(folder, embedder.name, texts[s : s + chunk_passages]) for s in starts]
    saved = [load_chunk(f, len(texts[s : s + chunk_passages])) for f, s in zip(files, starts, strict=True)]
    todo = [i for i, v in enumerate(saved) if v is None]
    began = time.perf_counter()
    done: list[ChunkDone] = []
    if todo:
        ray = _ray(spread.address)
        task = ray.remote(num_cpus=1, max_retries=RETRIES, retry_exceptions=False)(_embed_chunk)
        recipe = (embedder.name, embedder.path, embedder.engine)
        pending = {
            task.remote(recipe, list(texts[starts[i] : starts[i] + chunk_passages]), batch_size, i): i for i in todo
        }
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            i = pending.pop(ready[0])
            try:
                vectors, worker, pid, seconds = ray.get(ready[0])
            except Exception as err:  # its retries spent, or the cluster gone: the chunks saved stay
                raise QAError(f"Ray could not embed chunk {i + 1} of {len(starts)} ({first_line(err)})") from err
            save_chunk(files[i], np.asarray(vectors, dtype=np.float32))
            saved[i] = np.load(files[i], mmap_mode="r")
            finished = ChunkDone(i, len(vectors), worker, pid, seconds)
            done.append(finished)
            log.info("chunk %d of %d: %d passages by %s in %.1f s", i + 1, len(starts), len(vectors), worker, seconds)
            if spread.on_chunk is not None:
                spread.on_chunk(finished)
    computed = sum(d.passages for d in done)
    if len(texts) > computed:
        log.info("reused %d passages' vectors saved by an interrupted build", len(texts) - computed)
    chunks = tuple(v for v in saved if v is not None)
    wall = time.perf_counter() - began
    if report is not None:
        report.append(SpreadReport(tuple(done), wall))
    dimension = int(chunks[0].shape[1]) if chunks else 0
    return Embedded(chunks, dimension, computed, wall)


_models: dict[tuple[str, str | None, str], Embedder] = {}  # in a worker: its model, loaded once


def _embed_chunk(
    recipe: tuple[str, str | None, str], texts: list[str], batch_size: int, chunk: int
) -> tuple[np.ndarray, str, int, float]:
    """Run by a Ray worker: the chunk's vectors, the worker's name, its pid and the seconds spent embedding."""
    model = _models.get(recipe)
    if model is None:
        name, path, engine = recipe
        model = _models[recipe] = Embedder(name, path, engine=engine)
        model.dimension  # noqa: B018 (loaded now, so that the seconds below are embedding's)
    began = time.perf_counter()
    vectors = np.asarray(model.encode(texts, batch_size=batch_size), dtype=np.float32)
    worker = f"{socket.gethostname()}:{os.getpid()}"
    return vectors, worker, os.getpid(), time.perf_counter() - began


def _ray(address: str) -> Any:
    """Ray, connected: a local cluster of N workers started here (``local:N``), else the cluster at ``address``."""
    try:
        import ray as module
    except ImportError as err:
        raise QAError(MISSING) from err
    ray: Any = module  # partly typed
    _answers(address)
    if ray.is_initialized():
        return ray
    try:
        if address.startswith("local"):  # its workers import this very code, whatever is installed
            code = str(Path(__file__).resolve().parent.parent)
            path = os.pathsep.join(p for p in (code, os.environ.get("PYTHONPATH", "")) if p)
            options: dict[str, Any] = {
                "num_cpus": _local_workers(address),
                "include_dashboard": False,
                "logging_level": logging.WARNING,
                "runtime_env": {"env_vars": {"PYTHONPATH": path}},
            }
            try:
                ray.init(**options)
            except Exception as err:  # seen once in a test session, not reproduced: its processes are started again
                log.warning("a local Ray cluster did not start (%s): starting it again", first_line(err))
                ray.shutdown()
                ray.init(**options)
        else:
            ray.init(address=address, logging_level=logging.WARNING)
    except Exception as err:  # ConnectionError, ValueError (a bad address), RuntimeError
        raise QAError(
            f"cannot join the Ray cluster at {address!r} ({first_line(err)}): is `ray start` running there? A cluster "
            "with token authentication needs RAY_AUTH_MODE=token and its token (RAY_AUTH_TOKEN) in this shell too"
        ) from err
    resources = ray.cluster_resources()
    log.info("Ray cluster at %s: %s CPUs on %d nodes", address, resources.get("CPU", 0), len(ray.nodes()))
    return ray


def _answers(address: str, timeout: float = 10.0) -> None:
    """A head's address (``host:port``, ``ray://host:port``) must accept a connection: Ray itself would retry an
    address where nothing listens for minutes before saying so."""
    if address.startswith("local") or address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise QAError(f"--ray {address}: write the head node's address as host:port (head:6379), or local[:N], auto")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as err:
        raise QAError(f"cannot join the Ray cluster at {address!r}: nothing answers there ({err})") from err


def _local_workers(address: str) -> int:
    count = address.removeprefix("local").removeprefix(":") or str(os.cpu_count() or 1)
    if not count.isdigit() or int(count) < 1:
        raise ValueError(f"--ray {address}: write local or local:N with N a whole number of workers, at least 1")
    return int(count)
