"""``POST /admin/reload``: a new index is served without downtime, and no request sees two indexes."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from index.build import build
from index.embed import Embedder
from qa.settings import Settings
from tests.conftest import THREE_DOCS, write_corpus
from tests.web.conftest import local_client
from web.app import create_app
from web.limits import RateGuard

KEY = "s3cret-admin-key-" + "0123456789abcdef" * 2
QUESTION = "What is the SMS short code of Pehchaan?"
METRO = "# Swat Express Metro\n\nThe Swat Express Metro runs every seven minutes between Mingora and Saidu Sharif.\n"


def doc_ids(body: dict[str, Any]) -> set[str]:
    ids = {p["doc_id"] for p in body["passages"]}
    return ids | ({body["answer"]["doc_id"]} if body["answer"] else set())


def corpus_of(ids: set[str]) -> set[str]:
    return {i.split("/", 1)[0] for i in ids}


def test_admin_is_off_without_a_key(client: TestClient, web_index: Path, embedder: Embedder) -> None:
    response = client.post("/admin/reload", headers={"X-Admin-Key": "anything"})
    assert response.status_code == 404 and isinstance(response.json()["detail"], str)
    assert "/admin/reload" not in client.get("/openapi.json").json()["paths"]
    with local_client(create_app(Settings(index_dir=web_index, admin_key=""), embedder=embedder)) as empty:
        assert empty.post("/admin/reload", headers={"X-Admin-Key": ""}).status_code == 404


def test_reload_serves_the_new_index_and_no_request_sees_two(tmp_path: Path, embedder: Embedder) -> None:
    a = write_corpus(tmp_path / "a", {f"a/{name}": text for name, text in THREE_DOCS.items()})
    b = write_corpus(tmp_path / "b", {**{f"b/{name}": text for name, text in THREE_DOCS.items()}, "b/metro.md": METRO})
    idx = tmp_path / "idx"
    build([a], idx, embedder=embedder)
    with local_client(create_app(Settings(index_dir=idx, admin_key=KEY), embedder=embedder)) as client:
        assert client.get("/healthz").json()["documents"] == 3
        for headers in ({}, {"X-Admin-Key": "wrong"}, {"X-Admin-Key": KEY + "x"}):
            response = client.post("/admin/reload", headers=headers)
            assert response.status_code == 403 and "X-Admin-Key" in response.json()["detail"]

        seen: list[set[str]] = []
        failures: list[str] = []
        stop = threading.Event()

        def ask_again_and_again() -> None:
            while not stop.is_set():
                response = client.post("/ask", json={"question": QUESTION, "top_k": 5})
                if response.status_code != 200:
                    failures.append(f"{response.status_code}: {response.text}")
                    continue
                body = response.json()
                seen.append(doc_ids(body))
                # Parts read from the index after retrieval (the date) come from the same index.
                dates = {p["date"] for p in body["passages"] if p["doc_id"].endswith("fellowship.txt")}
                if dates - {"2019-03-01"}:
                    failures.append(f"fellowship.txt without its date: {body['passages']}")

        def wait_for(n: int) -> None:
            deadline = time.monotonic() + 60
            while len(seen) < n and not failures and time.monotonic() < deadline:
                time.sleep(0.01)

        thread = threading.Thread(target=ask_again_and_again, daemon=True)
        thread.start()
        try:
            wait_for(5)
            build([b], idx, embedder=embedder)  # into the same folder, while questions are answered
            wait_for(len(seen) + 5)
            response = client.post("/admin/reload", headers={"X-Admin-Key": KEY})
            assert response.status_code == 200, response.text
            assert response.json()["documents"] == 4 and response.json()["status"] == "reloaded"
            wait_for(len(seen) + 10)
        finally:
            stop.set()
            thread.join(timeout=60)
        assert not failures and len(seen) >= 20
        corpora = [corpus_of(ids) for ids in seen]
        assert all(c in ({"a"}, {"b"}) for c in corpora), corpora  # never a mix of the two
        first_b = corpora.index({"b"})
        assert first_b >= 10 and all(c == {"b"} for c in corpora[first_b:])

        body = client.post("/ask", json={"question": "How often does the Swat Express Metro run?"}).json()
        assert body["answer"]["doc_id"] == "b/metro.md" and "seven minutes" in body["answer"]["sentence"]["text"]
        assert client.get("/healthz").json()["documents"] == 4
        page = client.get("/doc/b/metro.md")
        assert page.status_code == 200 and "Swat Express Metro" in page.text
        assert client.get("/doc/a/pehchaan.md").status_code == 404


@pytest.mark.parametrize("breakage", ["corrupt manifest", "missing folder", "other model"])
def test_a_broken_index_on_disk_leaves_the_old_one_serving(
    three_docs_index: Path, tmp_path: Path, embedder: Embedder, breakage: str
) -> None:
    idx = tmp_path / "idx"
    shutil.copytree(three_docs_index, idx)  # its own copy, to break
    with local_client(create_app(Settings(index_dir=idx, admin_key=KEY), embedder=embedder)) as client:
        before = client.post("/ask", json={"question": QUESTION}).json()
        manifest = idx / "manifest.json"
        if breakage == "corrupt manifest":
            manifest.write_text("{", encoding="utf-8")
        elif breakage == "missing folder":
            idx.rename(tmp_path / "gone")
        else:
            manifest.write_text(manifest.read_text().replace(embedder.name, "some/other-model"), encoding="utf-8")
        response = client.post("/admin/reload", headers={"X-Admin-Key": KEY, "accept": "text/html"})
        assert response.status_code == 503 and response.headers["content-type"] == "application/json"
        detail = response.json()["detail"]
        expected = {"corrupt manifest": "cannot be read as JSON", "missing folder": "no index here"}
        assert expected.get(breakage, "model mismatch") in detail and str(idx) in detail
        after = client.post("/ask", json={"question": QUESTION})
        assert after.status_code == 200 and after.json()["answer"] == before["answer"]
        assert client.get("/healthz").json()["documents"] == 3


def test_regression_wrong_admin_keys_are_rate_limited(web_index: Path, embedder: Embedder) -> None:
    """643 wrong keys a second were answered: a key could be guessed at request speed."""
    with local_client(create_app(Settings(index_dir=web_index, admin_key=KEY), embedder=embedder)) as client:
        codes = [client.post("/admin/reload", headers={"X-Admin-Key": f"guess{i}"}).status_code for i in range(8)]
        assert codes == [403] * 5 + [429] * 3
        locked = client.post("/admin/reload", headers={"X-Admin-Key": KEY})  # even the right key waits
        assert locked.status_code == 429 and "try again in" in locked.json()["detail"]
        assert 0 < int(locked.headers["Retry-After"]) <= 60
        assert client.post("/ask", json={"question": QUESTION}).status_code == 200  # questions are not limited


def test_the_rate_guard_counts_per_client_and_in_all_and_forgets_after_its_window() -> None:
    guard = RateGuard(per_client=2, overall=3, window_s=0.3)
    guard.count("a")
    guard.count("a")
    assert guard.wait_s("a") > 0 and guard.wait_s("b") == 0
    guard.count("b")
    assert guard.wait_s("c") > 0  # three in all: everyone waits
    time.sleep(0.35)
    assert guard.wait_s("a") == guard.wait_s("c") == 0
