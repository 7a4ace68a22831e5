"""No client can take the server down or lock others out: proxies trusted only when named, the admin key holder
never locked out by others' wrong keys, time limits on request bodies, a cap on one address's connections, and
the small cases (a 5,000-digit offset, variation selectors, deeply nested JSON). On a real uvicorn where the
guard lives in the server."""

from __future__ import annotations

import http.client
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from index.embed import Embedder
from index.store import Index
from qa.questions import clean_question
from qa.settings import Settings
from tests.web.conftest import local_client, uvicorn_in_thread
from web.app import create_app
from web.server import server_options, trusted

KEY = "k" * 16 + "-a-long-random-admin-key-0123456789"
QUESTION = "What is Pehchaan?"
FEEDBACK = {"verdict": "right", "q": QUESTION}  # the form under an abstention: a question alone


@contextmanager
def real_server(settings: Settings, embedder: Embedder) -> Iterator[int]:
    """``create_app(settings)`` served by uvicorn with ``qa serve``'s options on 127.0.0.1: its port."""
    app = create_app(settings.model_copy(update={"examples": 0}), embedder=embedder)
    with uvicorn_in_thread(app, **server_options(settings)) as port:
        yield port


def closed_by_server(conn: socket.socket, wait_s: float) -> tuple[bool, bytes]:
    """Whether the server closed ``conn`` within ``wait_s`` seconds, and what it sent before."""
    conn.settimeout(wait_s)
    received = b""
    deadline = time.monotonic() + wait_s
    try:
        while time.monotonic() < deadline:
            chunk = conn.recv(4096)
            if not chunk:
                return True, received
            received += chunk
    except ConnectionResetError:
        return True, received
    except TimeoutError:
        pass
    return False, received


def ask(port: int, source: str = "127.0.0.1") -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(source, 0))
    try:
        conn.request("POST", "/ask", body=f'{{"question": "{QUESTION}"}}', headers={"content-type": "application/json"})
        return conn.getresponse().status
    finally:
        conn.close()


# 1. Trust no proxy unless told.


def test_regression_a_rotating_forwarded_for_does_not_escape_the_feedback_limit(
    web_index: Path, embedder: Embedder
) -> None:
    """uvicorn believed X-Forwarded-For from 127.0.0.1: a local client named a new address each time, 30/30
    feedback posts accepted past the limit."""
    with real_server(Settings(index_dir=web_index), embedder) as port, httpx.Client(timeout=30) as http:
        codes = [
            http.post(
                f"http://127.0.0.1:{port}/feedback", data=FEEDBACK, headers={"X-Forwarded-For": f"10.0.{i}.{i}"}
            ).status_code
            for i in range(24)
        ]
    assert codes == [200] * 20 + [429] * 4


def test_behind_a_trusted_proxy_the_forwarded_address_is_the_client(web_index: Path, embedder: Embedder) -> None:
    settings = Settings(index_dir=web_index, forwarded_allow_ips="127.0.0.1")
    with real_server(settings, embedder) as port, httpx.Client(timeout=30) as http:

        def post(client: str) -> int:
            url = f"http://127.0.0.1:{port}/feedback"
            return http.post(url, data=FEEDBACK, headers={"X-Forwarded-For": client}).status_code

        assert [post("10.0.0.1") for _ in range(21)] == [200] * 20 + [429]
        assert post("10.0.0.2") == 200  # another client behind the proxy: counted on its own


def test_trusted_proxies_are_addresses_and_networks() -> None:
    check = trusted("127.0.0.1, 10.1.0.0/16,::1")
    assert check("127.0.0.1") and check("10.1.2.3") and check("::1")
    assert not check("10.2.0.1") and not check("192.168.0.1") and not check("")
    assert not trusted(None)("127.0.0.1") and trusted("*")("203.0.113.9")


# 2. The admin guard cannot lock out the key holder.


