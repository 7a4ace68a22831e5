"""What the routes share: the state loaded once per process, the templates, and the one call into qa."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
from fastapi import HTTPException, Request
from fastapi.templating import Jinja2Templates

from index.store import Index
from qa.examples import example_questions
from qa.retriever import Retriever
from qa.settings import Settings, get_settings
from qa.types import Result
from qa.wiring import Assistant
from web.batching import MicroBatcher
from web.middleware import QUESTION_KEY
from web.schemas import AskRequest

WEB = Path(__file__).resolve().parent

# Autoescape everywhere: document text, titles and questions are untrusted.
templates = Jinja2Templates(
    env=jinja2.Environment(
        loader=jinja2.FileSystemLoader(WEB / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
)


@dataclass(frozen=True, slots=True)
class AppState:
    """What one request works with: read once per request (:func:`app_state`), so that a reload of
    the index in the middle of a request cannot give it parts of two indexes."""

    settings: Settings
    assistant: Assistant
    ask_request: type[AskRequest] = AskRequest
    batcher: MicroBatcher | None = None
    examples: tuple[str, ...] = ()

    @property
    def index(self) -> Index:
        return self.assistant.index

    @property
    def retriever(self) -> Retriever:
        return self.assistant.retriever


@dataclass(slots=True)
class Served:
    """The app's live state: ``assistant`` is replaced whole, in one assignment, by a reload."""

    settings: Settings
    assistant: Assistant
    ask_request: type[AskRequest] = AskRequest
    batcher: MicroBatcher | None = None
    examples: tuple[str, ...] = ()  # questions this index answers (:func:`examples_for`)
    # Only one reload at a time; questions never take it.
    reload_lock: threading.Lock = field(default_factory=threading.Lock)

    def now(self) -> AppState:
        return AppState(self.settings, self.assistant, self.ask_request, self.batcher, self.examples)


def examples_for(settings: Settings, assistant: Assistant) -> tuple[str, ...]:
    """``settings.examples`` example questions that this index really answers (asked now, at start-up)."""
    if settings.examples < 1:
        return ()
    return tuple(example_questions(assistant.retriever, assistant.reader, limit=settings.examples))


def app_state(request: Request) -> AppState:
    served: Served = request.app.state.qa
    return served.now()


def note_question(request: Request, question: str) -> None:
    """Tell the access log which question this request asked (it logs the length, and the text if allowed)."""
    request.scope.setdefault("state", {})[QUESTION_KEY] = question


def answer_question(state: AppState, question: str, top_k: int) -> tuple[Result, float]:
    """Answer one question; also return the milliseconds it took.

    No lock: the model's inference, the reader and the (read-only) retriever run concurrently. With
    micro-batching on, questions that arrive together share one encode call (:mod:`web.batching`).
    """
    started = time.perf_counter()
    if state.batcher is not None:
        result = state.batcher.submit(question, state.assistant, top_k)
    else:
        result = state.assistant.ask([question], top_k)[0]
    return result, (time.perf_counter() - started) * 1000


JSON_MEDIA_TYPE = re.compile(r"application/([\w.+-]+\+)?json")


def require_json(request: Request) -> None:
    """Refuse a body that is not declared as JSON (415) before trying to read it."""
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if not JSON_MEDIA_TYPE.fullmatch(media_type):
        shown = media_type or "none"
        raise HTTPException(415, f"Send the question as JSON with Content-Type: application/json (got {shown}).")


__all__ = [
    "AppState",
    "Served",
    "answer_question",
    "app_state",
    "get_settings",
    "note_question",
    "require_json",
    "templates",
]
