"""``POST /feedback``: "Right" / "Wrong" under an answer, a plain form (no JavaScript), stored in SQLite.

The form carries the question and the answer shown (text, document, offsets); the answer must stand at
those offsets in the document, so that only answers the app could have given are recorded. Under an
abstention ("these documents don't say") the form carries the question alone, and the answer is recorded
as empty: Right confirms the documents don't say, Wrong reports an answerable question that was missed. Limited in
size (the body limit, field lengths) and rate (per address and in all); never a 5xx.
"""

from __future__ import annotations

import math
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from qa.feedback import VERDICTS, Feedback, FeedbackError, FeedbackStore
from qa.questions import clean_question
from qa.settings import Settings
from web.deps import app_state, templates
from web.errors import error_page
from web.limits import RateGuard
from web.views import parse_range

MAX_NOTE = 500
MAX_ANSWER = 2000


def router(settings: Settings, store: FeedbackStore) -> APIRouter:
    feedback = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
    guard = RateGuard(per_client=20, overall=200, window_s=60.0)

    @feedback.post("/feedback")
    async def send(request: Request) -> Response:
        if not settings.feedback:
            return error_page(request, 404, "Feedback is turned off on this server.")
        client = request.client.host if request.client else ""
        wait = guard.wait_s(client)
        if wait > 0:
            return error_page(request, 429, f"Thank you, that is a lot of feedback: try again in {math.ceil(wait)} s.")
        media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media_type != "application/x-www-form-urlencoded":
            return error_page(request, 415, "Send the feedback with the form under an answer.")
        try:
            fields = parse_qs((await request.body()).decode("utf-8"), max_num_fields=20)
        except (UnicodeDecodeError, ValueError):
            return error_page(request, 400, "The feedback form cannot be read.")
        item, problem = _read(fields, request, settings)
        if item is None:
            return error_page(request, 422, problem)
        guard.count(client)
        try:
            await run_in_threadpool(store.add, item)
        except FeedbackError:
            return error_page(request, 503, "Feedback cannot be stored right now; please try again later.")
        back = "/?" + urlencode({"q": item.question})
        return templates.TemplateResponse(request, "feedback.html", {"item": item, "back": back})

    return feedback


def _read(fields: dict[str, list[str]], request: Request, settings: Settings) -> tuple[Feedback | None, str]:
    """The feedback the form holds, or ``None`` and what is wrong with it."""

    def one(name: str) -> str:
        values = fields.get(name, [""])
        return values[-1] if values else ""

    verdict = one("verdict")
    if verdict not in VERDICTS:
        return None, "Choose Right or Wrong."
    question = clean_question(one("q"))
    if not question or len(question) > settings.max_question_chars:
        return None, "The question is missing or too long."
    note = " ".join(one("note").split())
    if len(note) > MAX_NOTE:
        return None, f"The note is too long: at most {MAX_NOTE} characters, please."
    start, end, answer, doc_id = one("start"), one("end"), one("answer"), one("doc")
    if not (start or end or answer or doc_id):
        # Under "these documents don't say": a Wrong there is an answerable question the server missed.
        return Feedback(question, verdict, "", "", 0, 0, note), ""
    doc = app_state(request).index.document(doc_id)
    if doc is None or len(answer) > MAX_ANSWER:
        return None, "The answer this feedback is about is not one this server gave."
    span = parse_range(start, end, len(doc.text))  # the document page's own check of offsets
    if span is None:
        return None, "The answer this feedback is about is not one this server gave (its offsets are not valid)."
    if doc.text[span[0] : span[1]] != answer:
        return None, "The answer this feedback is about is not one this server gave."
    return Feedback(question, verdict, answer, doc.doc_id, span[0], span[1], note), ""