def test_regression_wrong_keys_from_others_do_not_lock_out_the_key_holder(web_index: Path, embedder: Embedder) -> None:
    """20 wrong keys from anywhere within a minute made the right key get 429 from everywhere."""
    app = create_app(Settings(index_dir=web_index, admin_key=KEY, examples=0), embedder=embedder)
    with local_client(app):  # the lifespan: the index loaded once for all the clients below
        for i in range(30):
            with TestClient(app, base_url="http://localhost", client=(f"198.51.100.{i}", 40000)) as other:
                assert other.post("/admin/reload", headers={"X-Admin-Key": f"guess{i}"}).status_code == 403
        with TestClient(app, base_url="http://localhost", client=("203.0.113.7", 40000)) as guesser:
            codes = [guesser.post("/admin/reload", headers={"X-Admin-Key": f"g{i}"}).status_code for i in range(7)]
            assert codes == [403] * 5 + [429] * 2
            assert guesser.post("/admin/reload", headers={"X-Admin-Key": KEY}).status_code == 429  # it waits
        with TestClient(app, base_url="http://localhost", client=("192.0.2.1", 40000)) as holder:
            reloaded = holder.post("/admin/reload", headers={"X-Admin-Key": KEY})
            assert reloaded.status_code == 200 and reloaded.json()["status"] == "reloaded"


def test_an_ipv6_guesser_is_counted_by_its_64_network(web_index: Path, embedder: Embedder) -> None:
    app = create_app(Settings(index_dir=web_index, admin_key=KEY, examples=0), embedder=embedder)
    with local_client(app):
        codes = []
        for i in range(7):  # a fresh address of one /64 each time
            with TestClient(app, base_url="http://localhost", client=(f"2001:db8::{i + 1:x}", 40000)) as c:
                codes.append(c.post("/admin/reload", headers={"X-Admin-Key": f"g{i}"}).status_code)
        assert codes == [403] * 5 + [429] * 2


def test_a_short_admin_key_is_refused_at_start() -> None:
    with pytest.raises(ValidationError, match="at least 32"):
        Settings(admin_key="s3cret-admin-key")
    assert Settings(admin_key="").admin_key == "" and Settings(admin_key=KEY).admin_key == KEY


# 3. A body timeout, and a cap on the connections of one address.


def test_regression_a_body_sent_a_byte_a_second_is_closed_while_ask_answers(
    web_index: Path, embedder: Embedder
) -> None:
    """200 POSTs sending their body at 1 byte/s were all still open after 60 s: nothing bounded a body's time."""
    settings = Settings(index_dir=web_index, body_timeout_s=1.5, header_timeout_s=30)
    with real_server(settings, embedder) as port, socket.create_connection(("127.0.0.1", port)) as slow:
        slow.sendall(
            b"POST /ask HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 60\r\n\r\n"
        )
        body = b'{"question": "What is Pehchaan?"'
        closed, sent = False, 0
        for byte in body:
            try:
                slow.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            sent += 1
            assert ask(port) == 200  # everyone else is answered meanwhile
            closed, _ = closed_by_server(slow, 1.0)  # about one byte a second
            if closed:
                break
    # Closed by the 1.5 s body timeout, a few bytes in: not at once, and not after the whole 33-byte body.
    assert closed and 1 <= sent < len(body) // 2, f"closed={closed} after {sent} of {len(body)} bytes"


@pytest.mark.slow
def test_a_body_in_time_is_answered(web_index: Path, embedder: Embedder) -> None:
    settings = Settings(index_dir=web_index, body_timeout_s=1.5)
    body = b'{"question": "What is Pehchaan?"}'
    with real_server(settings, embedder) as port, socket.create_connection(("127.0.0.1", port)) as conn:
        for _ in range(2):  # kept alive: the second request's body has its own time
            conn.sendall(b"POST /ask HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n")
            conn.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body[:10])
            time.sleep(1.0)
            conn.sendall(body[10:])
            conn.settimeout(30)
            assert conn.recv(65536).startswith(b"HTTP/1.1 200")
            time.sleep(1.0)  # more than the body timeout since the first body: idle is the header timeout's


