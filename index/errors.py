"""Every domain error in one place. The web layer maps them to HTTP codes, the CLI to one-line messages."""

from __future__ import annotations

from pathlib import Path


def first_line(err: BaseException) -> str:
    """An exception's first non-empty line (200 characters at most); its type when it says nothing."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return lines[0][:200] if lines else type(err).__name__


class QAError(Exception):
    """Base of all civic-qa errors: the message says what is wrong and how to fix it."""


class DocumentError(QAError):
    """A document given explicitly cannot be read (missing, not UTF-8, empty, binary, ...)."""

    def __init__(self, path: Path | str, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class NoDocumentsError(QAError):
    """The paths given hold no readable document."""


class IndexNotFoundError(QAError):
    """There is no index at the path given."""

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        super().__init__(f"{self.path}: no index here; build one with `qa index [PATH ...] --index {self.path}`")


class IndexCorruptError(QAError):
    """A file of the index folder is missing, truncated or inconsistent with the others."""

    def __init__(self, path: Path | str, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}; rebuild the index with `qa index --rebuild`")


class IndexMismatchError(QAError):
    """The index was built with other settings than the ones asked for (model, dimension, format)."""

    def __init__(self, path: Path | str, what: str, expected: object, found: object) -> None:
        self.path = str(path)
        self.what = what
        self.expected = expected
        self.found = found
        super().__init__(
            f"{self.path}: {what} mismatch: expected {expected!r}, the index has {found!r}; "
            "rebuild it with `qa index --rebuild`"
        )


class IndexWriteError(QAError, OSError):
    """The index folder cannot be written (read-only folder, disk full, ...); the previous index is kept.

    Also an :class:`OSError` (with ``errno``, ``strerror`` and ``filename``), so code that catches
    the operating system's error still catches it.
    """

    def __init__(self, path: Path | str, err: OSError, *, previous_kept: bool) -> None:
        super().__init__(err.errno, err.strerror or str(err), str(path))
        self.path = str(path)
        self.problem = err.strerror or str(err)
        self.previous_kept = previous_kept
        tail = "the previous index is unchanged" if previous_kept else "no index was written"
        self.message = f"{self.path}: {self.problem}; {tail}"

    def __str__(self) -> str:
        return self.message


class SourcesGoneError(QAError):
    """An index was asked to refresh from the documents it was built from, and some of them are gone."""

    def __init__(self, index_dir: Path | str, missing: list[str]) -> None:
        self.path = str(index_dir)
        self.missing = missing
        shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        super().__init__(
            f"{self.path} was built from {shown}, which is gone; give the documents to index: "
            f"`qa index PATH ... --index {self.path}`"
        )


class IndexBusyError(QAError):
    """Another build holds the index lock."""


class StoreUnavailableError(QAError):
    """The server that holds an index's search structures (Milvus) cannot be reached or failed a call."""

    def __init__(self, uri: str, problem: str) -> None:
        self.uri = uri
        self.problem = problem
        super().__init__(f"Milvus at {uri} cannot be used ({problem}): is it running? The index folder is unharmed")


class InvalidQueryError(QAError):
    """A question or search parameter is not acceptable (empty, too long, bad k)."""


class ReaderModelError(QAError):
    """The trained reader's files are missing, corrupt or do not fit this code."""

    def __init__(self, path: Path | str, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")
