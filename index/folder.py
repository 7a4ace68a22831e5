"""The index folder on disk: atomic writes, the build lock, repairs after a dead build, and the files' formats.

A build writes a sibling temporary folder and swaps it in with renames, so a build that dies
leaves the previous index untouched and loadable. Nothing is pickled.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import mmap
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict
from functools import lru_cache
from pathlib import Path
from typing import Any, overload

import numpy as np

from index.atomic import fsync_tree, swap_folder, temp_path, write_file
from index.errors import IndexBusyError, IndexCorruptError, IndexWriteError
from index.types import Document, Passage, Sentence

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
DOCUMENTS = "documents.jsonl"
PASSAGES = "passages.jsonl"
EMBEDDINGS = "embeddings.npy"
BM25_DIR = "bm25"


# ---------------------------------------------------------------- writing, atomically


@contextlib.contextmanager
def atomic_folder(index_dir: Path) -> Iterator[Path]:
    """Yield a fresh sibling folder to write an index into; on success it is synced and swapped in place
    of ``index_dir`` (the caller writes the manifest last: a folder without one is never taken for an
    index), on any error (disk full, ^C) it is removed and ``index_dir`` is left as it was."""
    parent = index_dir.parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(index_dir)
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        yield tmp
        fsync_tree(tmp)
        swap_folder(tmp, index_dir)
    except BaseException as err:
        full = isinstance(err, OSError) and disk_full(err, parent)  # before the copy's space is given back
        shutil.rmtree(tmp, ignore_errors=True)
        if full and isinstance(err, OSError) and err.errno != errno.ENOSPC:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)) from err
        raise


def write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    write_file(folder / MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False))


def disk_full(err: OSError, folder: Path) -> bool:
    """Whether a write failed for want of space: ENOSPC or a quota, or a short write (numpy's "N requested
    and M written", which carries no errno) on a disk with almost nothing left."""
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    if err.errno is not None:
        return False
    try:
        return "requested and" in str(err) or shutil.disk_usage(folder).free < 1024 * 1024
    except OSError:
        return False


def recover(index_dir: Path) -> None:
    """Undo a swap cut between its two renames, and drop leftovers of dead builds (their temporary
    copies and old folders). Only called when no build holds the lock."""
    parent = index_dir.parent
    if not parent.is_dir():
        return
    olds = sorted(parent.glob(f".{index_dir.name}.old-*"))
    if olds and not index_dir.exists():
        with contextlib.suppress(OSError):
            os.rename(olds[-1], index_dir)
            log.warning("restored %s from an interrupted build", index_dir)
    leftovers = list(parent.glob(f".{index_dir.name}.tmp-*"))
    if index_dir.exists():
        leftovers += parent.glob(f".{index_dir.name}.old-*")
    for leftover in leftovers:
        log.info("removing %s, left by a build that did not finish", leftover)
        shutil.rmtree(leftover, ignore_errors=True)


def recover_if_idle(index_dir: Path) -> None:
    """:func:`recover` unless a build is running. The lock is held (non-blocking) during the repair, so
    that no build starts in its middle; a lock file that cannot be opened (read-only folder) skips it."""
    lock_path = index_dir.parent / f".{index_dir.name}.lock"
    if not lock_path.exists():
        recover(index_dir)
        return
    try:
        handle = open(lock_path)  # noqa: SIM115 (closed below)
    except OSError:
        return
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return
        try:
            recover(index_dir)
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def write_error(index_dir: Path, err: OSError) -> IndexWriteError:
    try:
        kept = (index_dir / MANIFEST).exists()
    except OSError:
        kept = False
    return IndexWriteError(index_dir, err, previous_kept=kept)


@contextlib.contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    lock_path = index_dir.parent / f".{index_dir.name}.lock"
    try:
        index_dir.parent.mkdir(parents=True, exist_ok=True)
        handle = open(lock_path, "a+")  # noqa: SIM115 (closed below, after the error is translated)
    except OSError as err:  # a read-only parent folder
        raise write_error(index_dir, err) from err
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as err:
            raise IndexBusyError(f"{index_dir}: another build is running (lock {lock_path})") from err
        try:
            for leftover in index_dir.parent.glob(f".{index_dir.name}.tmp-*"):
                shutil.rmtree(leftover, ignore_errors=True)
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# ---------------------------------------------------------------- JSON (de)serialisation


def write_jsonl(path: Path, rows: Iterator[dict[str, Any]]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False))
            f.write("\n")


def read_jsonl(path: Path, parse: Callable[..., Any]) -> Iterator[Any]:
    """Parse the lines one at a time (the file is never held whole: documents.jsonl of a million passages
    is most of a gigabyte)."""
    try:
        f = open(path, encoding="utf-8")  # noqa: SIM115 (closed below; errors on opening translated first)
    except FileNotFoundError as err:
        raise IndexCorruptError(path, "is missing") from err
    except OSError as err:
        raise IndexCorruptError(path, f"cannot be read ({err})") from err
    with f:
        try:
            for number, line in enumerate(f, 1):
                try:
                    yield parse(json.loads(line))
                except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
                    raise IndexCorruptError(path, f"line {number} is malformed ({err})") from err
        except (OSError, UnicodeDecodeError) as err:
            raise IndexCorruptError(path, f"cannot be read ({err})") from err


