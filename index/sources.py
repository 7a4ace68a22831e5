"""Which documents an index is built from: the paths given, else the ones it was built from, else the default.

An index records its sources (absolute paths) in its manifest, so ``qa serve --index my-index`` and
``qa index --index my-index`` refresh it from its own documents; the default corpus (the seeds) is
only used for an index that does not exist yet. A refresh never proceeds when a recorded source is
gone: that would drop its documents from the index.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

from index.errors import SourcesGoneError

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"


def recorded_sources(index_dir: Path | str) -> list[Path] | None:
    """The sources the manifest of ``index_dir`` records, or ``None`` when there is no readable record.

    Lenient on purpose: an index of an older format version still says where its documents are.
    """
    try:
        manifest = json.loads((Path(index_dir) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    sources = manifest.get("sources") if isinstance(manifest, dict) else None
    if not isinstance(sources, list) or not sources or not all(isinstance(s, str) and s for s in sources):
        return None
    return [Path(s) for s in sources]


def sources_for(paths: Sequence[Path], index_dir: Path | str, default: Sequence[Path]) -> list[Path]:
    """What to build ``index_dir`` from: ``paths`` when given, else its recorded sources, else ``default``.

    Raises :class:`SourcesGoneError` when the index records sources and any of them is gone.
    """
    if paths:
        return list(paths)
    recorded = recorded_sources(index_dir)
    if recorded is None:
        return list(default)
    missing = [str(p) for p in recorded if not (p.exists() or p.is_symlink())]
    if missing:
        raise SourcesGoneError(index_dir, missing)
    log.info("%s: refreshing from its recorded sources %s", index_dir, ", ".join(map(str, recorded)))
    return recorded
