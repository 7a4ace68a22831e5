"""The server's header timeout, on a real uvicorn over a real socket."""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from index.embed import Embedder
from qa.settings import Settings
from tests.web.conftest import uvicorn_in_thread
from web.app import create_app
from web.server import ConnectionLimits, guarded_h11


@pytest.fixture(scope="module")
def slow_guarded_server(web_index: Path, embedder: Embedder) -> Iterator[int]:
    app = create_app(Settings(index_dir=web_index), embedder=embedder)
    guarded = guarded_h11(ConnectionLimits(header_timeout_s=0.5))
    with uvicorn_in_thread(app, http=guarded, timeout_keep_alive=30) as port:
        yield port


def closed_by_server(conn: socket.socket, wait_s: float) -> bool:
    conn.settimeout(wait_s)
    try:
        return conn.recv(1024) == b""
    except TimeoutError:
        return False


def test_regression_a_connection_that_never_finishes_its_headers_is_closed(slow_guarded_server: int) -> None:
    """500 half-open connections were held 32 s: nothing bounded the time to send the headers."""
    with socket.create_connection(("127.0.0.1", slow_guarded_server)) as conn:
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")  # and never the blank line
        assert closed_by_server(conn, 5.0)
    with socket.create_connection(("127.0.0.1", slow_guarded_server)) as silent:
        assert closed_by_server(silent, 5.0)


def test_requests_and_kept_alive_connections_still_work(slow_guarded_server: int) -> None:
    client = http.client.HTTPConnection("127.0.0.1", slow_guarded_server, timeout=30)
    sockets = []
    for _ in range(2):  # the same connection, kept alive between the two
        client.request(
            "POST", "/ask", body='{"question": "What is Pehchaan?"}', headers={"content-type": "application/json"}
        )
        response = client.getresponse()
        assert response.status == 200 and not response.will_close
        body = json.loads(response.read())
        assert body["question"] == "What is Pehchaan?" and body["answer"] is not None
        sockets.append(client.sock)
    assert sockets[0] is not None and sockets[0] is sockets[1]  # not closed and opened again
    client.close()
