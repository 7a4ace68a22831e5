"""The body limit (413) and the access log: one JSON line per request, the question's text only when allowed."""

from __future__ import annotations

import asyncio
import http.client
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from index.embed import Embedder
from qa.settings import Settings
from tests.web.conftest import local_client
from web.app import create_app
from web.middleware import BodyLimit, allowed_host_names

QUESTION = "What is the SMS short code of Pehchaan?"
JSON = {"content-type": "application/json"}


def body_of(size: int) -> bytes:
    """A JSON body of exactly ``size`` bytes whose question is short enough to be valid."""
    head, tail = b'{"question": "What is Pehchaan?"', b"}"
    return head + b" " * (size - len(head) - len(tail)) + tail


def test_the_limit_and_question_logging_are_set_from_the_environment(
    web_index: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The defaults (16384 bytes, no questions logged) are checked by the tests below; here the app obeys the
    environment variables."""
    monkeypatch.setenv("QA_MAX_BODY_BYTES", "100")
    monkeypatch.setenv("QA_LOG_QUESTIONS", "true")
    caplog.set_level(logging.INFO, logger="civic_qa.access")
    with local_client(create_app(Settings(index_dir=web_index), embedder=embedder)) as c:
        assert c.post("/ask", content=body_of(100), headers=JSON).status_code == 200
        response = c.post("/ask", content=body_of(101), headers=JSON)
    assert response.status_code == 413
    assert response.json() == {"detail": "The request body is too large: at most 100 bytes, please."}
    assert any(x.get("question") == "What is Pehchaan?" and x["status"] == 200 for x in access_lines(caplog))


def test_a_body_over_the_limit_gets_413(client: TestClient) -> None:
    assert client.post("/ask", content=body_of(16384), headers=JSON).status_code == 200
    response = client.post("/ask", content=body_of(16385), headers=JSON)
    assert response.status_code == 413 and response.headers["content-type"] == "application/json"
    assert response.json() == {"detail": "The request body is too large: at most 16384 bytes, please."}
    assert response.headers["x-content-type-options"] == "nosniff"
    assert client.post("/ask", content=b"x" * 10**6, headers={"content-type": "text/plain"}).status_code == 413


def test_openapi_declares_413(client: TestClient) -> None:
    responses = client.get("/openapi.json").json()["paths"]["/ask"]["post"]["responses"]
    assert responses["413"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorOut")


def _post_chunked(base: str, chunks: list[bytes]) -> tuple[int, dict[str, Any]]:
    url = urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        conn.request("POST", "/ask", body=iter(chunks), headers=JSON, encode_chunked=True)
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def test_a_chunked_body_is_counted_as_it_streams(live_server: str) -> None:
    """No Content-Length: the bytes are counted as they arrive."""
    small = body_of(2000)
    status, body = _post_chunked(live_server, [small[:1000], small[1000:]])
    assert status == 200 and body["question"] == "What is Pehchaan?"
    big = body_of(20000)
    status, body = _post_chunked(live_server, [big[i : i + 4000] for i in range(0, len(big), 4000)])
    assert status == 413 and "at most 16384 bytes" in body["detail"]


def _run(app: Any, scope: dict[str, Any], messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []
    queue = list(messages)

    async def receive() -> dict[str, Any]:
        return queue.pop(0) if queue else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


def test_the_app_never_sees_a_body_over_the_limit() -> None:
    seen: list[bytes] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        message = await receive()
        seen.append(message["body"])
        assert message["more_body"] is False
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    limited = BodyLimit(app, max_bytes=10)
    scope = {"type": "http", "method": "POST", "path": "/ask", "headers": []}
    parts = [{"type": "http.request", "body": b"abcd", "more_body": True}] * 2
    sent = _run(limited, scope, [*parts, {"type": "http.request", "body": b"ef", "more_body": False}])
    assert seen == [b"abcdabcdef"] and sent[0]["status"] == 200
    sent = _run(limited, scope, [*parts, {"type": "http.request", "body": b"efg", "more_body": False}])
    assert seen == [b"abcdabcdef"] and sent[0]["status"] == 413  # 11 bytes: refused, the app not called
    declared = {**scope, "headers": [(b"content-length", b"11")]}
    assert _run(limited, declared, [])[0]["status"] == 413
    get = {**scope, "method": "GET"}
    assert _run(limited, get, [{"type": "http.request", "body": b"x" * 50, "more_body": False}])[0]["status"] == 200


def access_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "civic_qa.access"]


def test_one_access_line_per_request_without_the_question(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="civic_qa.access")
    assert client.post("/ask", json={"question": f"  {QUESTION} "}).status_code == 200
    assert client.get("/", params={"q": QUESTION}).status_code == 200
    assert client.get("/healthz").status_code == 200
    assert client.post("/ask", content=body_of(20000), headers=JSON).status_code == 413
    expected = [("POST", "/ask", 200), ("GET", "/", 200), ("GET", "/healthz", 200), ("POST", "/ask", 413)]
    # A live server left by another test may log from its own thread: keep this client's lines, in order.
    lines, wanted = [], iter(expected)
    want = next(wanted)
    for x in access_lines(caplog):
        if want is not None and (x["method"], x["path"], x["status"]) == want:
            lines.append(x)
            want = next(wanted, None)
    assert [(x["method"], x["path"], x["status"]) for x in lines] == expected
    assert lines[0]["question_chars"] == lines[1]["question_chars"] == len(QUESTION)
    assert "question_chars" not in lines[2] and all(x["ms"] >= 0 for x in lines)
    assert not any("question" in x for x in lines)
    assert "Pehchaan" not in caplog.text and "SMS short code" not in caplog.text


@pytest.fixture(scope="module")
def logging_client(web_index: Path, embedder: Embedder) -> Iterator[TestClient]:
    with local_client(create_app(Settings(index_dir=web_index, log_questions=True), embedder=embedder)) as c:
        yield c


def test_questions_are_logged_only_when_allowed(logging_client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="civic_qa.access")
    assert logging_client.post("/ask", json={"question": QUESTION}).status_code == 200
    assert logging_client.get("/", params={"q": "Who runs Pehchaan?"}).status_code == 200
    first, second = access_lines(caplog)
    assert first["question"] == QUESTION and first["question_chars"] == len(QUESTION)
    assert second["question"] == "Who runs Pehchaan?" and second["path"] == "/"


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "localhost.evil.example", "testserver"])
def test_regression_a_host_name_not_ours_is_refused(client: TestClient, host: str) -> None:
    """Any Host was answered: a page that re-points its domain at 127.0.0.1 could read /ask (DNS rebinding)."""
    for method, path in (("GET", "/"), ("POST", "/ask"), ("GET", "/doc/pehchaan.md"), ("GET", "/healthz")):
        response = client.request(method, path, headers={"Host": host}, json={"question": "Who?"})
        assert response.status_code == 400, (method, path)
        assert "QA_ALLOWED_HOSTS" in response.json()["detail"] and host.split(":")[0] in response.json()["detail"]


@pytest.mark.parametrize(
    "host", ["localhost", "localhost:8000", "127.0.0.1:8000", "[::1]:8000", "10.1.2.3", "LOCALHOST"]
)
def test_local_names_and_ip_addresses_are_answered(client: TestClient, host: str) -> None:
    assert client.get("/healthz", headers={"Host": host}).status_code == 200


def test_allowed_host_names_follow_the_bind_and_the_setting() -> None:
    assert "docs.example" in allowed_host_names("docs.example", [])
    assert "intranet.example" in allowed_host_names("127.0.0.1", ["Intranet.example."])
    assert "evil.example" not in allowed_host_names("127.0.0.1", [])
    assert allowed_host_names("0.0.0.0", ["*"]) is None


@pytest.mark.parametrize("question", ["\u200b\u200b", "\ufeff", "\x00", " \u200b\u2060\t"])
def test_regression_a_question_of_invisible_characters_is_empty(client: TestClient, question: str) -> None:
    """Zero-width spaces, a BOM or NUL made a 200 answer instead of the empty-question 422."""
    response = client.post("/ask", json={"question": question})
    assert response.status_code == 422 and "empty" in response.json()["detail"]
    assert client.get("/", params={"q": question}).status_code == 422
    inside = client.post("/ask", json={"question": "Which SMS short\u200b code reaches Pehchaan?"}).json()
    assert inside["question"] == "Which SMS short code reaches Pehchaan?"
