"""The document renderer: Markdown structure, highlights cut from offsets, nothing in a document made active."""

from __future__ import annotations

import html
import re
import subprocess
import sys
from pathlib import Path

from index.build import build
from index.embed import Embedder
from qa.settings import Settings
from tests.conftest import ROOT, write_corpus
from tests.web.conftest import local_client
from web.app import create_app
from web.render import ANSWER, CITED, Highlight, plain_text, render

DOC = (
    "# Services\n"
    "\n"
    "Pehchaan is **the digital identity** service. See the [portal](https://kp.gov.pk/x_(y)).\n"
    "It has `code 8070` and snake_case_words.\n"
    "\n"
    "## Channels\n"
    "- mobile app\n"
    "- web *portal*\n"
    "  - nested item\n"
    "1. first\n"
    "2. second\n"
    "\n"
    "| Service | Fee |\n"
    "|---|---:|\n"
    "| CNIC | 400 |\n"
    "\n"
    "```\n"
    "if a < b: print(a)\n"
    "```\n"
    "> A quoted line\n"
    "\n"
    "Setext title\n"
    "============\n"
    "\n"
    "***\n"
)
MARK = re.compile(r'<mark class="hl-(answer|cited)"( id="hl")?>(.*?)</mark>', re.S)


def marks(page: str) -> list[tuple[str, str, bool]]:
    return [(m.group(1), html.unescape(m.group(3)), bool(m.group(2))) for m in MARK.finditer(page)]


def test_markdown_blocks_and_inline_styles_are_rendered() -> None:
    page = str(render(DOC))
    assert page.startswith("<h2>Services</h2><p>Pehchaan is <strong>the digital identity</strong> service.")
    assert '<span class="link" title="https://kp.gov.pk/x_(y)">portal</span>.' in page
    assert "<code>code 8070</code> and snake_case_words." in page  # underscores inside words stay text
    nested = "<ul><li>nested item</li></ul>"
    assert f"<h3>Channels</h3><ul><li>mobile app</li><li>web <em>portal</em>{nested}</li></ul>" in page
    assert "<ol><li>first</li><li>second</li></ol>" in page
    assert (
        '<div class="table"><table><thead><tr><th>Service</th><th>Fee</th></tr></thead>'
        "<tbody><tr><td>CNIC</td><td>400</td></tr></tbody></table></div>"
    ) in page
    assert "<pre><code>if a &lt; b: print(a)</code></pre>" in page
    assert "<blockquote><p>A quoted line</p></blockquote>" in page
    assert page.endswith("<h2>Setext title</h2><hr>")
    assert "#" not in page and "**" not in page and "|" not in page and "```" not in page


def test_a_highlight_marks_exactly_its_characters_across_markup() -> None:
    start = DOC.index("is **the")
    end = DOC.index(" service.")
    page = str(render(DOC, 0, (Highlight(start, end, ANSWER),)))
    assert marks(page) == [("answer", "is ", True), ("answer", "the digital identity", False)]
    assert "<strong><mark" in page  # the mark sits inside the structure, which stays well nested


def test_the_answer_is_marked_strongly_inside_its_lightly_marked_sentence() -> None:
    s0, s1 = DOC.index("1. first"), DOC.index("second") + len("second")
    a0 = DOC.index("first")
    page = str(render(DOC, 0, (Highlight(a0, a0 + 5, ANSWER), Highlight(s0, s1, CITED))))
    assert marks(page) == [("answer", "first", True), ("cited", "second", False)]
    assert '<li><mark class="hl-answer" id="hl">first</mark></li><li><mark class="hl-cited">second</mark></li>' in page


def test_on_plain_text_every_range_is_marked_exactly() -> None:
    text = "Applications open every spring.\nThe cohort starts in July.\n\nFellows build tools."
    for start in range(len(text)):
        for end in range(start + 1, len(text) + 1):
            found = marks(str(render(text, 0, (Highlight(start, end, CITED),))))
            shown = "".join(t for _, t, _ in found)
            # Line breaks are structure (a paragraph's lines, blocks), not marked; every other character is.
            assert shown == text[start:end].replace("\n", "")
            assert sum(anchor for _, _, anchor in found) == (1 if found else 0)


def test_rendering_starts_at_the_body_and_drops_carriage_returns() -> None:
    text = "---\ntitle: T\n---\r\nFirst line\r\nsecond line\r\n"
    begin = text.index("First")
    assert str(render(text, begin)) == "<p>First line\nsecond line</p>"


