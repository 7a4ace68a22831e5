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
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from index.lexical import LexicalIndex
from qa.errors import IndexBusyError, IndexCorruptError, IndexWriteError
from qa.types import Document, Passage, Sentence

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
DOCUMENTS = "documents.jsonl"
PASSAGES = "passages.jsonl"
EMBEDDINGS = "embeddings.npy"
DENSE = "dense.faiss"
BM25_DIR = "bm25"


# ---------------------------------------------------------------- writing, atomically


def write_folder(
    index_dir: Path,
    manifest: dict[str, Any],
    documents: Sequence[Document],
    passages: Sequence[Passage],
    embeddings: np.ndarray,
    texts: Sequence[str],
) -> None:
    parent = index_dir.parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = parent / f".{index_dir.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        write_jsonl(tmp / DOCUMENTS, (document_to_json(d) for d in documents))
        write_jsonl(tmp / PASSAGES, (passage_to_json(p) for p in passages))
        with open(tmp / EMBEDDINGS, "wb") as f:
            np.save(f, embeddings, allow_pickle=False)
        dense = faiss.IndexFlatIP(embeddings.shape[1])
        if len(embeddings):
            dense.add(embeddings)
        faiss.write_index(dense, str(tmp / DENSE))
        lexical = LexicalIndex.fit(texts)
        (tmp / BM25_DIR).mkdir()
        if lexical.size:
            lexical.save(tmp / BM25_DIR)
        # The manifest goes last: a folder without one is never taken for an index.
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
        _fsync_tree(tmp)
        _swap(tmp, index_dir)
    except BaseException as err:
        full = isinstance(err, OSError) and _disk_full(err, parent)  # before the copy's space is given back
        shutil.rmtree(tmp, ignore_errors=True)
        if full and err.errno != errno.ENOSPC:  # type: ignore[union-attr]
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)) from err
        raise


def _disk_full(err: OSError, folder: Path) -> bool:
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


def _swap(new: Path, target: Path) -> None:
    """Put ``new`` in place of ``target``; the old one is moved aside first and removed after."""
    if not target.exists():
        os.rename(new, target)
        return
    old = target.parent / f".{target.name}.old-{os.getpid()}"
    shutil.rmtree(old, ignore_errors=True)
    os.rename(target, old)
    os.rename(new, target)
    _fsync_dir(target.parent)
    shutil.rmtree(old, ignore_errors=True)


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


def _fsync_tree(folder: Path) -> None:
    for file in folder.rglob("*"):
        if file.is_file():
            with open(file, "rb") as f:
                os.fsync(f.fileno())
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


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
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.readlines()
    except FileNotFoundError as err:
        raise IndexCorruptError(path, "is missing") from err
    except (OSError, UnicodeDecodeError) as err:
        raise IndexCorruptError(path, f"cannot be read ({err})") from err
    for number, line in enumerate(lines, 1):
        try:
            yield parse(json.loads(line))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
            raise IndexCorruptError(path, f"line {number} is malformed ({err})") from err


def load_npy(path: Path) -> np.ndarray:
    try:
        array = np.load(path, allow_pickle=False)
    except FileNotFoundError as err:
        raise IndexCorruptError(path, "is missing") from err
    except (OSError, ValueError, EOFError) as err:
        raise IndexCorruptError(path, f"cannot be read ({err})") from err
    return np.ascontiguousarray(array, dtype=np.float32)


def load_faiss(path: Path) -> Any:
    if not path.exists():
        raise IndexCorruptError(path, "is missing")
    try:
        return faiss.read_index(str(path))
    except RuntimeError as err:
        raise IndexCorruptError(path, f"cannot be read by FAISS ({str(err).splitlines()[0][:200]})") from err


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
    )
