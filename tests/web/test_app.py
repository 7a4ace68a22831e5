from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from index.embed import Embedder
from index.store import build
from qa.settings import Settings
from web.app import create_app


def test_healthz_and_search(corpus: Path, tmp_path: Path, embedder: Embedder) -> None:
    build([corpus], tmp_path / "idx", embedder=embedder)
    app = create_app(Settings(index_dir=tmp_path / "idx"))
    with TestClient(app) as client:
        health = client.get("/healthz").json()
        assert health["documents"] == 3 and health["model"] == embedder.name and health["passages"] >= 3
        rows = client.get("/search", params={"q": "identity short code", "k": 2}).json()
        assert rows[0]["doc_id"] == "pehchaan.md" and len(rows) == 2
        assert client.get("/search", params={"q": "", "k": 2}).status_code == 422
        assert client.get("/search", params={"q": "x", "k": 0}).status_code == 422
