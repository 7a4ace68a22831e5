"""An answer that stands in a heading: given on the answer page and marked in the heading on the document page."""

from __future__ import annotations

import html
import re
from pathlib import Path

from index.build import build
from index.embed import Embedder
from qa.settings import Settings
from tests.conftest import write_corpus
from tests.qa.test_answer_kind import POLICIES
from tests.web.conftest import local_client
from web.app import create_app


def test_an_answer_in_a_heading_is_given_and_marked_in_that_heading(tmp_path: Path, embedder: Embedder) -> None:
    build([write_corpus(tmp_path / "docs", {"policies.md": POLICIES})], tmp_path / "idx", embedder=embedder)
    settings = Settings(index_dir=tmp_path / "idx", examples=0, answer_threshold=0.0)
    with local_client(create_app(settings, embedder=embedder)) as client:
        body = client.post("/ask", json={"question": "When was the cloud first policy approved?"}).json()
        a = body["answer"]
        assert a is not None and a["text"] == "June 2024"
        assert POLICIES[a["start"] : a["end"]] == "June 2024"
        assert a["sentence"]["text"] == "Cloud First Policy (June 2024)"
        page = client.get("/", params={"q": "When was the cloud first policy approved?"}).text
        href = html.unescape(re.search(r'<a href="(/doc/policies\.md\?start=[^"]+)"', page).group(1))
        doc_page = client.get(href).text
    headings = [h for h in re.findall(r"<h\d[^>]*>(.*?)</h\d>", doc_page, re.S) if "Cloud First Policy" in h]
    assert len(headings) == 1, doc_page
    assert re.search(r'<mark class="hl-answer"[^>]*>June 2024</mark>', headings[0]), headings[0]
