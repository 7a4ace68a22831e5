"""Whether an index can be served as it stands: the policy ``qa serve`` follows before it starts.

A missing index, or one built with other settings or another format version, is (re)built from its
sources; a damaged one is neither served nor built over (the user looks at it and rebuilds); when the
sources it records are gone, it is served as it is, not refreshed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from index.build import status
from index.chunking import ChunkSettings
from index.dense import StoreSpec
from index.errors import IndexCorruptError, IndexMismatchError, IndexNotFoundError, QAError, SourcesGoneError
from index.limits import ReadLimits
from index.reader import ReadMemory
from index.sources import sources_for
from index.store import Index


@dataclass(frozen=True, slots=True)
class Readiness:
    """``state``: ``fresh`` (serve ``loaded``), ``missing`` or ``stale`` (build from ``sources`` first), or
    ``sources-gone`` (serve ``loaded`` as it is; ``warning`` says why it is not refreshed)."""

    state: str
    loaded: Index | None
    sources: list[Path] = field(default_factory=list)
    warning: str | None = None


def damaged(index_dir: Path, paths: Sequence[Path]) -> tuple[str | None, Index | None]:
    """The problem of an existing index with a damaged file (else ``None``), and the index when it loaded."""
    try:
        return None, Index.load(index_dir)
    except (IndexNotFoundError, IndexMismatchError):
        return None, None
    except IndexCorruptError as err:
        rebuild = " ".join(["qa index", *map(str, paths), "--index", str(index_dir), "--rebuild"])
        return f"{err.path}: {err.problem}; not serving it nor building over it: rebuild it with `{rebuild}`", None


def readiness(
    paths: Sequence[Path],
    index_dir: Path,
    *,
    default: Sequence[Path],
    model_name: str,
    chunking: ChunkSettings,
    store: StoreSpec,
    limits: ReadLimits | None = None,
    memory: ReadMemory | None = None,
) -> Readiness:
    """What ``index_dir`` needs before it is served from ``paths`` (else its recorded sources, else
    ``default``). A damaged index raises :class:`QAError` naming the file and the command that rebuilds it."""
    broken, loaded = damaged(index_dir, paths)
    if broken:
        raise QAError(broken)
    try:
        sources = sources_for(paths, index_dir, default)
    except SourcesGoneError as err:
        if loaded is None:
            raise
        return Readiness("sources-gone", loaded, [], f"{err}; serving the index as it is, not refreshed")
    state = status(
        sources, index_dir, model_name=model_name, chunking=chunking, store=store, limits=limits, memory=memory
    )
    return Readiness(state, loaded if state == "fresh" else None, sources)