def test_regression_connections_past_the_cap_of_one_address_are_refused(web_index: Path, embedder: Embedder) -> None:
    """Nothing capped the connections one address held open."""
    settings = Settings(index_dir=web_index, max_connections_per_client=3, header_timeout_s=30)
    with real_server(settings, embedder) as port:
        held = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
        try:
            for conn in held:
                conn.sendall(b"GET /healthz HTTP/1.1\r\n")  # and no more: held open
            time.sleep(0.3)
            with socket.create_connection(("127.0.0.1", port)) as extra:
                closed, said = closed_by_server(extra, 5.0)
                assert closed and said.startswith(b"HTTP/1.1 503") and b"Too many connections" in said
            assert ask(port, source="127.0.0.2") == 200  # another address is served
            held.pop().close()
            time.sleep(0.3)
            assert ask(port) == 200  # one closed: room for one more
        finally:
            for conn in held:
                conn.close()


def test_a_trusted_proxy_is_not_capped(web_index: Path, embedder: Embedder) -> None:
    settings = Settings(index_dir=web_index, max_connections_per_client=1, forwarded_allow_ips="127.0.0.1")
    with real_server(settings, embedder) as port, socket.create_connection(("127.0.0.1", port)) as held:
        held.sendall(b"GET /healthz HTTP/1.1\r\n")
        time.sleep(0.3)
        assert ask(port) == 200  # a proxy's connections carry many clients: it limits them itself


# 4. Small cases.


def test_regression_a_5000_digit_offset_in_feedback_is_refused_not_a_500(client: TestClient, index: Index) -> None:
    """int() refused a 5,000-digit start (Python's int-conversion limit): 500."""
    doc = next(iter(index.documents.values()))
    for start, end in (("9" * 5000, "12"), ("0", "9" * 5000), ("1" + "0" * 12, "1" + "0" * 12 + "1")):
        fields = {**FEEDBACK, "start": start, "end": end, "answer": doc.text[:10], "doc": doc.doc_id}
        response = client.post("/feedback", data=fields)
        assert response.status_code == 422 and "offsets are not valid" in response.text


@pytest.mark.parametrize("question", ["\ufe0f", "\ufe00\ufe0f\ufe0e", "\U000e0100\U000e01ef", " \ufe0f \u034f\u3164"])
def test_regression_a_question_of_variation_selectors_is_empty(client: TestClient, question: str) -> None:
    """Variation selectors (U+FE00-FE0F, U+E0100-E01EF) are invisible marks, not Cf: such a question got 200."""
    response = client.post("/ask", json={"question": question})
    assert response.status_code == 422 and "empty" in response.json()["detail"]
    assert client.get("/", params={"q": question}).status_code == 422


def test_variation_selectors_inside_a_question_are_dropped() -> None:
    assert clean_question("Pehchaan\ufe0f portal\U000e0100?") == "Pehchaan portal?"
    assert clean_question("caf\u00e9 \u2764") == "caf\u00e9 \u2764"  # visible characters stay


def test_regression_deeply_nested_json_is_said_to_be_nested_too_deeply(client: TestClient) -> None:
    """10,000 '[' got "send JSON encoded as UTF-8", which it was."""
    for body in ("[" * 10_000, '{"question": ' + "[" * 10_000):
        response = client.post("/ask", content=body, headers={"content-type": "application/json"})
        assert response.status_code == 400 and "nested too deeply" in response.json()["detail"]


def test_a_5000_digit_number_in_json_is_said_to_have_too_many_digits(client: TestClient) -> None:
    body = '{"question": "What is Pehchaan?", "top_k": ' + "9" * 5000 + "}"
    response = client.post("/ask", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400 and "too many digits" in response.json()["detail"]
    bad = client.post("/ask", content=b'{"question": "\xff"}', headers={"content-type": "application/json"})
    assert bad.status_code == 400 and "UTF-8" in bad.json()["detail"]
