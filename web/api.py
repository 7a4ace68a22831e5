"""The JSON API: ``POST /ask``, ``GET /search``, ``GET /healthz``.

No ``from __future__ import annotations`` here: FastAPI reads the body type of ``/ask`` (a model
made for the settings' limits) from the annotation at run time.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from qa.fusion import TOP_K
from qa.settings import Settings
from web.deps import AppState, answer_question, app_state, note_question, require_json
from web.schemas import (
    AskRequest,
    AskResponse,
    DocumentsOut,
    ErrorOut,
    Health,
    PassageOut,
    SkippedOut,
    ValidationErrorOut,
)
from web.views import documents_page

State = Annotated[AppState, Depends(app_state)]

UNAVAILABLE: dict[int | str, dict[str, Any]] = {503: {"model": ErrorOut, "description": "The index cannot be used"}}
ERRORS: dict[int | str, dict[str, Any]] = {
    422: {"model": ValidationErrorOut, "description": "The question or a parameter is not acceptable"},
    **UNAVAILABLE,
}


def router(settings: Settings, ask_request: type[AskRequest]) -> APIRouter:
    api = APIRouter(tags=["api"])

    @api.post(
        "/ask",
        response_model=AskResponse,
        dependencies=[Depends(require_json)],
        responses={
            400: {"model": ErrorOut, "description": "The body cannot be read (not UTF-8)"},
            413: {"model": ErrorOut, "description": "The body is larger than the server accepts"},
            415: {"model": ErrorOut, "description": "The body is not JSON"},
            **ERRORS,
        },
        summary="Answer a question from the documents",
    )
    def ask(body: ask_request, state: State, request: Request) -> AskResponse:  # type: ignore[valid-type]  # a class made at run time
        """An extractive answer (verbatim, with offsets into its document) or `no_answer`, and the
        passages it was read from."""
        asked: AskRequest = body  # ask_request is AskRequest with the settings' limits
        note_question(request, asked.question)
        result, took_ms = answer_question(state, asked.question, asked.top_k)
        return AskResponse.of(result, took_ms, state.index)

    @api.get("/search", response_model=list[PassageOut], responses=ERRORS, summary="Retrieve passages")
    def search(
        state: State,
        q: Annotated[str, Query(min_length=1, max_length=settings.max_question_chars)],
        k: Annotated[int, Query(ge=1, le=settings.max_top_k)] = TOP_K,
    ) -> list[PassageOut]:
        return [PassageOut.of(hit, state.index) for hit in state.retriever.search([q], k)[0]]

    @api.get("/documents", response_model=DocumentsOut, responses=ERRORS, summary="The documents in the index")
    def documents(
        state: State,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> DocumentsOut:
        return documents_page(state.index, limit, offset)

    @api.get("/healthz", response_model=Health, responses=UNAVAILABLE, summary="Index and model in use")
    def healthz(state: State, request: Request) -> Health:
        index = state.index
        reader = state.assistant.reader.model
        watcher = getattr(request.app.state, "watcher", None)
        seconds = index.manifest.get("build_seconds")
        return Health(
            status="ok",
            documents=len(index.documents),
            passages=len(index.passages),
            model=index.model_name,
            store=index.index_type,
            lexical="milvus" if index.lexical == "milvus" else "local",
            reader=f"{reader.name} ({reader.precision})",
            built_at=str(index.manifest.get("built_at", "")),
            build_seconds=float(seconds) if isinstance(seconds, int | float) else None,
            skipped=[
                SkippedOut(path=str(row.get("path", "")), problem=str(row.get("problem", "")))
                for row in index.manifest.get("skipped", [])
                if isinstance(row, dict)
            ],
            watching=watcher is not None,
            refresh_error=watcher.last_error if watcher is not None else None,
        )

    return api
