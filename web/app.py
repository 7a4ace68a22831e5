"""The FastAPI app: the index and the model load once per process, at startup."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from index.embed import Embedder
from index.store import Index
from qa.errors import IndexCorruptError, IndexMismatchError, IndexNotFoundError, InvalidQueryError, QAError
from qa.retriever import FusionSettings, Retriever
from qa.settings import Settings, get_settings
from web.deps import AppState, app_state

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 1000


class Health(BaseModel):
    status: str
    documents: int
    passages: int
    model: str
    built_at: str


class PassageOut(BaseModel):
    doc_id: str
    title: str
    start: int
    end: int
    text: str
    score: float
    heading_path: list[str]


class ErrorOut(BaseModel):
    detail: str


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        embedder = Embedder(settings.model, settings.model_path)
        index = Index.load(settings.index_dir, model_name=embedder.name)
        fusion = FusionSettings(
            settings.fusion, settings.rrf_k, settings.bm25_weight, settings.dense_weight, settings.candidates
        )
        retriever = Retriever(index, embedder, fusion)
        retriever.search(["warm up"], 1)  # loads the model now, not on the first request
        app.state.qa = AppState(settings, retriever)
        yield

    app = FastAPI(title="civic-qa", version="0.1.0", lifespan=lifespan)

    @app.exception_handler(QAError)
    async def qa_error(request: Request, exc: QAError) -> JSONResponse:
        code = 400 if isinstance(exc, InvalidQueryError) else 503
        if isinstance(exc, IndexNotFoundError | IndexCorruptError | IndexMismatchError):
            code = 503
        return JSONResponse({"detail": str(exc)}, status_code=code)

    @app.get("/healthz", response_model=Health)
    def healthz(state: Annotated[AppState, Depends(app_state)]) -> Health:
        index = state.retriever.index
        return Health(
            status="ok",
            documents=len(index.documents),
            passages=len(index.passages),
            model=index.model_name,
            built_at=str(index.manifest.get("built_at", "")),
        )

    @app.get("/search", response_model=list[PassageOut], responses={400: {"model": ErrorOut}})
    def search(
        state: Annotated[AppState, Depends(app_state)],
        q: Annotated[str, Query(min_length=1, max_length=MAX_QUESTION_CHARS)],
        k: Annotated[int, Query(ge=1, le=50)] = 5,
    ) -> list[PassageOut]:
        hits = state.retriever.search([q], k)[0]
        return [
            PassageOut(
                doc_id=h.passage.doc_id,
                title=h.title,
                start=h.passage.start,
                end=h.passage.end,
                text=h.passage.text,
                score=h.score,
                heading_path=list(h.passage.heading_path),
            )
            for h in hits
        ]

    return app
