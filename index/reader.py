"""Reading documents: ``.txt`` and ``.md`` files from folders or explicit paths.

The text of a :class:`Document` is the file's original text, decoded as UTF-8 and otherwise
untouched (CRLF, BOM and front matter included), so that every offset points into the file.
Front matter becomes ``metadata``, a leading `` date YYYY-MM-DD`` becomes ``date``; ``body_start``
marks where the text that gets chunked begins.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import yaml

from qa.errors import DocumentError, NoDocumentsError
from qa.types import Document

log = logging.getLogger(__name__)

SUFFIXES = (".txt", ".md")
MB = 1024 * 1024
DEFAULT_MAX_FILE_BYTES = 10 * MB

_FRONT_MATTER = re.compile(r"\A(\ufeff?)---[ \t]*\r?\n(.*?)(?:\r?\n)?(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_DATE_LINE = re.compile(r"[ \t]*date[ \t]+(\d{4}-\d{2}-\d{2})\b[ \t]*\r?\n?")
_ATX_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.+?)[ \t#]*$", re.MULTILINE)


def read_documents(paths: Sequence[Path | str], *, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES) -> list[Document]:
    """Read every document under ``paths`` (folders are walked, files read as given).

    Byte-identical files are read once: the first one found keeps the content and the others
    become its ``aliases``. A bad file found in a folder is skipped with a warning naming it; a bad
    file given explicitly raises :class:`DocumentError`. Bad means: not UTF-8, empty, binary, over
    ``max_file_bytes`` (checked with ``stat`` before anything is read), unreadable, not a regular
    file, a dangling symbolic link, or (in a folder) a symbolic link to a file outside that folder.
    """
    found: list[tuple[str, Path, bytes]] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            root = path.resolve()
            for doc_id, file in _walk(path):
                try:
                    _check_link(file, root)
                    data = _read_bytes(file, max_file_bytes)
                except DocumentError as err:
                    log.warning("skipping %s", err)
                    continue
                found.append((doc_id, file, data))
        elif path.exists() or path.is_symlink():
            found.append((path.name, path, _read_bytes(path, max_file_bytes)))
        else:
            raise DocumentError(path, "no such file or folder")

    documents: dict[str, Document] = {}
    by_hash: dict[str, str] = {}
    aliases: dict[str, list[str]] = {}
    taken: set[str] = set()
    for doc_id, file, data in found:
        digest = hashlib.sha256(data).hexdigest()
        doc_id = _unique_id(doc_id, file, taken)
        taken.add(doc_id)
        if digest in by_hash:
            aliases[by_hash[digest]].append(doc_id)
            log.info("%s is byte-identical to %s: indexed once, kept as an alias", file, by_hash[digest])
            continue
        by_hash[digest] = doc_id
        aliases[doc_id] = []
        documents[doc_id] = parse_document(doc_id, file, data.decode("utf-8"), digest)
    if not documents:
        raise NoDocumentsError(
            "no readable .txt or .md document in " + ", ".join(str(p) for p in paths) + "; "
            "give folders or files that hold UTF-8 text"
        )
    return [_with_aliases(doc, tuple(aliases[doc.doc_id])) for doc in documents.values()]


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


def _walk(root: Path) -> Iterator[tuple[str, Path]]:
    """Yield (id, path) for the documents under ``root``, sorted, skipping hidden entries.

    Symbolic links to folders are not followed (no loops); links to files are read.
    """
    for folder, dirs, files in os.walk(root, followlinks=False, onerror=lambda e: log.warning("skipping %s", e)):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith(".") or not name.lower().endswith(SUFFIXES):
                continue
            file = Path(folder) / name
            yield file.relative_to(root).as_posix(), file


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


def _read_bytes(path: Path, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES) -> bytes:
    if path.is_dir():
        raise DocumentError(path, "is a folder where a file was expected")
    if path.suffix.lower() not in SUFFIXES:
        raise DocumentError(path, f"unsupported file type {path.suffix or '(none)'!r}; give .txt or .md files")
    try:
        info = path.stat()  # follows links; nothing is read before the size is known
    except FileNotFoundError as err:
        raise DocumentError(path, "is a dangling symbolic link" if path.is_symlink() else "no such file") from err
    except OSError as err:
        raise DocumentError(path, f"cannot be read ({err.strerror or err})") from err
    if not stat.S_ISREG(info.st_mode):
        raise DocumentError(path, "is not a regular file (a device, pipe or socket)")
    if info.st_size > max_file_bytes:
        size, limit = _mb(info.st_size), _mb(max_file_bytes)
        raise DocumentError(path, f"is {size}, over the {limit} limit (QA_MAX_FILE_MB); split it or raise the limit")
    try:
        with path.open("rb") as f:
            data = f.read(max_file_bytes + 1)  # bounded even if the file grows after the stat
    except OSError as err:
        raise DocumentError(path, f"cannot be read ({err.strerror or err})") from err
    if len(data) > max_file_bytes:
        raise DocumentError(path, f"grew over the {_mb(max_file_bytes)} limit (QA_MAX_FILE_MB) while being read")
    if b"\x00" in data[:8192]:
        raise DocumentError(path, "looks binary (holds NUL bytes), not a text document")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise DocumentError(path, f"is not UTF-8 (bad byte at offset {err.start}); convert it to UTF-8") from err
    if not text.strip().strip("\ufeff"):
        raise DocumentError(path, "is empty")
    return data


def _mb(size: int) -> str:
    return f"{size / MB:.1f} MB" if size % MB else f"{size // MB} MB"


def parse_document(doc_id: str, path: Path | str, text: str, sha256: str | None = None) -> Document:
    """Make a :class:`Document` from original text: metadata, date, title, where the body starts."""
    metadata: dict[str, Any] = {}
    body_start = 1 if text.startswith("\ufeff") else 0
    match = _FRONT_MATTER.match(text)
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
    title = _title(metadata, text, body_start, Path(path))
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
    return json.loads(json.dumps({str(k): v for k, v in data.items()}, default=str))


def _title(metadata: dict[str, Any], text: str, body_start: int, path: Path) -> str:
    title = metadata.get("title")
    if isinstance(title, str) and title.strip():
        return title.strip()
    heading = _ATX_HEADING.search(text, body_start)
    if heading:
        return _clean_heading(heading.group(1))
    first = first_title_line(text, body_start)
    if first is not None:
        return text[first[0] : first[1]].strip()
    return path.stem


def _clean_heading(raw: str) -> str:
    return re.sub(r"[*_`]+", "", raw).strip()


def first_title_line(text: str, body_start: int) -> tuple[int, int] | None:
    """The first line of a plain-text body when it stands alone like a title, else ``None``.

    A title line is short, does not end like a sentence and is followed by a blank line.
    """
    lines = iter_lines(text, body_start)
    for start, end in lines:
        line = text[start:end]
        if not line.strip():
            continue
        nxt = next(lines, None)
        followed_by_blank = nxt is None or not text[nxt[0] : nxt[1]].strip()
        if followed_by_blank and looks_like_title(line):
            lead = len(line) - len(line.lstrip())
            return start + lead, start + len(line.rstrip())
        return None
    return None


def looks_like_title(line: str) -> bool:
    stripped = line.strip()
    if not stripped or len(stripped) > 120 or len(stripped.split()) > 16:
        return False
    return stripped[-1] not in ".!?;,…۔\"”'’"


def iter_lines(text: str, start: int = 0) -> Iterator[tuple[int, int]]:
    """Yield (start, end) of each line from ``start``, the end excluding the line break."""
    pos = start
    n = len(text)
    while pos < n:
        nl = text.find("\n", pos)
        if nl == -1:
            yield pos, n
            return
        end = nl - 1 if nl > pos and text[nl - 1] == "\r" else nl
        yield pos, end
        pos = nl + 1
