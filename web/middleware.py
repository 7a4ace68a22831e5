"""ASGI middleware of the app: allowed host names, a limit on request bodies, one structured log line per request."""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
import time
from collections.abc import Iterable
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

        gone = last.get("type") == "http.disconnect"  # the client went away: let the app see it
        await self.app(scope, receive if gone else replay, send)

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


LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})
WILDCARD_BINDS = frozenset({"", "0.0.0.0", "::", "[::]"})


def allowed_host_names(bound: str, extra: Iterable[str]) -> frozenset[str] | None:
    """The host names a server bound to ``bound`` answers to (``None``: any, when ``extra`` holds ``*``).

    Always the local names, the bound name when it is a name, and ``extra`` (``QA_ALLOWED_HOSTS``);
    bound to every interface, also this machine's own names. IP addresses are always allowed (see
    :class:`AllowedHosts`).
    """
    names = {name.strip().lower().rstrip(".") for name in extra if name.strip()}
    if "*" in names:
        return None
    names |= LOCAL_NAMES
    if bound in WILDCARD_BINDS:
        names |= {socket.gethostname().lower(), socket.getfqdn().lower()}
    elif not _is_ip(bound):
        names.add(bound.lower().rstrip("."))
    return frozenset(names)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _host_name(header: str) -> str:
    """The name of a ``Host`` header, without its port: ``[::1]:8000`` gives ``::1``."""
    header = header.strip()
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


class AllowedHosts:
    """Refuse (400) a request whose ``Host`` is a name this server is not known by.

    DNS rebinding: a web page re-points its own domain at 127.0.0.1, and the browser then sends
    that domain as ``Host`` to a local instance and lets the page read the answers. A rebinding
    always sends a *name*, so a Host that is an IP address (or no Host, HTTP/1.0) is allowed.
    """

    def __init__(self, app: ASGIApp, names: frozenset[str] | None) -> None:
        self.app = app
        self.names = names

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.names is None or scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = next((v.decode("latin-1") for k, v in scope.get("headers", ()) if k == b"host"), "")
        name = _host_name(header).lower().rstrip(".")
        if not name or _is_ip(name) or name in self.names:
            await self.app(scope, receive, send)
            return
        shown = name if len(name) <= 100 else name[:100] + "..."
        detail = (
            f"This server does not answer to the host name {shown!r} (a guard against DNS rebinding); "
            "if that name is yours, add it to QA_ALLOWED_HOSTS."
        )
        payload = json.dumps({"detail": detail}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
        await send({"type": "http.response.start", "status": 400, "headers": headers})
        await send({"type": "http.response.body", "body": payload})
