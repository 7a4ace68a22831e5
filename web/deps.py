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
from qa.answer import answer
from qa.retriever import Retriever
from qa.settings import Settings, get_settings
from qa.types import Result
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


@dataclass(slots=True)
class AppState:
    settings: Settings
    retriever: Retriever
    ask_request: type[AskRequest] = AskRequest
    # One question at a time: the models are CPU-bound, and threads would only fight for the cores.
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def index(self) -> Index:
        return self.retriever.index


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.qa
    return state


def answer_question(state: AppState, question: str, top_k: int) -> tuple[Result, float]:
    """Answer one question; also return the milliseconds it took (waiting for the lock included)."""
    started = time.perf_counter()
    with state.lock:
        result = answer([question], state.retriever, top_k=top_k, threshold=state.settings.answer_threshold)[0]
    return result, (time.perf_counter() - started) * 1000


JSON_MEDIA_TYPE = re.compile(r"application/([\w.+-]+\+)?json")


def require_json(request: Request) -> None:
    """Refuse a body that is not declared as JSON (415) before trying to read it."""
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if not JSON_MEDIA_TYPE.fullmatch(media_type):
        shown = media_type or "none"
        raise HTTPException(415, f"Send the question as JSON with Content-Type: application/json (got {shown}).")


__all__ = ["AppState", "answer_question", "app_state", "get_settings", "require_json", "templates"]