def load_npy(path: Path, *, mmap: bool = False) -> np.ndarray:
    """A float32 array; with ``mmap`` a read-only memory map (rows are read from disk as they are used)."""
    try:
        array: np.ndarray = np.load(path, allow_pickle=False, mmap_mode="r" if mmap else None)
    except FileNotFoundError as err:
        raise IndexCorruptError(path, "is missing") from err
    except (OSError, ValueError, EOFError) as err:
        raise IndexCorruptError(path, f"cannot be read ({err})") from err
    if mmap and array.dtype == np.float32:
        return array
    return np.ascontiguousarray(array, dtype=np.float32)


def document_to_json(doc: Document) -> dict[str, Any]:
    data = asdict(doc)
    data["aliases"] = list(doc.aliases)
    return data


def document_from_json(data: dict[str, Any]) -> Document:
    return Document(
        doc_id=data["doc_id"],
        path=data["path"],
        text=data["text"],
        title=data["title"],
        sha256=data["sha256"],
        date=data.get("date"),
        body_start=int(data.get("body_start", 0)),
        metadata=dict(data.get("metadata") or {}),
        aliases=tuple(data.get("aliases") or ()),
    )


def passage_to_json(p: Passage) -> dict[str, Any]:
    return {
        "doc_id": p.doc_id,
        "start": p.start,
        "end": p.end,
        "text": p.text,
        "heading_path": list(p.heading_path),
        "context": p.context,
        "sentences": [[s.start, s.end, s.kind] for s in p.sentences],
        "headings": [[h.start, h.end, h.text] for h in p.headings],
    }


def passage_from_json(data: dict[str, Any]) -> Passage:
    start, text = int(data["start"]), data["text"]
    if len(text) != int(data["end"]) - start:
        raise ValueError("text length does not match its offsets")
    sentences = tuple(Sentence(s, e, text[s - start : e - start], k) for s, e, k in data["sentences"])
    return Passage(
        doc_id=data["doc_id"],
        start=start,
        end=int(data["end"]),
        text=text,
        heading_path=tuple(data.get("heading_path") or ()),
        sentences=sentences,
        context=data.get("context", ""),
        headings=tuple(Sentence(int(s), int(e), str(t), "heading") for s, e, t in data.get("headings") or ()),
    )


class PassageTable(Sequence[Passage]):
    """``passages.jsonl`` read on demand: a memory map of the file and the offset of each line, so that a
    million passages cost a few megabytes until they are used. Parsed passages are cached (LRU)."""

    def __init__(self, path: Path, cache_size: int = 65536) -> None:
        self.path = path
        try:
            with open(path, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        except FileNotFoundError as err:
            raise IndexCorruptError(path, "is missing") from err
        except OSError as err:
            raise IndexCorruptError(path, f"cannot be read ({err})") from err
        self._starts = _line_starts(self._map)
        self._parse = lru_cache(maxsize=cache_size)(self._read)

    def __len__(self) -> int:
        return len(self._starts) - 1

    @overload
    def __getitem__(self, i: int) -> Passage: ...

    @overload
    def __getitem__(self, i: slice) -> list[Passage]: ...

    def __getitem__(self, i: int | slice) -> Passage | list[Passage]:
        if isinstance(i, slice):
            return [self._parse(j) for j in range(*i.indices(len(self)))]
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"passage {i} out of range (the index holds {n})")
        return self._parse(i % n)

    def __iter__(self) -> Iterator[Passage]:
        for i in range(len(self)):
            yield self._read(i)  # a full scan does not flush the cache

    def raw(self, i: int) -> bytes:
        """Line ``i`` as stored, newline included (builds copy unchanged passages byte for byte)."""
        return bytes(self._map[self._starts[i] : self._starts[i + 1]])

    def _read(self, i: int) -> Passage:
        line = self._map[self._starts[i] : self._starts[i + 1]]
        try:
            return passage_from_json(json.loads(line))
        except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError) as err:
            raise IndexCorruptError(self.path, f"line {i + 1} is malformed ({err})") from err


def _line_starts(data: Any, block: int = 1 << 26) -> np.ndarray:
    """Byte offsets of each line's start, and the end: ``n + 1`` of them for ``n`` newline-ended lines."""
    ends = [np.zeros(1, np.int64)]
    for start in range(0, len(data), block):
        chunk = np.frombuffer(data[start : start + block], dtype=np.uint8)
        ends.append(np.flatnonzero(chunk == 10).astype(np.int64) + start + 1)
    starts = np.concatenate(ends)
    if len(data) and starts[-1] != len(data):  # a last line without its newline
        starts = np.append(starts, len(data))
    return starts
