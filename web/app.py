"""The FastAPI app: the index and the model load once per process, at startup."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from index.build import BuildReport
from index.embed import Embedder
from index.reader import ReadMemory
from index.store import Index
from qa import wiring
from qa.feedback import FeedbackStore, feedback_path
from qa.settings import Settings, get_settings
from web import admin, api, errors, feedback
from web.admin import reload_index
from web.batching import MicroBatcher
from web.deps import WEB, Served, examples_for
from web.middleware import AccessLog, AllowedHosts, BodyLimit, access_log, allowed_host_names
from web.pages import pages
from web.schemas import ask_request_model
from web.watch import Watcher

log = logging.getLogger(__name__)

CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'none'",
        "style-src 'self'",
        "img-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
DOCS_PAGES = ("/docs", "/docs/oauth2-redirect", "/redoc")  # FastAPI's own pages load their scripts


def create_app(
    settings: Settings | None = None,
    *,
    embedder: Embedder | None = None,
    index: Index | None = None,
    watch: Sequence[Path] | None = None,
) -> FastAPI:
    """The app for ``settings``; ``embedder`` and ``index`` let a caller share what it already loaded
    (``qa serve`` has just checked the index folder by loading it: it is not read twice). With
    ``watch`` (the index's sources), changes there are indexed and served as they happen."""
    settings = settings or get_settings()
    ask_request = ask_request_model(settings.max_question_chars, settings.max_top_k)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        assistant = wiring.assistant(settings, model=embedder, index=index)
        assistant.ask(["warm up"], top_k=1)  # loads the embedder and the reader now, not on the first request
        batcher = MicroBatcher(window_ms=settings.micro_batch_ms) if settings.micro_batch else None
        app.state.qa = Served(settings, assistant, ask_request, batcher, examples_for(settings, assistant))
        watcher = _watcher(app, settings, assistant.embedder, watch) if watch else None
        app.state.watcher = watcher
        try:
            yield
        finally:
            if watcher is not None:
                watcher.close()
            if batcher is not None:
                batcher.close()

    # FastAPIOffline serves Swagger UI and ReDoc from files in the package: /docs works offline.
    app = FastAPIOffline(
        title="civic-qa",
        version="0.1.0",
        summary="Extractive answers, with citations, from civic documents",
        lifespan=lifespan,
    )
    app.state.settings = settings
    errors.install(app)
    # The last added is the outermost: the log sees every answer, 413s included, with their headers.
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(AllowedHosts, names=allowed_host_names(settings.host, settings.allowed_hosts))
    app.add_middleware(AccessLog, log_questions=settings.log_questions)
    if access_log.level == logging.NOTSET:
        access_log.setLevel(logging.INFO)  # its lines show wherever logging is set up, whatever the root level
    app.include_router(api.router(settings, ask_request))
    app.include_router(admin.router(settings))
    app.include_router(feedback.router(settings, FeedbackStore(feedback_path(settings.index_dir))))
    app.include_router(pages)
    app.mount("/static", StaticFiles(directory=WEB / "static"), name="static")
    return app


def _watcher(app: FastAPI, settings: Settings, embedder: Embedder, sources: Sequence[Path]) -> Watcher:
    index_dir = Path(settings.index_dir)
    memory = ReadMemory()  # a file skipped is not read again until it changes

    def build_now() -> BuildReport:
        return wiring.build_index(sources, index_dir, settings, memory=memory, model=embedder)

    watcher = Watcher(
        sources,
        index_dir,
        build_now,
        lambda: reload_index(app.state.qa, settings),
        debounce_ms=settings.watch_debounce_ms,
    )
    watcher.start()
    return watcher


class SecurityHeaders:
    """``nosniff`` on every response; a strict CSP (no scripts at all) and no framing on our pages."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Content-Type-Options"] = "nosniff"
                if headers.get("content-type", "").startswith("text/html") and scope["path"] not in DOCS_PAGES:
                    headers["Content-Security-Policy"] = CSP
                    headers["X-Frame-Options"] = "DENY"
                    headers["Referrer-Policy"] = "no-referrer"
            await send(message)

        await self.app(scope, receive, send_with_headers)
