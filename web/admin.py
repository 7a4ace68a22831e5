"""Admin endpoints, off unless ``admin_key`` is set: ``POST /admin/reload`` loads the index folder again.

A reload builds a new :class:`~qa.wiring.Assistant` beside the one serving and swaps the app's
reference in one assignment: a request reads that reference once (:func:`web.deps.app_state`), so it
is answered wholly from the old index or wholly from the new one, and none waits. An index that
cannot be loaded leaves the old one serving and answers 503 with the reason.

Wrong keys are limited per address only: past 5 within a minute, that address waits out the minute (429),
whatever key it sends. There is no limit in all, on purpose: a cap shared by everyone (it was 20 wrong keys a
minute) let any client, by mistake or to annoy, lock the key holder out from everywhere. Per-address limits
alone let a guesser with many addresses try more often (5 a minute per address, per /64 for IPv6), so the
key itself must make guessing hopeless: the settings refuse a ``QA_ADMIN_KEY`` under 32 characters, and a
random one of that length (``secrets.token_urlsafe(32)``: 256 bits) cannot be found at any request rate.
"""

from __future__ import annotations

import hmac
import logging
import math
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Request

from index.store import Index
from qa.settings import Settings
from web.deps import Served, examples_for
from web.limits import RateGuard

log = logging.getLogger(__name__)


def check_key(configured: str | None, given: str | None, guard: RateGuard | None = None, client: str = "") -> None:
    """404 when admin is off (no key configured), 429 after too many wrong keys from ``client``, 403 unless
    ``given`` is the key."""
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
            guard.count(client)
        raise HTTPException(403, "A valid X-Admin-Key header is required.")


def reload_index(served: Served, settings: Settings) -> Index:
    """Load ``settings.index_dir`` again and serve it; on a typed error the old index keeps serving."""
    with served.reload_lock:
        old = served.assistant
        index = Index.load(settings.index_dir, model_name=old.embedder.name)
        assistant = old.on(index, settings)
        examples = examples_for(settings, assistant)
        served.assistant = assistant  # the one assignment readers see (the examples follow it at once)
        served.examples = examples
    log.info("reloaded the index at %s: %d documents", settings.index_dir, len(index.documents))
    return index


def router(settings: Settings) -> APIRouter:
    admin = APIRouter(prefix="/admin", include_in_schema=False)
    guard = RateGuard(per_client=5, window_s=60.0)  # wrong keys, per address only: see the module's docstring

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
