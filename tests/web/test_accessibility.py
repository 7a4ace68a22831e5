"""axe-core in a real Chromium on every kind of page, at phone and desktop widths: no serious violation.

axe-core is the npm package (MPL-2.0), installed by `.ci/run` into `.cache/axe-core/` (never committed);
without it this test is skipped and says how to install it. The pages themselves run no script: the
check is injected with the CSP bypassed, as a test harness.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest

from index.store import Index
from tests.conftest import ROOT
from tests.web.conftest import CHROMIUM

AXE = ROOT / ".cache" / "axe-core" / "node_modules" / "axe-core" / "axe.min.js"
INSTALL = "npm install --prefix .cache/axe-core axe-core@4.14.1"

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is absent: install Debian's chromium"),
    pytest.mark.skipif(not AXE.exists(), reason=f"{AXE} is absent: `{INSTALL}` (.ci/run does)"),
]


def pages(index: Index) -> dict[str, str]:
    brt = next(p for p in index.passages if "250,000" in p.text)
    a0 = brt.start + brt.text.index("250,000")
    return {
        "home": "/",
        "answer": "/?" + urlencode({"q": "How many passengers does the Peshawar BRT carry a day?"}),
        "abstention": "/?" + urlencode({"q": "How much did the World Bank pay the hackathon winners in 1990?"}),
        "urdu": "/?" + urlencode({"q": "پشاور بی آر ٹی میں روزانہ کتنے مسافر سفر کرتے ہیں؟"}),  # right to left
        "roman-urdu": "/?" + urlencode({"q": "Peshawar BRT roz kitne musafir le jati hai?"}),
        "document": f"/doc/{brt.doc_id}?start={a0}&end={a0 + 7}&from={brt.start}&to={brt.end}#hl",
        "error": "/doc/nope.md",
    }


@pytest.mark.parametrize("width", [390, 1280], ids=["phone", "desktop"])
def test_no_serious_accessibility_violation_on_any_page(
    browser: Any, live_server: str, index: Index, width: int
) -> None:
    context = browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    try:
        found: dict[str, list[str]] = {}
        for name, path in pages(index).items():
            page = context.new_page()
            page.goto(live_server + path)
            serious = serious_violations(page)
            if serious:
                found[name] = serious
            page.close()
        assert not found, found
    finally:
        context.close()


def serious_violations(page: Any) -> list[str]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_the_check_finds_a_violation_when_there_is_one(browser: Any) -> None:
    """The harness is not vacuous: an unlabelled field and an image without alt text are caught."""
    context = browser.new_context(bypass_csp=True)
    try:
        page = context.new_page()
        page.set_content('<html lang="en"><title>t</title><main><input type="text"><img src="x.png"></main></html>')
        found = " ".join(serious_violations(page))
        assert "label" in found and "image-alt" in found, found
    finally:
        context.close()
