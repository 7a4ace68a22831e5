"""Admin endpoints, off unless ``admin_key`` is set: ``POST /admin/reload`` loads the index folder again.

A reload builds a new :class:`~qa.retriever.Retriever` beside the one serving and swaps the app's
reference in one assignment: a request reads that reference once (:func:`web.deps.app_state`), so it
is answered wholly from the old index or wholly from the new one, and none waits. An index that
cannot be loaded leaves the old one serving and answers 503 with the reason.
"""

from __future__ import annotations

import hmac
import logging
import math
import threading
import time
from collections import deque
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Request

from index.store import Index
from qa.retriever import Retriever
from qa.settings import Settings
from web.deps import Served, examples_for

log = logging.getLogger(__name__)


class WrongKeyGuard:
    """Wrong admin keys are counted per client address and in all: past ``per_client`` (or ``overall``)
    wrong keys within ``window_s`` seconds, every admin request of that client (or of anyone) gets 429
    until the window has passed, right key or not, so that a key cannot be guessed at request speed."""

    def __init__(self, per_client: int = 5, overall: int = 20, window_s: float = 60.0) -> None:
        self.per_client, self.overall, self.window_s = per_client, overall, window_s
        self._lock = threading.Lock()
        self._by_client: dict[str, deque[float]] = {}
        self._all: deque[float] = deque()

    def _recent(self, times: deque[float], now: float) -> deque[float]:
        while times and times[0] <= now - self.window_s:
            times.popleft()
        return times

    def wait_s(self, client: str) -> float:
        """Seconds ``client`` must wait before its next try (0 when it may try now)."""
        now = time.monotonic()
        with self._lock:
            mine = self._recent(self._by_client.get(client, deque()), now)
            everyone = self._recent(self._all, now)
            waits = [
                times[0] + self.window_s - now
                for times, limit in ((mine, self.per_client), (everyone, self.overall))
                if len(times) >= limit
            ]
            return max(waits, default=0.0)

    def failed(self, client: str) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._by_client) > 10_000:  # bounded memory: forget clients with nothing recent
                self._by_client = {c: t for c, t in self._by_client.items() if self._recent(t, now)}
            self._by_client.setdefault(client, deque()).append(now)
            self._all.append(now)


def check_key(configured: str | None, given: str | None, guard: WrongKeyGuard | None = None, client: str = "") -> None:
    """404 when admin is off (no key configured), 429 after too many wrong keys, 403 unless ``given`` is the key."""
    if not configured:
        raise HTTPException(404, "Not Found")
    if guard is not None:
        wait = guard.wait_s(client)
        if wait > 0:
            seconds = math.ceil(wait)
            raise HTTPException(
                429, f"Too many wrong admin keys; try again in {seconds} s.", headers={"Retry-After": str(seconds)}
            )
    if given is None or not hmac.compare_digest(given.encode("utf-8"), configured.encode("utf-8")):
        if guard is not None:
            guard.failed(client)
        raise HTTPException(403, "A valid X-Admin-Key header is required.")


def reload_index(served: Served, settings: Settings) -> Index:
    """Load ``settings.index_dir`` again and serve it; on a typed error the old index keeps serving."""
    with served.reload_lock:
        old = served.retriever
        index = Index.load(settings.index_dir, model_name=old.embedder.name)
        retriever = Retriever(index, old.embedder, old.fusion)
        examples = examples_for(settings, retriever)
        served.retriever = retriever  # the one assignment readers see (the examples follow it at once)
        served.examples = examples
    log.info("reloaded the index at %s: %d documents", settings.index_dir, len(index.documents))
    return index


def router(settings: Settings) -> APIRouter:
    admin = APIRouter(prefix="/admin", include_in_schema=False)
    guard = WrongKeyGuard()

    @admin.post("/reload")
    def reload(
        request: Request, x_admin_key: Annotated[str | None, Header(alias="X-Admin-Key")] = None
    ) -> dict[str, Any]:
        check_key(settings.admin_key, x_admin_key, guard, request.client.host if request.client else "")
        index = reload_index(request.app.state.qa, settings)
        return {
            "status": "reloaded",
            "documents": len(index.documents),
            "passages": len(index.passages),
            "built_at": str(index.manifest.get("built_at", "")),
        }

    return admin
