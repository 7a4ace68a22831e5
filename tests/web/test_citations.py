"""Citation links survive edits: a link made for one version of a document never marks wrong text in another."""

from __future__ import annotations

import html
import re
from pathlib import Path

from index.build import build
from index.embed import Embedder
from qa.settings import Settings
from tests.conftest import write_corpus
from tests.web.conftest import local_client
from web.app import create_app
from web.citations import digest, relocate

METRO = (
    "# Swat Express Metro\n\nThe Swat Express Metro runs every seven minutes between Mingora and Saidu Sharif.\n\n"
    "Tickets cost 50 rupees and are sold at every station.\n"
)
QUESTION = "How much does a metro ticket cost?"


def answer_link(docs: Path, tmp_path: Path, embedder: Embedder) -> str:
    build([docs], tmp_path / "idx", embedder=embedder)
    settings = Settings(index_dir=tmp_path / "idx", examples=0, answer_threshold=0.0)
    with local_client(create_app(settings, embedder=embedder)) as client:
        page = client.get("/", params={"q": QUESTION}).text
    return html.unescape(re.search(r'<a href="(/doc/metro\.md\?start=[^"]+)"', page).group(1))


def open_after_edit(docs: Path, tmp_path: Path, embedder: Embedder, href: str, text: str) -> str:
    (docs / "metro.md").write_text(text)
    build([docs], tmp_path / "idx", embedder=embedder)
    settings = Settings(index_dir=tmp_path / "idx", examples=0)
    with local_client(create_app(settings, embedder=embedder)) as client:
        return client.get(href).text


def marks(page: str) -> list[str]:
    return [html.unescape(m) for m in re.findall(r"<mark[^>]*>(.*?)</mark>", page, re.S)]


def test_a_link_opened_after_an_edit_above_marks_the_same_text_moved(tmp_path: Path, embedder: Embedder) -> None:
    docs = write_corpus(tmp_path / "docs", {"metro.md": METRO})
    href = answer_link(docs, tmp_path, embedder)
    assert "v=" in href and "ah=" in href and "ch=" in href
    same = open_after_edit(docs, tmp_path, embedder, href, METRO)
    assert "has changed" not in same and "50 rupees" in "".join(marks(same))
    edited = METRO.replace(
        "# Swat Express Metro\n\n", "# Swat Express Metro\n\nUpdated in May: new stations opened.\n\n"
    )
    page = open_after_edit(docs, tmp_path, embedder, href, edited)
    assert "This document has changed since the link was made; the cited text was found again" in page
    assert "50 rupees" in "".join(marks(page))


def test_regression_a_stale_link_never_marks_other_text(tmp_path: Path, embedder: Embedder) -> None:
    """An old link opened after an edit marked "idents comp", with no notice."""
    docs = write_corpus(tmp_path / "docs", {"metro.md": METRO})
    href = answer_link(docs, tmp_path, embedder)
    edited = METRO.replace("Tickets cost 50 rupees and are sold at every station.", "Residents complain of delays.")
    page = open_after_edit(docs, tmp_path, embedder, href, edited)
    assert marks(page) == []
    assert "has changed since the link was made and no longer holds the cited text, so nothing is marked" in page


def test_a_link_without_a_version_is_read_as_before(tmp_path: Path, embedder: Embedder) -> None:
    docs = write_corpus(tmp_path / "docs", {"metro.md": METRO})
    href = answer_link(docs, tmp_path, embedder)
    old_style = re.sub(r"&(v|ah|ch)=[0-9a-f]+", "", href)
    page = open_after_edit(docs, tmp_path, embedder, old_style, METRO)
    assert "has changed" not in page and "50 rupees" in "".join(marks(page))


def test_relocate_finds_the_nearest_copy_or_nothing() -> None:
    text = "abc TARGET def " * 3
    first = text.index("TARGET")
    wanted = digest("TARGET")
    assert relocate(text, (first, first + 6), wanted) == (first, first + 6)
    assert relocate(text, (first + 3, first + 9), wanted) == (first, first + 6)  # 3 away beats 12 away
    assert relocate("no such text here", (0, 6), wanted) is None
    assert relocate(text, (first + 100, first + 106), wanted, window=10) is None
