"""A real headless Chromium (Debian's, never a downloaded one) with JavaScript off, against a live uvicorn."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from index.store import Index
from qa.feedback import FeedbackStore, export_cases, feedback_path
from tests.web.conftest import CHROMIUM

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"{CHROMIUM} is absent: install Debian's chromium (.ci/run does)"
)


def test_ask_read_the_answer_and_follow_the_citation(browser: Any, live_server: str, index: Index) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(java_script_enabled=False, viewport={"width": 1000, "height": 800})
    context.set_default_timeout(30_000)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    try:
        page.goto(live_server + "/")
        box = page.get_by_label("Ask a question about the documents")
        expect(box).to_be_focused()  # autofocus
        box_question = "How many passengers does the Peshawar BRT carry a day?"
        box.fill(box_question)
        with page.expect_navigation():
            box.press("Enter")
        assert urlsplit(page.url).path == "/" and parse_qs(urlsplit(page.url).query)["q"]

        answer = page.locator(".answer-text")
        expect(answer).to_be_visible()
        assert answer.inner_text().strip() and "These documents don't say." not in answer.inner_text()
        expect(page.locator(".sentence mark")).to_have_text(answer.inner_text().strip())
        expect(page.locator(".confidence")).to_contain_text("%")
        # The band the page shows is the one /ask gives.
        asked = page.request.post(live_server + "/ask", data={"question": box_question})
        band = asked.json()["answer"]["band"]
        if band == "sure":
            expect(page.locator(".band")).to_have_count(0)
        else:
            expect(page.locator(".band")).to_have_text("Possible answer — check the source")

        answer_text = answer.inner_text().strip()
        first = page.locator("a.citation").first
        expect(first).to_have_text("Peshawar BRT annual report")
        first.click()
        page.wait_for_load_state()
        url = urlsplit(page.url)
        assert url.path == "/doc/transit/brt.md" and url.fragment == "hl"
        params = parse_qs(url.query)
        start, end = int(params["start"][0]), int(params["end"][0])
        doc = index.documents["transit/brt.md"]

        # Both highlights, from the offsets in the link: the answer strongly, the passage around it lightly.
        mark = page.locator("mark#hl")
        expect(mark).to_have_count(1)
        assert mark.text_content() == doc.text[start:end] == answer_text
        assert "answer" in (mark.get_attribute("class") or "")
        cited = "".join(page.locator(".doc-body mark").all_text_contents())
        assert "250,000" in cited and doc.text[start:end] in cited and len(cited) > end - start
        expect(mark).to_be_in_viewport()  # the #hl fragment scrolled it into view, far down the page
        expect(page.locator("h1")).not_to_be_in_viewport()  # ... and the top of the page out of it
        expect(page.locator(".doc-body h3", has_text="Ridership")).to_have_count(1)  # rendered, not "## ..."

        back = page.get_by_role("link", name="Back to the answer")
        expect(back).to_be_in_viewport()  # it stays at the top while the document scrolls
        back.click()
        page.wait_for_load_state()
        expect(page.locator(".answer-text")).to_have_text(answer.inner_text())

        # Say it is wrong, with a note: a plain form, no JavaScript; the case is stored beside the index.
        page.get_by_label("If it is wrong, what is the right answer? (optional)").fill("about 250,000")
        with page.expect_navigation():
            page.get_by_role("button", name="Wrong").click()
        expect(page.locator("h1")).to_have_text("Thank you")
        rows = FeedbackStore(feedback_path(index.path)).rows()
        assert rows[-1]["verdict"] == "wrong" and rows[-1]["note"] == "about 250,000"
        assert export_cases(rows)[-1]["review"] is True
        assert not problems, problems  # no CSP violations, no missing stylesheet or icon
    finally:
        context.close()


def test_openapi_docs_render_offline(browser: Any, live_server: str) -> None:
    """/docs must work on an air-gapped machine: Swagger UI comes from the app, never from a CDN."""
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1000, "height": 800})  # Swagger UI needs JavaScript
    context.set_default_timeout(30_000)
    page = context.new_page()
    elsewhere: list[str] = []
    page.on("request", lambda r: elsewhere.append(r.url) if not r.url.startswith(live_server) else None)
    try:
        page.goto(live_server + "/docs")
        expect(page.locator(".opblock-summary-path", has_text="/ask")).to_be_visible()
        assert not elsewhere, elsewhere
    finally:
        context.close()
