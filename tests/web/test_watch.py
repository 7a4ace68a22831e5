"""``qa serve --watch``: files added, edited and deleted while a client asks without pause."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from eval.documents import make_pdf
from eval.hostile_files import nested_html
from index.build import build
from index.embed import Embedder
from qa.settings import Settings
from tests.conftest import THREE_DOCS, write_corpus
from tests.web.conftest import local_client
from web.app import create_app

QUESTION = "How often does the Swat Express Metro run?"
METRO = "# Swat Express Metro\n\nThe Swat Express Metro runs every {} minutes between Mingora and Saidu Sharif.\n"
BOUND_S = 60.0


def ask(client: TestClient) -> dict[str, Any]:
    response = client.post("/ask", json={"question": QUESTION})
    assert response.status_code == 200, response.text
    return response.json()


def until(client: TestClient, done: Callable[[dict[str, Any]], bool]) -> float:
    """Seconds until the answer to QUESTION satisfies ``done`` (fails past BOUND_S)."""
    started = time.monotonic()
    while time.monotonic() - started < BOUND_S:
        if done(ask(client)):
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"the answers did not follow the change within {BOUND_S} s")


def metro_passages(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in body["passages"] if p["doc_id"] == "metro.md"]


def test_watch_follows_added_edited_and_deleted_files_with_no_failed_request(
    tmp_path: Path, embedder: Embedder
) -> None:
    docs = write_corpus(tmp_path / "docs", THREE_DOCS)
    idx = tmp_path / "idx"
    build([docs], idx, embedder=embedder)
    settings = Settings(index_dir=idx, watch_debounce_ms=100)
    with local_client(create_app(settings, embedder=embedder, watch=[docs])) as client:
        assert client.get("/healthz").json()["watching"] is True
        failures: list[str] = []
        asked = 0
        stop = threading.Event()

        def ask_without_pause() -> None:
            nonlocal asked
            while not stop.is_set():
                response = client.post("/ask", json={"question": "What is the SMS short code of Pehchaan?"})
                asked += 1
                if response.status_code != 200 or "8070" not in response.text:
                    failures.append(f"{response.status_code}: {response.text[:200]}")

        asker = threading.Thread(target=ask_without_pause)
        asker.start()
        try:
            (docs / "metro.md").write_text(METRO.format("seven"))
            added = until(client, lambda b: any("seven" in p["text"] for p in metro_passages(b)))
            (docs / "metro.md").write_text(METRO.format("twelve"))
            edited = until(client, lambda b: any("twelve" in p["text"] for p in metro_passages(b)))
            (docs / "metro.md").unlink()
            deleted = until(client, lambda b: not metro_passages(b))
            (docs / "scan.pdf").write_bytes(make_pdf([[]]))
            until(client, lambda b: True)
            started = time.monotonic()
            while not client.get("/healthz").json()["skipped"] and time.monotonic() - started < BOUND_S:
                time.sleep(0.05)
        finally:
            stop.set()
            asker.join()
        health = client.get("/healthz").json()
        print(
            f"\nanswers followed the change in: added {added:.2f} s, edited {edited:.2f} s, deleted {deleted:.2f} s "
            f"(debounce 0.1 s); {asked} questions asked meanwhile, {len(failures)} failed"
        )
        assert failures == [] and asked > 0
        assert health["documents"] == 3 and health["refresh_error"] is None
        assert [s["path"].rsplit("/", 1)[-1] for s in health["skipped"]] == ["scan.pdf"]
        assert "no text layer" in health["skipped"][0]["problem"]


def test_hidden_files_and_the_index_itself_are_not_watched(tmp_path: Path) -> None:
    from watchfiles import Change

    from web.watch import Watcher

    docs = tmp_path / ".config" / "docs"  # a source inside a hidden folder is still watched
    watcher = Watcher([docs], docs / "idx", build=lambda: None, reload=lambda: None)  # type: ignore[arg-type,return-value]  # never called here
    ignored = {
        name: watcher._ignored(Change.modified, str(docs / name))
        for name in ("a.md", "sub/b.pdf", ".git/objects/ab/cdef", "sub/.a.md.swp", "idx/manifest.json")
    }
    assert ignored == {
        "a.md": False,
        "sub/b.pdf": False,
        ".git/objects/ab/cdef": True,
        "sub/.a.md.swp": True,
        "idx/manifest.json": True,
    }


def test_regression_a_skipped_file_is_not_parsed_again_on_every_refresh(
    tmp_path: Path, embedder: Embedder, parsed_files: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    """A deeply nested page under --watch was parsed again at every refresh (19-29 s each)."""
    docs = write_corpus(tmp_path / "docs", THREE_DOCS)
    idx = tmp_path / "idx"
    build([docs], idx, embedder=embedder)
    settings = Settings(index_dir=idx, watch_debounce_ms=100)
    caplog.set_level(logging.INFO, logger="web.watch")
    with local_client(create_app(settings, embedder=embedder, watch=[docs])) as client:
        nested_html(docs / "nested.html", 5_000)
        started = time.monotonic()
        while not client.get("/healthz").json()["skipped"] and time.monotonic() - started < BOUND_S:
            time.sleep(0.05)
        [skipped] = client.get("/healthz").json()["skipped"]
        assert skipped["path"].endswith("nested.html") and "QA_MAX_HTML_DEPTH" in skipped["problem"]
        for minutes in ("seven", "twelve"):
            (docs / "metro.md").write_text(METRO.format(minutes))
            until(client, lambda b, m=minutes: any(m in p["text"] for p in metro_passages(b)))  # type: ignore[misc]  # m=: bound per loop
    assert parsed_files.count("nested.html") == 1
    # One line per refresh says what changed and how long it took (the server log said nothing).
    lines = [r.getMessage() for r in caplog.records if r.name == "web.watch" and "re-indexed" in r.getMessage()]
    assert any("file change(s): added metro.md; serving the new index" in line for line in lines), lines
    assert any("changed metro.md" in line for line in lines), lines


def test_a_disk_full_during_a_refresh_keeps_the_previous_index_serving(
    tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FAISS's write error on a full disk (a C++ RuntimeError) is one line in /healthz; /ask keeps answering."""
    import index.dense as dense

    docs = write_corpus(tmp_path / "docs", THREE_DOCS)
    idx = tmp_path / "idx"
    build([docs], idx, embedder=embedder)
    real_write = dense.faiss.write_index
    monkeypatch.setattr(dense.faiss, "write_index", lambda index, path: real_write(index, "/dev/full"))
    settings = Settings(index_dir=idx, watch_debounce_ms=100)
    with local_client(create_app(settings, embedder=embedder, watch=[docs])) as client:
        (docs / "metro.md").write_text(METRO.format("seven"))
        started = time.monotonic()
        while client.get("/healthz").json()["refresh_error"] is None and time.monotonic() - started < BOUND_S:
            time.sleep(0.05)
        health = client.get("/healthz").json()
        assert health["refresh_error"] == f"{idx}: No space left on device; the previous index is unchanged"
        assert health["documents"] == 3
        body = client.post("/ask", json={"question": "What is the SMS short code of Pehchaan?"}).json()
        assert "8070" in str(body)
