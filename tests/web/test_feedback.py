"""Right / Wrong under an answer: a plain form, stored in SQLite beside the index, exported as eval cases."""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from eval.sets import load_eval_set
from index.embed import Embedder
from qa.cli import main
from qa.feedback import FeedbackStore, feedback_path
from qa.settings import Settings, get_settings
from tests.web.conftest import local_client
from web.app import create_app

QUESTION = "Which SMS short code reaches Pehchaan?"
FORM = {"content-type": "application/x-www-form-urlencoded"}


@pytest.fixture
def feedback_client(three_docs_index: Path, tmp_path: Path, embedder: Embedder) -> Any:
    shutil.copytree(three_docs_index, tmp_path / "idx")  # its own copy: the feedback is stored beside it
    with local_client(create_app(Settings(index_dir=tmp_path / "idx", examples=0), embedder=embedder)) as c:
        yield c


def form_of(page: str) -> dict[str, str]:
    """The hidden fields of the page's feedback form, as a browser would send them."""
    form = re.search(r'<form class="feedback" action="/feedback" method="post">(.*?)</form>', page, re.S)
    assert form is not None, "no feedback form under the answer"
    return {k: html.unescape(v) for k, v in re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', form.group(1))}


def test_right_and_wrong_are_stored_and_exported_as_eval_cases(
    feedback_client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    page = feedback_client.get("/", params={"q": QUESTION}).text
    assert "nothing is stored unless you send it" in page
    fields = form_of(page)
    assert fields["q"] == QUESTION and "8070" in fields["answer"]
    assert feedback_client.post("/feedback", data={**fields, "verdict": "right"}).status_code == 200
    sent = feedback_client.post("/feedback", data={**fields, "verdict": "wrong", "note": "  8070, by SMS "})
    assert sent.status_code == 200 and "Thank you" in sent.text and "Back to the answer" in sent.text

    store = FeedbackStore(feedback_path(tmp_path / "idx"))
    assert store.path == tmp_path / "idx.feedback.sqlite"  # beside the index: a rebuild never touches it
    assert [(r["verdict"], r["note"]) for r in store.rows()] == [("right", ""), ("wrong", "8070, by SMS")]

    monkeypatch.setenv("QA_INDEX_DIR", str(tmp_path / "idx"))
    get_settings.cache_clear()
    out = tmp_path / "cases.jsonl"
    assert main(["feedback", "export", "--out", str(out)]) == 0
    assert "2 cases" in capsys.readouterr().err
    get_settings.cache_clear()
    right, wrong = load_eval_set(out)  # ready for `qa eval --set`
    assert right.answers == (fields["answer"],) and right.doc == "pehchaan.md"
    assert wrong.answers == ("8070, by SMS",) and json.loads(out.read_text().splitlines()[1])["review"] is True


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"verdict": "maybe"}, 422),
        ({"answer": "an answer we never gave"}, 422),
        ({"start": "-1"}, 422),
        ({"doc": "nope.md"}, 422),
        ({"q": "\u200b"}, 422),
        ({"note": "x" * 501}, 422),
    ],
)
def test_bad_feedback_is_refused_with_a_page_not_stored(
    feedback_client: TestClient, tmp_path: Path, change: dict[str, str], status: int
) -> None:
    fields = form_of(feedback_client.get("/", params={"q": QUESTION}).text)
    response = feedback_client.post("/feedback", data={**fields, "verdict": "right", **change})
    assert response.status_code == status and "text/html" in response.headers["content-type"]
    assert FeedbackStore(feedback_path(tmp_path / "idx")).rows() == []


def test_feedback_is_rate_limited_and_must_be_a_form(feedback_client: TestClient) -> None:
    fields = {**form_of(feedback_client.get("/", params={"q": QUESTION}).text), "verdict": "right"}
    assert feedback_client.post("/feedback", json=fields).status_code == 415
    codes = [feedback_client.post("/feedback", data=fields).status_code for _ in range(22)]
    assert codes[:20] == [200] * 20 and codes[20:] == [429, 429]


def test_the_form_stands_under_an_abstention_and_a_wrong_there_is_a_missed_answer_for_review(
    feedback_client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = feedback_client.get("/", params={"q": "Who won the 1998 football world cup?"}).text
    assert "These documents don't say." in page and "Is it right that these documents don't say?" in page
    fields = form_of(page)
    assert fields == {"q": "Who won the 1998 football world cup?", "answer": "", "doc": "", "start": "", "end": ""}
    assert feedback_client.post("/feedback", data={**fields, "verdict": "right"}).status_code == 200
    assert feedback_client.post("/feedback", data={**fields, "verdict": "wrong"}).status_code == 200
    assert feedback_client.post("/feedback", data={**fields, "verdict": "wrong", "note": "France"}).status_code == 200
    # Half a form is not an abstention: an answer without its offsets is still refused.
    assert feedback_client.post("/feedback", data={**fields, "answer": "France", "verdict": "right"}).status_code == 422
    monkeypatch.setenv("QA_INDEX_DIR", str(tmp_path / "idx"))
    get_settings.cache_clear()
    out = tmp_path / "cases.jsonl"
    assert main(["feedback", "export", "--out", str(out)]) == 0
    get_settings.cache_clear()
    confirmed, missed, named = load_eval_set(out)
    assert not confirmed.answerable and not confirmed.review  # the documents really don't say
    assert missed.review and not missed.answerable  # a missed answer nobody has given yet: never "unanswerable"
    assert named.review and named.answers == ("France",) and named.doc is None
    assert json.loads(out.read_text().splitlines()[1])["reported_wrong"] == {"abstained": True}