def test_nothing_in_a_document_becomes_active() -> None:
    text = (
        "[click](javascript:alert(1)) ![tracker](https://remote.example/pixel.png) "
        '<img src="https://remote.example/x.png" onerror="alert(1)"> <script>alert(2)</script> '
        "<https://example.org/page> [x](data:text/html,hi)\n"
    )
    page = str(render(text))
    assert "<a " not in page and "<img" not in page and "<script" not in page and "href=" not in page
    assert '<span class="image">[image: tracker]</span>' in page
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page and "https://example.org/page" in page
    assert 'title="javascript:alert(1)"' in page  # the address is only a tooltip, never followed


def test_tables_as_the_extractors_write_them_are_tables() -> None:
    text = "Fee | Days\n200 | 7\n\nA title | with a bar\n"
    start = text.index("200")
    page = str(render(text, 0, (Highlight(start, start + 3, ANSWER),)))
    assert page.startswith('<div class="table"><table><tbody><tr><td>Fee</td><td>Days</td></tr>')
    assert '<tr><td><mark class="hl-answer" id="hl">200</mark></td><td>7</td></tr>' in page
    assert page.endswith("<p>A title | with a bar</p>")  # one such line alone is text


def test_a_hostile_line_does_not_hang_the_page() -> None:
    """Thousands of unclosed marks on one line: each style's body is bounded, so there is no quadratic scan
    (before, 20,000 of them took 5-27 s a line here, growing with the square; the subprocess is killed, and
    the test fails, after two minutes)."""
    code = (
        "from web.render import render\n"
        "for line in ('*x ' * 60000, '**x ' * 60000, '`x ' * 60000, '[x ' * 60000, '_x_y ' * 60000):\n"
        "    assert str(render(line)).startswith('<p>')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120, cwd=ROOT)


def test_regression_snippets_show_what_the_page_shows_not_raw_markdown(tmp_path: Path, embedder: Embedder) -> None:
    """Source snippets showed `[Digital Pakistan](https://…)` and `**` as typed."""
    text = "# Policy\n\nThe **Digital Pakistan** plan is on [the ministry's site](https://moitt.gov.pk/dp).\n"
    build([write_corpus(tmp_path / "docs", {"policy.md": text})], tmp_path / "idx", embedder=embedder)
    with local_client(create_app(Settings(index_dir=tmp_path / "idx", examples=0), embedder=embedder)) as client:
        page = client.get("/", params={"q": "Where is the Digital Pakistan plan?"}).text
    excerpts = re.findall(r'<p class="excerpt">(.*?)</p>', page, re.S)
    assert excerpts and "the ministry's site" in html.unescape(excerpts[0])
    assert all("](" not in html.unescape(e) and "**" not in e for e in excerpts)


def test_plain_text_drops_markup_and_keeps_every_word() -> None:
    shown = plain_text("## Fees\n- A [form](https://x.pk/f_(1)) costs **200** `PKR`\nItem | Fee\n> _note_")
    assert shown == "Fees\nA form costs 200 PKR\nItem · Fee\nnote"


def test_regression_lettered_items_are_the_list_items_chunking_cuts() -> None:
    """The page and chunking share one list-marker definition: "a)" and "(1)" items were a paragraph on the
    page while chunking cut them as items. Their markers stay in the text (an HTML list cannot show them)."""
    from index.chunking import segment
    from index.types import Document

    text = "Steps:\na) Register online\nb) Visit the office\n(1) Bring your CNIC\n• Pay the fee\n"
    page = str(render(text))
    items = [text[u.start : u.end] for u in segment(Document("d", "d", text, "T", "x")) if u.kind == "item"]
    assert items == ["Register online", "Visit the office", "Bring your CNIC", "Pay the fee"]
    assert (
        '<ul class="marked"><li>a) Register online</li><li>b) Visit the office</li><li>(1) Bring your CNIC</li></ul>'
        in page
    )
    assert "<ul><li>Pay the fee</li></ul>" in page  # a bullet is drawn by the list, not repeated
    marked = render(text, highlights=(Highlight(text.index("Visit"), text.index(" the office"), ANSWER),))
    assert re.search(r"<li>b\) <mark class=\"hl-answer\"[^>]*>Visit</mark> the office</li>", str(marked))
