"""ASGI middleware of the app: a limit on request bodies, and one structured log line per request."""

from __future__ import annotations

import json
import logging
import time
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

access_log = logging.getLogger("civic_qa.access")

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
QUESTION_KEY = "civic_qa_question"  # where a route leaves the question it read, in the request's state


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    """Refuse a request body over ``max_bytes`` with 413, before the app reads any of it.

    A declared ``Content-Length`` over the limit is refused at once. Otherwise the body is read
    here, counting the bytes as they stream in (a chunked body has no ``Content-Length``), up to the
    limit, and handed to the app whole: the app never sees a body over the limit.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(send)
            return
        try:
            body, last = await self._read(receive)
        except BodyTooLarge:
            await self._refuse(send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        if last.get("type") == "http.disconnect":
            replay = receive  # type: ignore[assignment]  # the client went away: let the app see it
        await self.app(scope, replay, send)

    async def _read(self, receive: Receive) -> tuple[bytes, Message]:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return b"".join(chunks), message
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                raise BodyTooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks), message

    async def _refuse(self, send: Send) -> None:
        body = json.dumps({"detail": f"The request body is too large: at most {self.max_bytes} bytes, please."})
        payload = body.encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(payload)).encode()),
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": payload})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class AccessLog:
    """One JSON line per request on ``civic_qa.access``: method, path, status, ms, and the question's length.

    The question's text only goes in when ``log_questions`` is on: questions may hold personal data.
    Routes that read a question leave it in the request's state under :data:`QUESTION_KEY`.
    """

    def __init__(self, app: ASGIApp, log_questions: bool = False) -> None:
        self.app = app
        self.log_questions = log_questions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        state = scope.setdefault("state", {})
        status = 500  # unless the app answers at all

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            line: dict[str, Any] = {
                "method": scope["method"],
                "path": scope["path"],
                "status": status,
                "ms": round((time.perf_counter() - started) * 1000, 3),
            }
            question = state.get(QUESTION_KEY) if isinstance(state, dict) else None
            if question is None and scope["path"] == "/":
                question = _query_question(scope)
            if question is not None:
                line["question_chars"] = len(question)
                if self.log_questions:
                    line["question"] = question
            access_log.info(json.dumps(line, ensure_ascii=False))


def _query_question(scope: Scope) -> str | None:
    query = scope.get("query_string", b"").decode("latin-1")
    values = [v for k, v in parse_qsl(query, keep_blank_values=True) if k == "q"]
    return values[-1] if values else None
