"""Embedding that survives being killed: vectors are written in chunks as they are computed.

A build embeds its passages in consecutive chunks; each chunk is saved (atomically) under a name made
from the model and the chunk's texts in a folder beside the index, ``.<index>.embedding/``. A build
killed at any point (even ``kill -9``) leaves the chunks it finished there, and the next build of the
same documents finds them and embeds only the rest. The folder is removed once the index is swapped in.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from index.atomic import write_file
from index.embed import Embedder
from index.folder import disk_full

log = logging.getLogger(__name__)

CHUNK_PASSAGES = 1024


def journal_dir(index_dir: Path) -> Path:
    return index_dir.parent / f".{index_dir.name}.embedding"


@dataclass(frozen=True, slots=True)
class Embedded:
    """The vectors of a build's new passages, chunk by chunk (memory maps of the saved chunks)."""

    chunks: tuple[np.ndarray, ...]
    dimension: int
    computed: int  # passages embedded by this run (the rest came from chunks saved by an earlier run)
    seconds: float  # spent embedding in this run

    def __len__(self) -> int:
        return sum(len(c) for c in self.chunks)

    def rows(self) -> RowReader:
        return RowReader(self.chunks, self.dimension)


class RowReader:
    """Reads the chunks' rows in order, ``take(k)`` at a time."""

    def __init__(self, chunks: Sequence[np.ndarray], dimension: int) -> None:
        self._chunks = list(chunks)
        self._dimension = dimension
        self._at = (0, 0)

    def take(self, k: int) -> np.ndarray:
        out = np.empty((k, self._dimension), np.float32)
        filled = 0
        c, offset = self._at
        while filled < k:
            chunk = self._chunks[c]
            n = min(k - filled, len(chunk) - offset)
            out[filled : filled + n] = chunk[offset : offset + n]
            filled += n
            offset += n
            if offset == len(chunk):
                c, offset = c + 1, 0
        self._at = (c, offset)
        return out


def embed_resumable(
    embedder: Embedder,
    texts: Sequence[str],
    folder: Path,
    *,
    batch_size: int = 64,
    chunk_passages: int = CHUNK_PASSAGES,
    progress: bool = False,
    on_chunk: Callable[[int, int], None] | None = None,
) -> Embedded:
    """Embed ``texts`` in chunks of ``chunk_passages``, each saved in ``folder`` as soon as it is computed
    and reused when a chunk of the same texts was saved before. ``on_chunk(done, total)`` follows along."""
    folder.mkdir(parents=True, exist_ok=True)
    chunks: list[np.ndarray] = []
    computed, seconds, dimension = 0, 0.0, 0
    with tqdm(total=len(texts), desc="embedding", unit="passage", disable=not progress, leave=False) as bar:
        for start in range(0, len(texts), chunk_passages):
            part = texts[start : start + chunk_passages]
            file = chunk_file(folder, embedder.name, part)
            vectors = load_chunk(file, len(part))
            if vectors is None:
                began = time.perf_counter()
                vectors = np.asarray(embedder.encode(part, batch_size=batch_size), dtype=np.float32)
                seconds += time.perf_counter() - began
                computed += len(part)
                save_chunk(file, vectors)
                vectors = np.load(file, mmap_mode="r")
            chunks.append(vectors)
            dimension = int(vectors.shape[1])
            bar.update(len(part))
            if on_chunk is not None:
                on_chunk(start + len(part), len(texts))
    if texts and computed < len(texts):
        log.info("reused %d passages' vectors saved by an interrupted build", len(texts) - computed)
    return Embedded(tuple(chunks), dimension, computed, seconds)


def discard(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def chunk_file(folder: Path, model: str, texts: Sequence[str]) -> Path:
    """Where the vectors of these texts by this model are saved (a plain build and a spread one alike)."""
    return folder / f"chunk-{_key(model, texts)}.npy"


def _key(model: str, texts: Sequence[str]) -> str:
    digest = hashlib.sha256(model.encode())
    for t in texts:
        digest.update(b"\0")
        digest.update(t.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()[:24]


def load_chunk(file: Path, rows: int) -> np.ndarray | None:
    """A saved chunk of ``rows`` vectors (memory-mapped), or ``None`` when absent or unreadable."""
    if not file.exists():
        return None
    try:
        vectors: np.ndarray = np.load(file, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError) as err:
        log.warning("ignoring %s (%s); embedding that chunk again", file, err)
        return None
    if vectors.ndim != 2 or len(vectors) != rows or vectors.dtype != np.float32:
        log.warning("ignoring %s (shape %s); embedding that chunk again", file, vectors.shape)
        return None
    return vectors


def save_chunk(file: Path, vectors: np.ndarray) -> None:
    """Save a chunk's vectors atomically; a full disk raises ``ENOSPC``."""
    try:
        write_file(file, lambda f: np.save(f, vectors, allow_pickle=False))
    except OSError as err:
        full = disk_full(err, file.parent)
        if full and err.errno != errno.ENOSPC:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)) from err
        raise
