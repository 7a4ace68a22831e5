"""One tiny corpus and index for the web tests (built once per module), and clients of the app."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from index.build import build
from index.embed import Embedder
from index.store import Index
from qa.settings import Settings
from tests.conftest import THREE_DOCS, write_corpus
from web.app import create_app

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

SCRIPT = "<script>alert(1)</script>"
FILLER = "".join(
    f"Section {i}. The provincial archive keeps minutes of meeting number {i} in a bound ledger.\n\n"
    for i in range(1, 80)
)
WEB_DOCS = {
    **THREE_DOCS,
    "transit/brt.md": (
        "# Peshawar BRT annual report\n\n"
        + FILLER
        + "## Ridership\n\nThe Peshawar BRT carries about 250,000 passengers a day on its Zu buses.\n"
    ),
    "copy/pehchaan.md": THREE_DOCS["pehchaan.md"],  # byte-identical: an alias of pehchaan.md
    "unsafe.md": (
        f"# Notes {SCRIPT}\n\nThe complaint portal {SCRIPT} accepts grievances from citizens of Swat.\n"
        'A second line with "quotes" & <b>tags</b>.\n'
    ),
}


def local_client(app: FastAPI) -> TestClient:
    """A client of ``app`` that names it ``localhost``, as a browser on this machine does (not "testserver",
    a host name the app refuses: DNS rebinding)."""
    return TestClient(app, base_url="http://localhost")


@pytest.fixture(scope="module")
def web_index(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Path:
    folder = tmp_path_factory.mktemp("web")
    docs = write_corpus(folder / "docs", WEB_DOCS)
    build([docs], folder / "idx", embedder=embedder)
    return folder / "idx"


@pytest.fixture(scope="module")
def index(web_index: Path) -> Index:
    return Index.load(web_index)


@pytest.fixture(scope="module")
def client(web_index: Path, embedder: Embedder) -> Iterator[TestClient]:
    with local_client(create_app(Settings(index_dir=web_index), embedder=embedder)) as c:
        yield c


@contextmanager
def uvicorn_in_thread(app: Any, **options: Any) -> Iterator[int]:
    """``app`` served by a real uvicorn (``options`` as ``uvicorn.Config`` takes them) on a free port of
    127.0.0.1, in a thread: its port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", **options))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


@pytest.fixture(scope="module")
def live_server(web_index: Path, embedder: Embedder) -> Iterator[str]:
    """The app served by a real uvicorn on a free port of 127.0.0.1, in a thread: its base URL."""
    with uvicorn_in_thread(create_app(Settings(index_dir=web_index), embedder=embedder), lifespan="on") as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's headless Chromium (never a downloaded one), for the browser and accessibility tests."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()
