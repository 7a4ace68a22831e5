"""Reading documents: ``.txt``, ``.md``, ``.html``, ``.pdf`` and ``.docx`` files from folders or explicit paths.

The text of a .txt or .md :class:`Document` is the file's original text, decoded as UTF-8 and
otherwise untouched (CRLF, BOM and front matter included), so that every offset points into the
file. The text of the other formats is what :mod:`index.formats` extracts, and offsets point into
that (it is stored in the index). Front matter becomes ``metadata``, a leading `` date YYYY-MM-DD``
becomes ``date``; ``body_start`` marks where the text that gets chunked begins.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import stat
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import yaml
from tqdm import tqdm

from index.errors import DocumentError, NoDocumentsError
from index.formats import EXTRACTORS, SUFFIXES, TEXT_SUFFIXES, Extracted, check_chars
from index.limits import ReadLimits, mb
from index.sandbox import ExtractionWorker
from index.titles import document_title, opening_date
from index.types import Document

log = logging.getLogger(__name__)

DEFAULT_MAX_FILE_BYTES = ReadLimits().max_file_bytes


class ReadMemory:
    """What reading each file's contents gave (its text, or why it was skipped), kept between reads of the
    same folders: a file read again with the same bytes is not parsed again, so a watched folder's refresh
    parses only what changed, and a file skipped for a limit is not tried again until it changes. Only the
    files of the latest read are kept."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str, ReadLimits], Extracted | DocumentError] = {}
        self._seen: set[tuple[str, str, ReadLimits]] = set()

    def get(self, key: tuple[str, str, ReadLimits]) -> Extracted | DocumentError | None:
        with self._lock:
            self._seen.add(key)
            return self._entries.get(key)

    def put(self, key: tuple[str, str, ReadLimits], value: Extracted | DocumentError) -> None:
        with self._lock:
            self._seen.add(key)
            self._entries[key] = value

    def forget_unseen(self) -> None:
        """Drop what the read that just ended did not meet (deleted or changed files)."""
        with self._lock:
            self._entries = {k: v for k, v in self._entries.items() if k in self._seen}
            self._seen = set()

    def __len__(self) -> int:
        return len(self._entries)


