"""The HTML pages: ask (``/``, ``/?q=...``) and read a document (``/doc/{doc_id}``). No JavaScript."""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from index.errors import InvalidQueryError
from web.citations import locate, version
from web.deps import AppState, answer_question, app_state, note_question, templates
from web.errors import describe, error_page, status_for
from web.render import ANSWER, CITED, Highlight, render
from web.views import documents_page, parse_range, present

State = Annotated[AppState, Depends(app_state)]
HOME_DOCUMENTS = 50  # listed on the home page (GET /documents pages through all of them)

pages = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


@pages.get("/")
def home(request: Request, state: State, q: str | None = None) -> Response:
    context = {
        "question": q or "",
        "max_chars": state.settings.max_question_chars,
        "documents": len(state.index.documents),
        "listed": documents_page(state.index, HOME_DOCUMENTS, 0) if not q else None,
        "examples": [(e, "/?" + urlencode({"q": e})) for e in state.examples],
        "view": None,
        "error": None,
        "feedback": state.settings.feedback,
    }
    if not q:
        return templates.TemplateResponse(request, "index.html", context)
    note_question(request, q)
    try:
        asked = state.ask_request(question=q)
    except ValidationError as err:
        context["error"] = describe(err.errors(), max_top_k=state.settings.max_top_k)
        return templates.TemplateResponse(request, "index.html", context, status_code=422)
    try:
        result, took_ms = answer_question(state, asked.question, asked.top_k)
    except InvalidQueryError as err:
        context["error"] = str(err)
        return templates.TemplateResponse(request, "index.html", context, status_code=status_for(err))
    context["view"] = present(result, state.index, took_ms)
    return templates.TemplateResponse(request, "index.html", context)


_VERSION = re.compile(r"[0-9a-f]{12}")


@pages.get("/doc/{doc_id:path}")
def document(
    request: Request,
    state: State,
    doc_id: str,
    start: str | None = None,
    end: str | None = None,
    context_from: Annotated[str | None, Query(alias="from")] = None,
    context_to: Annotated[str | None, Query(alias="to")] = None,
    q: str | None = None,
    v: str | None = None,
    ah: str | None = None,
    ch: str | None = None,
) -> Response:
    """A document, rendered; ``start``/``end`` mark the answer strongly, ``from``/``to`` its sentence (or a
    cited passage) lightly; ``v``, ``ah`` and ``ch`` find them again in another version of the document
    (:mod:`web.citations`)."""
    parts = doc_id.replace("\\", "/").split("/")
    doc = None if ".." in parts or "\x00" in doc_id else state.index.document(doc_id)
    if doc is None:
        return error_page(request, 404, "No document has this id. Ask a question to find the documents.")
    linked = v if v is not None and _VERSION.fullmatch(v) else None  # anything else: a link without a version
    current = linked is None or linked == version(doc)
    bound = len(doc.text) if current else 10**9  # another version's offsets may lie past this one's end
    located = locate(doc, parse_range(start, end, bound), parse_range(context_from, context_to, bound), linked, ah, ch)
    answer, cited = located.answer, located.cited
    highlights = tuple(Highlight(*span, kind) for span, kind in ((answer, ANSWER), (cited, CITED)) if span is not None)
    # The page shows the body: front matter and a leading ` date` line are metadata, shown as such.
    shown = min([doc.body_start, *(h.start for h in highlights)])
    context = {
        "doc": doc,
        "body": render(doc.text, shown, highlights),
        "marked": bool(highlights),
        "answer_marked": answer is not None and cited is not None,
        "bad_range": current
        and (
            ((start, end) != (None, None) and answer is None)
            or ((context_from, context_to) != (None, None) and cited is None)
        ),
        "changed": "found" if located.changed and located.found else "gone" if located.changed else None,
        "back": "/?" + urlencode({"q": q}) if q else None,
    }
    return templates.TemplateResponse(request, "document.html", context)
