"""Every error the app answers with, mapped in one place.

Domain errors (``index.errors``) map to HTTP codes through :data:`STATUS`. API clients get JSON
``{"detail": "..."}``; browsers asking for a page get an HTML page with a link home.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from index.errors import (
    IndexBusyError,
    IndexCorruptError,
    IndexMismatchError,
    IndexNotFoundError,
    InvalidQueryError,
    QAError,
    StoreUnavailableError,
)
from web.deps import templates

log = logging.getLogger(__name__)

# The first class in this order that the error is an instance of gives the code.
STATUS: tuple[tuple[type[QAError], int], ...] = (
    (InvalidQueryError, 422),
    (IndexNotFoundError, 503),
    (IndexCorruptError, 503),
    (IndexMismatchError, 503),
    (IndexBusyError, 503),
    (StoreUnavailableError, 503),
    (QAError, 500),
)

UNPARSED = "There was an error parsing the body"  # FastAPI's one message for any failure of json.loads

# FastAPI's own messages, in the words of this API.
REWORDED = {
    UNPARSED: "The request body cannot be read: send JSON encoded as UTF-8.",
    "Method Not Allowed": "This method is not allowed here.",
}

API_PATHS = ("/ask", "/search", "/documents", "/healthz", "/openapi.json")


def unparsed_body(cause: BaseException | None) -> str:
    """Why a JSON body that FastAPI could not parse was refused, from the exception behind its one message."""
    if isinstance(cause, RecursionError):
        return 'The request body is JSON nested too deeply to read: send a JSON object such as {"question": "..."}.'
    if isinstance(cause, ValueError) and not isinstance(cause, UnicodeError) and "digits" in str(cause):
        return "The request body holds a number with too many digits: send numbers such as 5."
    return REWORDED[UNPARSED]


def status_for(exc: QAError) -> int:
    return next(code for cls, code in STATUS if isinstance(exc, cls))


def wants_html(request: Request) -> bool:
    """The API answers errors with JSON; any other path with an HTML page, unless asked for JSON."""
    if request.url.path in API_PATHS or request.url.path.startswith("/admin/"):
        return False
    accept = request.headers.get("accept", "")
    return "text/html" in accept or "application/json" not in accept


def error_page(request: Request, status: int, message: str, heading: str | None = None) -> Response:
    heading = heading or ("Page not found" if status == 404 else HTTPStatus(status).phrase)
    return templates.TemplateResponse(
        request, "error.html", {"status": status, "heading": heading, "message": message}, status_code=status
    )


def _respond(request: Request, status: int, message: str, extra: dict[str, Any] | None = None) -> Response:
    if wants_html(request):
        return error_page(request, status, message)
    return JSONResponse({"detail": message, **(extra or {})}, status_code=status)


def describe(errors: Sequence[Any], *, max_top_k: int) -> str:
    """One readable sentence per pydantic error, in the words of this API."""
    messages: list[str] = []
    for err in errors:
        kind = err.get("type", "")
        loc = [part for part in err.get("loc", ()) if part not in ("body", "query", "path")]
        name = str(loc[0]) if loc and isinstance(loc[0], str) else ""
        ctx = err.get("ctx") or {}
        if kind == "json_invalid":
            where = f" at character {loc[0]}" if loc and isinstance(loc[0], int) else ""
            messages.append(f"The request body is not valid JSON ({ctx.get('error', 'decode error')}{where}).")
        elif kind in ("model_attributes_type", "dict_type", "model_type") and not name:
            messages.append('The request body must be a JSON object such as {"question": "...", "top_k": 5}.')
        elif kind == "missing" and not name:
            messages.append('The request body is missing: send a JSON object such as {"question": "..."}.')
        elif kind == "missing":
            messages.append(f"`{name}` is required.")
        elif kind == "extra_forbidden":
            messages.append(f"`{name}` is not a field of this request.")
        elif name in ("question", "q") and kind in ("string_too_short", "too_short"):
            messages.append("The question is empty: ask a question in words.")
        elif name in ("question", "q") and kind in ("string_too_long", "too_long"):
            messages.append(f"The question is too long: at most {ctx.get('max_length')} characters, please.")
        elif name in ("question", "q") and kind == "string_unicode":
            messages.append("The question is not valid Unicode text.")
        elif name in ("question", "q") and kind == "string_type":
            messages.append("The question must be a string.")
        elif name in ("top_k", "k"):
            messages.append(f"`{name}` must be a whole number from 1 to {max_top_k}.")
        else:
            field = ".".join(str(part) for part in loc) or "request"
            messages.append(f"`{field}`: {err.get('msg', 'invalid')}.")
    return " ".join(dict.fromkeys(messages)) or "The request is not valid."


def issues(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """pydantic's findings without the input (which may be large, or not JSON at all)."""
    keep = ("loc", "msg", "type")
    return [{k: list(e[k]) if k == "loc" else str(e[k]) for k in keep if k in e} for e in errors]


def install(app: FastAPI) -> None:
    """Register the handlers: the only place where errors become responses."""

    @app.exception_handler(QAError)
    async def qa_error(request: Request, exc: QAError) -> Response:
        status = status_for(exc)
        if status >= 500:
            log.error("%s %s: %s", request.method, request.url.path, exc)
        return _respond(request, status, str(exc))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        errors = exc.errors()
        message = describe(errors, max_top_k=request.app.state.settings.max_top_k)
        return _respond(request, 422, message, {"errors": issues(errors)})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        if exc.status_code == 404 and message == "Not Found":
            message = f"There is nothing at {request.url.path}."
        if exc.status_code == 400 and message == UNPARSED:
            message = unparsed_body(exc.__cause__)
        message = REWORDED.get(message, message)
        response = _respond(request, exc.status_code, message)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("%s %s failed", request.method, request.url.path)
        return JSONResponse({"detail": "Internal error: the server failed to answer; see its log."}, 500)
