"""``qa serve --watch``: keep the served index fresh as the documents' folders change.

A background thread waits for file changes under the index's sources (``watchfiles``: inotify and
its equivalents, debounced), then runs an incremental build (only added or changed documents are
read into passages and embedded; an unchanged corpus costs one pass of hashing) and swaps the new
index in exactly as ``POST /admin/reload`` does: requests in flight finish on the old index, none
fails. A build that fails leaves the old index serving; the error shows in ``/healthz``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import watchfiles

from index.build import BuildReport
from index.errors import QAError

log = logging.getLogger(__name__)


class Watcher:
    """Watch ``sources``; on a change call ``build`` and, when it changed the index, ``reload``."""

    def __init__(
        self,
        sources: Sequence[Path],
        index_dir: Path,
        build: Callable[[], BuildReport],
        reload: Callable[[], object],
        *,
        debounce_ms: int = 500,
    ) -> None:
        self.sources = [Path(s).resolve() for s in sources]
        self.index_dir = Path(index_dir).resolve()
        self._build = build
        self._reload = reload
        self.debounce_ms = debounce_ms
        self.last_error: str | None = None
        self.refreshed_at: float | None = None
        self.refreshes = 0
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="civic-qa-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(timeout=10)  # watching before the first request is served

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _ignored(self, change: watchfiles.Change, path: str) -> bool:
        """Hidden files and folders (editors' swap files, .git) and the index's own files are not documents."""
        p = Path(path)
        if p == self.index_dir or self.index_dir in p.parents:
            return True
        for source in self.sources:
            if p.is_relative_to(source):
                return any(part.startswith(".") for part in p.relative_to(source).parts)
        return False

    def _run(self) -> None:
        watched = [s for s in self.sources if s.exists()]
        if not watched:
            self.last_error = "none of the sources exists: " + ", ".join(map(str, self.sources))
            log.warning("not watching: %s", self.last_error)
            self._ready.set()
            return
        log.info("watching %s for changes", ", ".join(map(str, watched)))
        changes = watchfiles.watch(
            *watched,
            watch_filter=lambda change, path: not self._ignored(change, path),
            debounce=self.debounce_ms,
            step=50,
            stop_event=self._stop,
            yield_on_timeout=True,
            rust_timeout=200,
            raise_interrupt=False,
        )
        for batch in changes:
            self._ready.set()  # the first (empty) batch comes once the watch is in place
            if batch and not self._stop.is_set():
                self.refresh(len(batch))

    def refresh(self, changed: int = 0) -> BuildReport | None:
        """Build incrementally and, if the index changed, serve the new one; never raises."""
        started = time.perf_counter()
        try:
            report = self._build()
            if not report.up_to_date:
                self._reload()
        except (QAError, OSError) as err:
            self.last_error = str(err)
            log.warning("the documents changed but the index could not be refreshed: %s", err)
            return None
        except Exception as err:  # a bug must not end the watch: the old index keeps serving, /healthz says why
            self.last_error = f"{type(err).__name__}: {err}"
            log.exception("the index could not be refreshed")
            return None
        self.last_error = None
        if not report.up_to_date:
            self.refreshes += 1
            self.refreshed_at = time.time()
            log.info(
                "re-indexed after %d file change(s): %s; serving the new index %.2f s after the change",
                changed,
                describe_changes(report),
                time.perf_counter() - started + self.debounce_ms / 1000,
            )
        return report


def describe_changes(report: BuildReport, shown: int = 3) -> str:
    """ "added a.md, b.pdf; removed c.md" (at most ``shown`` names of each kind), or "nothing to read"."""
    parts = []
    for kind, names in (("added", report.added), ("changed", report.changed), ("removed", report.removed)):
        if names:
            more = f" and {len(names) - shown} more" if len(names) > shown else ""
            parts.append(f"{kind} {', '.join(names[:shown])}{more}")
    return "; ".join(parts) or "no document changed (files skipped or their list changed)"