_FRONT_MATTER = re.compile(r"\A(\ufeff?)---[ \t]*\r?\n(.*?)(?:\r?\n)?(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_DATE_LINE = re.compile(r"[ \t]*date[ \t]+(\d{4}-\d{2}-\d{2})\b[ \t]*\r?\n?")


def read_documents(
    paths: Sequence[Path | str],
    *,
    limits: ReadLimits | None = None,
    skipped: list[DocumentError] | None = None,
    progress: bool = False,
    memory: ReadMemory | None = None,
) -> list[Document]:
    """Read every document under ``paths`` (folders are walked, files read as given).

    Byte-identical files are read once: the first one found keeps the content and the others
    become its ``aliases``. A bad file found in a folder is skipped, and all skipped files are named
    with their reasons in one warning; a bad file given explicitly raises :class:`DocumentError`.
    Bad means: a name that is not valid UTF-8, an unsupported type, not UTF-8 (text formats),
    unreadable as its format, empty, binary, over one of ``limits`` (the file's size is checked with
    ``stat`` before anything is read; PDF, HTML and Word files are parsed in a worker process limited in
    memory and CPU time, :mod:`index.sandbox`), not a regular file, a dangling symbolic link, or (in a
    folder) a symbolic link to a file outside that folder. Names are checked before anything is read.
    The files skipped are also appended to ``skipped`` when it is given; ``progress`` shows a bar of the
    files read; ``memory`` keeps what each file's contents gave between reads (see :class:`ReadMemory`).
    """
    limits = limits or ReadLimits()
    skipped = [] if skipped is None else skipped
    listed: list[tuple[str, Path, Path | None]] = []  # (id, file, the folder it was found in)
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            _check_name(path)
            root = path.resolve()
            listed += [(doc_id, file, root) for doc_id, file in _walk(path, skipped)]
        elif path.exists() or path.is_symlink():
            _check_name(path)
            listed.append((path.name, path, None))
        else:
            raise DocumentError(_shown(path), "no such file or folder")

    found: list[tuple[str, Path, bytes, str, Extracted | None]] = []
    with ExtractionWorker(limits) as worker:
        for doc_id, file, root in tqdm(listed, desc="reading", unit="file", disable=not progress, leave=False):
            try:
                if root is not None:
                    _check_link(file, root)
                data = _read_bytes(file, limits)
                digest = hashlib.sha256(data).hexdigest()
                found.append((doc_id, file, data, digest, _extract(file, data, digest, worker, memory)))
            except DocumentError as err:
                if root is None:  # given explicitly: the caller asked for this very file
                    raise
                skipped.append(err)
    if memory is not None:
        memory.forget_unseen()
    if skipped:
        named = "; ".join(map(str, skipped))
        log.warning("skipped %d file%s: %s", len(skipped), "" if len(skipped) == 1 else "s", named)

    documents: dict[str, Document] = {}
    by_hash: dict[str, str] = {}
    aliases: dict[str, list[str]] = {}
    taken: set[str] = set()
    for doc_id, file, data, digest, extracted in found:
        doc_id = _unique_id(doc_id, file, taken)
        taken.add(doc_id)
        if digest in by_hash:
            aliases[by_hash[digest]].append(doc_id)
            log.info("%s is byte-identical to %s: indexed once, kept as an alias", file, by_hash[digest])
            continue
        by_hash[digest] = doc_id
        aliases[doc_id] = []
        if extracted is None:
            documents[doc_id] = parse_document(doc_id, file, data.decode("utf-8"), digest)
        else:
            documents[doc_id] = parse_document(
                doc_id, file, extracted.text, digest, title=extracted.title, source_format=extracted.format
            )
    if not documents:
        raise NoDocumentsError(
            "no readable document in " + ", ".join(str(_shown(Path(p))) for p in paths) + "; give folders or "
            f"files of these types: {', '.join(SUFFIXES)}"
        )
    return [_with_aliases(doc, tuple(aliases[doc.doc_id])) for doc in documents.values()]


def _extract(
    file: Path, data: bytes, digest: str, worker: ExtractionWorker, memory: ReadMemory | None
) -> Extracted | None:
    """The text the worker extracts from ``file`` (None for text formats), or what ``memory`` kept of the
    same contents read before."""
    suffix = file.suffix.lower()
    if suffix not in EXTRACTORS:
        return None
    key = (suffix, digest, worker.limits)
    known = memory.get(key) if memory is not None else None
    if isinstance(known, DocumentError):
        raise DocumentError(file, known.problem)
    if known is not None:
        return known
    try:
        extracted = worker.extract(file, data)
    except DocumentError as err:
        if memory is not None:
            memory.put(key, err)
        raise
    if memory is not None and extracted is not None:
        memory.put(key, extracted)
    return extracted


def _shown(path: Path) -> str:
    """A path as it can be printed and stored: bytes that are not UTF-8 are shown as ``\\xff``."""
    return str(path).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _check_name(path: Path) -> None:
    """A name must be valid UTF-8: it becomes a document id, stored as JSON and shown on pages."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError as err:
        raise DocumentError(_shown(path), "its name is not valid UTF-8; rename it") from err


def _with_aliases(doc: Document, names: tuple[str, ...]) -> Document:
    if not names:
        return doc
    return Document(
        doc_id=doc.doc_id,
        path=doc.path,
        text=doc.text,
        title=doc.title,
        sha256=doc.sha256,
        date=doc.date,
        body_start=doc.body_start,
        metadata=doc.metadata,
        aliases=names,
    )


def _unique_id(doc_id: str, file: Path, taken: set[str]) -> str:
    """Ids are paths relative to the folder given; a clash between folders gets the folder's name."""
    if doc_id not in taken:
        return doc_id
    for parent in file.parents:
        candidate = f"{parent.name}/{doc_id}" if parent.name else doc_id
        if candidate not in taken:
            return candidate
        doc_id = candidate
    raise DocumentError(file, f"document id {doc_id!r} is taken twice; rename one of the files")


def _walk(root: Path, skipped: list[DocumentError]) -> Iterator[tuple[str, Path]]:
    """Yield (id, path) for the documents under ``root``, sorted, skipping hidden entries.

    Files of an unsupported type or with a name that is not UTF-8 go to ``skipped`` with the reason.
    Symbolic links to folders are not followed (no loops); links to files are read.
    """

    def unreadable(err: OSError) -> None:
        skipped.append(DocumentError(_shown(Path(err.filename or root)), f"cannot be read ({err.strerror or err})"))

    for folder, dirs, files in os.walk(root, followlinks=False, onerror=unreadable):
        kept = []
        for d in sorted(dirs):
            if d.startswith("."):
                continue
            try:
                _check_name(Path(folder) / d)
            except DocumentError as err:
                skipped.append(DocumentError(err.path, "is a folder whose name is not valid UTF-8; rename it"))
                continue
            kept.append(d)
        dirs[:] = kept
        for name in sorted(files):
            if name.startswith("."):
                continue
            file = Path(folder) / name
            try:
                _check_name(file)
            except DocumentError as err:
                skipped.append(err)
                continue
            if not name.lower().endswith(SUFFIXES):
                skipped.append(DocumentError(file, _unsupported(file, hint=False)))
                continue
            yield file.relative_to(root).as_posix(), file


def _unsupported(path: Path, *, hint: bool = True) -> str:
    problem = f"unsupported type {path.suffix or '(none)'!r}"
    return f"{problem}; give {', '.join(SUFFIXES)} files" if hint else problem


def _check_link(file: Path, root: Path) -> None:
    """A symbolic link found in a folder is read only when it points inside that folder."""
    if not file.is_symlink():
        return
    try:
        target = file.resolve(strict=True)
    except (OSError, RuntimeError) as err:  # dangling, or a loop of links
        problem = "is a dangling symbolic link" if isinstance(err, FileNotFoundError) else "is a loop of symbolic links"
        raise DocumentError(file, problem) from err
    if not target.is_relative_to(root):
        raise DocumentError(file, f"links to {target}, outside {root}; give that file explicitly to index it")


def _read_bytes(path: Path, limits: ReadLimits) -> bytes:
    if path.is_dir():
        raise DocumentError(path, "is a folder where a file was expected")
    if path.suffix.lower() not in SUFFIXES:
        raise DocumentError(path, _unsupported(path))
    try:
        info = path.stat()  # follows links; nothing is read before the size is known
    except FileNotFoundError as err:
        raise DocumentError(path, "is a dangling symbolic link" if path.is_symlink() else "no such file") from err
    except OSError as err:
        raise DocumentError(path, f"cannot be read ({err.strerror or err})") from err
    if not stat.S_ISREG(info.st_mode):
        raise DocumentError(path, "is not a regular file (a device, pipe or socket)")
    max_file_bytes = limits.max_file_bytes
    if info.st_size > max_file_bytes:
        size, limit = mb(info.st_size), mb(max_file_bytes)
        raise DocumentError(path, f"is {size}, over the {limit} limit (QA_MAX_FILE_MB); split it or raise the limit")
    try:
        with path.open("rb") as f:
            data = f.read(max_file_bytes + 1)  # bounded even if the file grows after the stat
    except OSError as err:
        raise DocumentError(path, f"cannot be read ({err.strerror or err})") from err
    if len(data) > max_file_bytes:
        raise DocumentError(path, f"grew over the {mb(max_file_bytes)} limit (QA_MAX_FILE_MB) while being read")
    if not data.strip():
        raise DocumentError(path, "is empty")
    if path.suffix.lower() not in TEXT_SUFFIXES:
        return data  # its format's reader checks the rest
    if b"\x00" in data[:8192]:
        raise DocumentError(path, "looks binary (holds NUL bytes), not a text document")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise DocumentError(path, f"is not UTF-8 (bad byte at offset {err.start}); convert it to UTF-8") from err
    if not text.strip().strip("\ufeff"):
        raise DocumentError(path, "is empty")
    check_chars(path, len(text), limits)
    return data


def parse_document(
    doc_id: str,
    path: Path | str,
    text: str,
    sha256: str | None = None,
    *,
    title: str | None = None,
    source_format: str | None = None,
) -> Document:
    """Make a :class:`Document` from its text: metadata, date, title, where the body starts.

    ``title`` is the one its format declares (an HTML ``<title>``, a PDF's or DOCX's properties);
    ``source_format`` is kept in ``metadata["format"]`` for a text extracted from another format,
    whose text has no front matter.
    """
    metadata: dict[str, Any] = {}
    body_start = 1 if text.startswith("\ufeff") else 0
    match = None if source_format else _FRONT_MATTER.match(text)
    if source_format:
        metadata = {"format": source_format} | ({"title": title} if title else {})
    if match:
        body_start = match.end()
        metadata = _load_front_matter(match.group(2), path)
    date_match = _DATE_LINE.match(text, body_start)
    date: str | None = None
    if date_match:
        date = date_match.group(1)
        body_start = date_match.end()
    if date is None and metadata.get("date") is not None:
        date = str(metadata["date"])[:10]
    if date is None:
        date = opening_date(text, body_start)
    title, context_title = document_title(metadata, text, body_start, Path(path), line_first=source_format is not None)
    if context_title is not None:
        metadata = {**metadata, "context_title": context_title}
    return Document(
        doc_id=doc_id,
        path=str(path),
        text=text,
        title=title,
        sha256=sha256 or hashlib.sha256(text.encode("utf-8")).hexdigest(),
        date=date,
        body_start=body_start,
        metadata=metadata,
    )


def _load_front_matter(block: str, path: Path | str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(block)
    except yaml.YAMLError as err:
        log.warning("%s: front matter is not valid YAML (%s); ignored", path, str(err).splitlines()[0])
        return {}
    if not isinstance(data, dict):
        return {}
    # JSON-safe (dates and other YAML types become strings) so that the index sidecar can hold it.
    safe: dict[str, Any] = json.loads(json.dumps({str(k): v for k, v in data.items()}, default=str))
    return safe
