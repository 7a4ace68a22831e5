"""The web app over a real index (real model, real FAISS) of a tiny corpus: API, pages, errors."""

from __future__ import annotations

import html
import http.client
import re
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import qa.answer
from index.build import build
from index.embed import Embedder
from index.errors import IndexCorruptError, InvalidQueryError
from index.store import Index
from qa.settings import Settings
from qa.types import Result
from tests.conftest import write_corpus
from tests.web.conftest import SCRIPT, local_client
from web.app import create_app

QUESTION = "What is the SMS short code of Pehchaan?"
ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"
JSON = {"content-type": "application/json"}
MARK = re.compile(r'<mark class="hl-(answer|cited)"( id="hl")?>(.*?)</mark>', re.S)
DOC_BODY = re.compile(r'<div class="doc-body">(.*)</div>\s*</article>', re.S)
TAG = re.compile(r"<[^>]+>")
# What the document page shows of pehchaan.md (THREE_DOCS): its blocks' text, without front matter or markup.
PEHCHAAN_SHOWN = (
    "Pehchaan"
    "Pehchaan is the digital identity service of Khyber Pakhtunkhwa. Citizens sign in once and reach every "
    "provincial e-service."
    "Channels"
    "Available channels:"
    "mobile appweb portalSMS short code 8070"
)


def ask(client: TestClient, question: str = QUESTION, **extra: Any) -> dict[str, Any]:
    response = client.post("/ask", json={"question": question, **extra})
    assert response.status_code == 200, response.text
    return response.json()


def test_healthz_and_search(client: TestClient, index: Index) -> None:
    health = client.get("/healthz").json()
    assert health["documents"] == len(index.documents) == 5
    assert health["passages"] == len(index.passages) and health["model"] == index.model_name
    assert health["store"] == "flat-ip" and health["lexical"] == "local"
    assert health["built_at"] and health["reader"].startswith("civic-qa reader")
    rows = client.get("/search", params={"q": "identity short code", "k": 2}).json()
    assert rows[0]["doc_id"] == "pehchaan.md" and len(rows) == 2
    for q, k in (("", 2), ("x", 0), ("x", 21), ("x", "two"), ("   ", 2)):
        response = client.get("/search", params={"q": q, "k": k})
        assert response.status_code == 422 and isinstance(response.json()["detail"], str)


def test_ask_answers_with_offsets_into_the_document(client: TestClient, index: Index) -> None:
    body = ask(client, top_k=3)
    assert body["question"] == QUESTION and body["no_answer"] is False
    answer = body["answer"]
    doc = index.document(answer["doc_id"])
    assert doc is not None and answer["doc_id"] == "pehchaan.md" and answer["title"] == "Pehchaan"
    assert answer["text"] == doc.text[answer["start"] : answer["end"]] and "8070" in answer["text"]
    sentence = answer["sentence"]
    assert sentence["text"] == doc.text[sentence["start"] : sentence["end"]]
    assert sentence["start"] <= answer["start"] < answer["end"] <= sentence["end"]
    assert 0 <= answer["confidence"] <= 1 and body["took_ms"] > 0
    assert 1 <= len(body["passages"]) <= 3
    for p in body["passages"]:
        assert p["text"] == index.document(p["doc_id"]).text[p["start"] : p["end"]]
        assert p["title"] and "date" in p and isinstance(p["score"], float)


def test_ask_strips_the_question_and_honours_top_k(client: TestClient) -> None:
    body = ask(client, f"  {QUESTION}\n", top_k=1)
    assert body["question"] == QUESTION and len(body["passages"]) == 1
    raw = b'{"question": "What is Pehchaan?", "top_k": 2}'
    response = client.post("/ask", content=raw, headers={"content-type": "application/json; charset=utf-8"})
    assert response.status_code == 200 and len(response.json()["passages"]) == 2


BAD_REQUESTS: list[tuple[str, dict[str, Any], int, str]] = [
    ("empty question", {"json": {"question": ""}}, 422, "empty"),
    ("blank question", {"json": {"question": " \n\t "}}, 422, "empty"),
    ("long question", {"json": {"question": "why " * 251}}, 422, "at most 1000 characters"),
    ("question not a string", {"json": {"question": 42}}, 422, "must be a string"),
    ("question null", {"json": {"question": None}}, 422, "must be a string"),
    ("no question", {"json": {"top_k": 3}}, 422, "`question` is required"),
    ("unknown field", {"json": {"question": "x", "k": 3}}, 422, "`k` is not a field"),
    ("top_k zero", {"json": {"question": "x", "top_k": 0}}, 422, "from 1 to 20"),
    ("top_k negative", {"json": {"question": "x", "top_k": -3}}, 422, "from 1 to 20"),
    ("top_k too big", {"json": {"question": "x", "top_k": 21}}, 422, "from 1 to 20"),
    ("top_k huge", {"json": {"question": "x", "top_k": 10**30}}, 422, "from 1 to 20"),
    ("top_k string", {"json": {"question": "x", "top_k": "5"}}, 422, "whole number"),
    ("top_k float", {"json": {"question": "x", "top_k": 2.5}}, 422, "whole number"),
    ("top_k bool", {"json": {"question": "x", "top_k": True}}, 422, "whole number"),
    ("top_k null", {"json": {"question": "x", "top_k": None}}, 422, "whole number"),
    ("malformed JSON", {"content": b'{"question": "x"', "headers": JSON}, 422, "JSON"),
    ("not UTF-8", {"content": b'{"question": "\xff"}', "headers": JSON}, 400, "UTF-8"),
    (
        "lone surrogate",
        {"content": rb'{"question": "\ud800?"}', "headers": JSON},
        422,
        "",
    ),
    ("JSON array", {"json": ["x"]}, 422, "JSON object"),
    ("JSON string", {"json": "x"}, 422, "JSON object"),
    ("empty body", {"content": b"", "headers": JSON}, 422, ""),
    ("text/plain", {"content": b'{"question": "x"}', "headers": {"content-type": "text/plain"}}, 415, "JSON"),
    ("form", {"data": {"question": "x"}}, 415, "application/json"),
    ("no content type", {"content": b'{"question": "x"}'}, 415, "application/json"),
]


@pytest.mark.parametrize(("case", "kwargs", "status", "says"), BAD_REQUESTS, ids=[c[0] for c in BAD_REQUESTS])
def test_ask_rejects_bad_requests_with_a_readable_detail(
    client: TestClient, case: str, kwargs: dict[str, Any], status: int, says: str
) -> None:
    response = client.post("/ask", **kwargs)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    detail = response.json()["detail"]
    assert isinstance(detail, str) and detail.endswith(".") and says in detail
    assert "Traceback" not in detail and "{'" not in detail


@pytest.mark.parametrize(
    ("error", "status"),
    [(InvalidQueryError("the question has no words to search for"), 422), (IndexCorruptError("idx", "broken"), 503)],
)
def test_domain_errors_map_to_http_codes(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, error: Exception, status: int
) -> None:
    def fail(*args: Any, **kwargs: Any) -> list[Result]:
        raise error

    monkeypatch.setattr(qa.answer, "answer", fail)  # what the assistant asks through
    response = client.post("/ask", json={"question": "why?"})
    assert response.status_code == status and response.json() == {"detail": str(error)}
    page = client.get("/", params={"q": "why?"})
    assert page.status_code == status and page.headers["content-type"].startswith("text/html")
    assert html.escape(str(error)) in page.text and 'href="/"' in page.text


def test_other_errors_are_json_too(client: TestClient) -> None:
    response = client.get("/ask")
    assert response.status_code == 405 and isinstance(response.json()["detail"], str)
    response = client.get("/nowhere", headers={"accept": "application/json"})
    assert response.status_code == 404 and "/nowhere" in response.json()["detail"]


def test_openapi_declares_ask_with_its_models(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    post = schema["paths"]["/ask"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/AskRequest")
    responses = post["responses"]
    assert responses["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/AskResponse")
    assert responses["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/ValidationErrorOut")
    assert responses["415"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorOut")
    models = schema["components"]["schemas"]
    request = models["AskRequest"]["properties"]
    assert request["question"]["maxLength"] == 1000 and request["top_k"]["maximum"] == 20
    assert {"question", "no_answer", "answer", "passages", "took_ms"} <= set(models["AskResponse"]["properties"])
    assert {"text", "doc_id", "title", "start", "end", "confidence", "sentence"} <= set(
        models["AnswerOut"]["properties"]
    )
    assert models["ErrorOut"]["properties"]["detail"]["type"] == "string"
    assert "/" not in schema["paths"] and not any(p.startswith("/doc/") for p in schema["paths"])  # pages
    assert "band" in models["AnswerOut"]["required"] and "/documents" in schema["paths"]


def test_home_page_is_a_labelled_search_box(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    page = response.text
    assert '<label for="q">' in page and 'id="q" name="q"' in page and "autofocus" in page
    assert '<meta name="viewport"' in page and '<form class="ask" action="/" method="get"' in page
    assert "<script" not in page.lower() and "style=" not in page


def test_answer_page_marks_the_answer_and_cites_passages(client: TestClient, index: Index) -> None:
    body = ask(client)
    answer, sentence = body["answer"], body["answer"]["sentence"]
    page = client.get("/", params={"q": QUESTION}).text
    assert f'value="{html.escape(QUESTION)}"' in page
    assert f"<strong>{round(answer['confidence'] * 100)}%</strong>" in page
    quote = re.search(r'<blockquote class="sentence">(.*?)</blockquote>', page, re.S)
    assert quote is not None
    before, marked = quote.group(1).split("<mark>", 1)
    marked, after = marked.split("</mark>", 1)
    cut_at, cut_end = answer["start"] - sentence["start"], answer["end"] - sentence["start"]
    assert html.unescape(marked) == answer["text"]
    assert html.unescape(before) == sentence["text"][:cut_at]
    assert html.unescape(after) == sentence["text"][cut_end:]

    links = re.findall(r'<a class="citation" href="([^"]+)">([^<]+)</a>\s*<span class="date">(.*?)</span>', page)
    assert len(links) == len(body["passages"])
    for href, title, date in links:
        url = urlsplit(html.unescape(href))
        doc = index.document(url.path.removeprefix("/doc/"))
        assert doc is not None and html.unescape(title) == doc.title and url.fragment == "hl"
        assert (doc.date or "undated") in date
        params = parse_qs(url.query)
        assert params["q"] == [QUESTION] and int(params["from"][0]) < int(params["to"][0])
    # The first source is the passage the answer was read from: it marks the passage and the answer in it.
    first = parse_qs(urlsplit(html.unescape(links[0][0])).query)
    assert any(
        p["doc_id"] == answer["doc_id"] and [str(p["start"])] == first["from"] and [str(p["end"])] == first["to"]
        for p in body["passages"]
    )
    assert (first["start"], first["end"]) == ([str(answer["start"])], [str(answer["end"])])


def test_no_answer_page_says_so_and_shows_related_passages(client: TestClient) -> None:
    question = "Who won the cricket world cup?"
    body = client.post("/ask", json={"question": question}).json()
    assert body["no_answer"] is True and body["answer"] is None and body["passages"]
    page = client.get("/", params={"q": question}).text
    assert "These documents don't say." in page and "Related passages" in page
    # Passages the question barely touches (dense cosine under SOURCE_FLOOR) are not listed; one always is.
    assert 1 <= len(re.findall(r'<a class="citation"', page)) < len(body["passages"]) and "<mark" not in page


def test_page_question_errors_show_the_form_again(client: TestClient) -> None:
    response = client.get("/", params={"q": "w" * 1001})
    assert response.status_code == 422 and "at most 1000 characters" in response.text
    assert 'aria-invalid="true"' in response.text and 'role="alert"' in response.text
    response = client.get("/", params={"q": "   "})
    assert response.status_code == 422 and "The question is empty" in response.text


def test_untrusted_text_renders_inert(client: TestClient, index: Index) -> None:
    question = f"What does the complaint portal {SCRIPT} accept?"
    answer_page = client.get("/", params={"q": question})
    assert answer_page.status_code == 200
    assert SCRIPT not in answer_page.text and "<script" not in answer_page.text.lower()
    assert f"What does the complaint portal {ESCAPED_SCRIPT} accept?" in answer_page.text
    assert ESCAPED_SCRIPT in answer_page.text  # the document's title and passage, cited

    doc = index.document("unsafe.md")
    assert doc is not None and SCRIPT in doc.title
    start = doc.text.index(SCRIPT, doc.text.index("portal"))
    page = client.get("/doc/unsafe.md", params={"start": start, "end": start + len(SCRIPT), "q": question}).text
    assert "<script" not in page.lower()
    assert f"<h1>Notes {ESCAPED_SCRIPT}</h1>" in page
    assert f'<mark class="hl-answer" id="hl">{ESCAPED_SCRIPT}</mark>' in page
    assert "&#34;quotes&#34; &amp; &lt;b&gt;tags&lt;/b&gt;" in page


def _shown(page: str) -> str:
    """The text the document page shows: its body without tags, unescaped."""
    body = DOC_BODY.search(page)
    assert body is not None
    return html.unescape(TAG.sub("", body.group(1)))


def _marks(page: str) -> list[tuple[str, str, bool]]:
    """The document page's marks in order: (kind, text, whether it is the ``#hl`` anchor)."""
    body = DOC_BODY.search(page)
    assert body is not None
    found = MARK.finditer(body.group(1))
    return [(m.group(1), html.unescape(TAG.sub("", m.group(3))), bool(m.group(2))) for m in found]


def test_document_page_marks_the_answer_and_its_sentence_from_offsets(client: TestClient, index: Index) -> None:
    doc = index.document("transit/brt.md")
    assert doc is not None
    sentence = "The Peshawar BRT carries about 250,000 passengers a day on its Zu buses."
    s0 = doc.text.index(sentence)
    a0 = doc.text.index("about 250,000")
    params = {"start": a0, "end": a0 + len("about 250,000"), "from": s0, "to": s0 + len(sentence)}
    response = client.get(f"/doc/{doc.doc_id}", params=params)
    assert response.status_code == 200
    marks = _marks(response.text)
    assert marks == [
        ("cited", "The Peshawar BRT carries ", False),
        ("answer", "about 250,000", True),
        ("cited", " passengers a day on its Zu buses.", False),
    ]
    # One character in, one out: the cut follows the offsets, not the words.
    page = client.get(f"/doc/{doc.doc_id}", params={"from": s0 + 1, "to": s0 + len(sentence) - 1}).text
    assert _marks(page) == [("cited", sentence[1:-1], True)]
    # A range across a heading and the paragraph under it is marked in both, without the markup.
    h0 = doc.text.index("## Ridership")
    page = client.get(f"/doc/{doc.doc_id}", params={"from": h0, "to": s0 + len(sentence)}).text
    assert _marks(page) == [("cited", "Ridership", True), ("cited", sentence, False)]
    assert "<h3><mark" in page and "##" not in _shown(page)


def test_document_page_renders_markdown_structure(client: TestClient) -> None:
    page = client.get("/doc/pehchaan.md").text
    assert "<h2>Pehchaan</h2>" in page and "<h3>Channels</h3>" in page
    assert "<ul><li>mobile app</li><li>web portal</li><li>SMS short code 8070</li></ul>" in page
    assert _shown(page) == PEHCHAAN_SHOWN and _marks(page) == []


@pytest.mark.parametrize(
    ("start", "end"),
    [("5", "5"), ("9", "3"), ("-1", "4"), ("0", "999999"), ("a", "4"), ("1.5", "4"), ("٣", "9"), ("3", None), ("", "")],
)
def test_document_page_ignores_a_bad_range(client: TestClient, index: Index, start: str, end: str | None) -> None:
    params = {"start": start} if end is None else {"start": start, "end": end}
    response = client.get("/doc/pehchaan.md", params=params)
    assert response.status_code == 200 and "<mark" not in response.text
    assert "not in this document" in response.text
    assert _shown(response.text) == PEHCHAAN_SHOWN


def test_document_page_resolves_aliases_and_links_back(client: TestClient, index: Index) -> None:
    assert index.aliases == {"copy/pehchaan.md": "pehchaan.md"}
    page = client.get("/doc/copy/pehchaan.md", params={"q": "a & b"}).text
    assert "<h1>Pehchaan</h1>" in page and '<a href="/?q=a+%26+b">' in page
    assert _shown(page) == PEHCHAAN_SHOWN and _marks(page) == []


@pytest.mark.parametrize(
    "path", ["/doc/nope.md", "/doc/", "/doc/%2E%2E/unsafe.md", "/doc/copy/%2e%2e/unsafe.md", "/doc/..%2Funsafe.md"]
)
def test_unknown_documents_get_an_html_404(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404 and response.headers["content-type"].startswith("text/html")
    assert "Page not found" in response.text and '<a href="/">' in response.text


def test_dot_dot_sent_raw_gets_an_html_404(live_server: str) -> None:
    """A client that does not normalise the path (curl --path-as-is) reaches the route with ``..``."""
    url = urlsplit(live_server)
    for path in ("/doc/../unsafe.md", "/doc/copy/../../unsafe.md", "/doc/..", "/../etc/passwd"):
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
        conn.request("GET", path, headers={"Accept": "text/html"})
        response = conn.getresponse()
        body = response.read().decode()
        conn.close()
        assert response.status == 404, path
        assert response.getheader("content-type", "").startswith("text/html") and '<a href="/">' in body


def test_security_headers(client: TestClient) -> None:
    for path in ("/", f"/?q={QUESTION}", "/doc/pehchaan.md?start=1&end=5", "/doc/nope", "/nowhere"):
        response = client.get(path, headers={"accept": "text/html"})
        csp = response.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "script-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert "style-src 'self'" in csp and response.headers["x-content-type-options"] == "nosniff"
    for path in ("/healthz", "/static/style.css"):
        response = client.get(path)
        assert response.status_code == 200 and response.headers["x-content-type-options"] == "nosniff"
    assert client.get("/static/style.css").headers["content-type"].startswith("text/css")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(question=st.text(max_size=1200))
def test_any_question_text_gets_a_quoted_answer_an_abstention_or_a_422(
    client: TestClient, index: Index, question: str
) -> None:
    """What a question says, fuzzed: any text, to the answer. (The shape of every request, JSON values of
    every kind included, is fuzzed from the OpenAPI schema in test_fuzz.py.)"""
    response = client.post("/ask", json={"question": question})
    assert response.status_code in (200, 422), response.text
    body = response.json()
    if response.status_code == 422:
        assert isinstance(body["detail"], str) and body["detail"]
        return
    answer = body["answer"]
    if answer is None:
        assert body["no_answer"] is True
    else:
        assert index.documents[answer["doc_id"]].text[answer["start"] : answer["end"]] == answer["text"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(q=st.text(max_size=1100), start=st.text(max_size=6), end=st.text(max_size=6))
def test_no_page_query_gets_a_5xx(client: TestClient, q: str, start: str, end: str) -> None:
    assert client.get("/", params={"q": q}).status_code < 500
    assert client.get("/doc/pehchaan.md", params={"start": start, "end": end, "q": q}).status_code == 200


def test_regression_serve_reads_the_index_it_checked_only_once(
    web_index: Path, index: Index, embedder: Embedder, tmp_path: Path
) -> None:
    """`qa serve` loaded the whole index to check it, then the app loaded it again."""
    with local_client(create_app(Settings(index_dir=web_index), embedder=embedder, index=index)) as c:
        assert c.app.state.qa.assistant.retriever.index is index
        assert ask(c)["answer"] is not None
    elsewhere = tmp_path / "copy"
    shutil.copytree(web_index, elsewhere)
    with local_client(create_app(Settings(index_dir=elsewhere), embedder=embedder, index=index)) as c:
        served = c.app.state.qa.assistant.retriever.index
        assert served is not index and served.path.resolve() == elsewhere.resolve()  # another folder: loaded


def test_the_document_page_shows_the_body_not_the_date_line_or_front_matter(client: TestClient, index: Index) -> None:
    for doc_id, hidden in (("fellowship.txt", " date 2019-03-01"), ("pehchaan.md", "title: Pehchaan")):
        doc = index.document(doc_id)
        assert doc is not None and doc.body_start > 0
        text = _shown(client.get(f"/doc/{doc_id}").text)
        assert hidden not in text and text.startswith(("Pehchaan", "The Fellowship Program places"))
        passage = next(p for p in index.passages if p.doc_id == doc_id)
        page = client.get(f"/doc/{doc_id}", params={"from": passage.start, "to": passage.end}).text
        assert _shown(page) == text and _marks(page)[0][2]
    assert '<time datetime="2019-03-01">' in client.get("/doc/fellowship.txt").text


def test_a_date_written_in_the_opening_is_the_documents_date() -> None:
    from index.reader import parse_document

    doc = parse_document("post.md", "post.md", "Civic tech surgery\n\n2 min readNov 1, 2021\n\nA panel met.\n")
    assert doc.date == "2021-11-01"
    assert parse_document("x.md", "x.md", "On Feb 30, 2021 nothing happened.").date is None


def test_a_possible_answer_says_check_the_source_and_shows_its_sentence_first(client: TestClient, index: Index) -> None:
    from qa.answer import Reader, read
    from qa.confidence import default_confidence
    from web.deps import templates
    from web.views import present

    (reading,), _ = read([QUESTION], client.app.state.qa.assistant.retriever)
    lenient = default_confidence().with_cost(0.05)  # answers from 5% confidence up
    pages = {}
    for sure, band in ((0.0, "sure"), (None, "possible")):
        result = Reader(index, confidence=lenient.with_sure(sure)).decide(reading)
        assert result.answer is not None and result.answer.band == band
        view = present(result, index, 1.0)
        pages[band] = templates.env.get_template("index.html").render(
            question=QUESTION, max_chars=1000, documents=5, view=view, error=None, feedback=True
        )
    assert "Possible answer — check the source" in pages["possible"]
    for band, page in pages.items():  # the sentence first when possible, the answer first when sure
        first_sentence = page.index('class="sentence"') < page.index('<p class="answer-text">')
        assert first_sentence == (band == "possible"), band
    assert "Possible answer" not in pages["sure"]
    body = ask(client)
    if body["answer"] is not None:  # /ask and the page show the same band
        page = client.get("/", params={"q": QUESTION}).text
        assert body["answer"]["band"] in ("sure", "possible")
        assert ("Possible answer — check the source" in page) == (body["answer"]["band"] == "possible")


def test_documents_are_listed_on_the_home_page_and_as_json(client: TestClient, index: Index) -> None:
    body = client.get("/documents").json()
    assert body["total"] == len(index.documents) == len(body["documents"]) and body["offset"] == 0
    row = next(d for d in body["documents"] if d["doc_id"] == "fellowship.txt")
    assert row["date"] == "2019-03-01" and row["format"] == "txt" and row["words"] > 10 and row["passages"] >= 1
    assert client.get(row["href"]).status_code == 200
    page = client.get("/documents", params={"limit": 2, "offset": 1}).json()
    assert [d["doc_id"] for d in page["documents"]] == [d["doc_id"] for d in body["documents"][1:3]]
    assert client.get("/documents", params={"limit": 0}).status_code == 422
    home = client.get("/").text
    for d in body["documents"]:
        assert f'<a href="{d["href"]}">{html.escape(d["title"], quote=False)}' in home.replace("&#34;", '"')


def test_the_home_page_offers_example_questions_that_are_answered(client: TestClient) -> None:
    examples = client.app.state.qa.examples
    assert 1 <= len(examples) <= 4
    home = client.get("/").text
    for question in examples:
        assert html.escape(question, quote=True) in home
        assert ask(client, question)["answer"] is not None, question


def test_an_abstention_suggests_rephrasing_and_names_the_closest_documents(client: TestClient) -> None:
    page = client.get("/", params={"q": "How much did the World Bank pay the hackathon winners in 1990?"}).text
    assert "These documents don't say." in page and "Try naming the programme" in page
    assert "The closest documents: <em>" in page


def test_overlapping_passages_of_a_document_are_one_source() -> None:
    from index.types import Passage
    from web.views import distinct_sources

    text = "One. Two. Three. Four."
    a, b, c = Passage("d", 0, 9, text[0:9]), Passage("d", 5, 16, text[5:16]), Passage("d", 10, 22, text[10:22])
    footer = Passage("e", 0, 9, "One.  Two.")  # the same words elsewhere: boilerplate shown once
    assert distinct_sources([a, b, c, footer]) == [a, c]


def test_boilerplate_passages_do_not_crowd_out_real_sources(tmp_path: Path, embedder: Embedder) -> None:
    """A footer that stands in every document makes passages of its own; the page does not list them
    among the sources while real passages are there (the API still returns what retrieval found)."""
    footer = "## Stay in touch\n\nFollow us on Twitter at @kpitb for updates.\nCall the helpline 1234 for support.\n"
    docs = {
        f"{name}.md": f"# {name.title()} office\n\n"
        + "".join(f"On day {i} the {name} office of the provincial IT board runs {service}. " for i in range(12))
        + "\n\n"
        + footer
        for name, service in (("swat", "land records"), ("mardan", "birth registration"), ("kohat", "vehicle tax"))
    }
    index = build([write_corpus(tmp_path / "docs", docs)], tmp_path / "idx", embedder=embedder)
    loaded = Index.load(tmp_path / "idx")
    assert "follow us on twitter at @kpitb for updates." in loaded.repeated_lines()
    footers = [p for p in loaded.passages if "Follow us" in p.text]
    assert len(footers) == 3 and all("office of the provincial" not in p.text for p in footers), index
    with local_client(create_app(Settings(index_dir=tmp_path / "idx", examples=0), embedder=embedder)) as c:
        question = "Which office runs vehicle tax, and how can I follow the board on Twitter?"
        body = c.post("/ask", json={"question": question}).json()
        assert sum("Follow us" in h["text"] for h in body["passages"]) >= 2  # retrieval finds the footers ...
        page = c.get("/", params={"q": question}).text
    excerpts = re.findall(r'<p class="excerpt">(.*?)</p>', page, re.S)
    answer = body["answer"]
    from_footer = answer is not None and answer["sentence"]["text"] in footer
    # ... the page lists the real passages, and a footer only as the passage the answer was read from.
    assert sum("Follow us" in e for e in excerpts) == (1 if from_footer else 0)
    assert any("office of the provincial" in e for e in excerpts)


def test_a_question_in_urdu_gets_the_pages_words_in_urdu_too(client: TestClient) -> None:
    page = client.get("/", params={"q": "پشاور بی آر ٹی میں روزانہ کتنے مسافر سفر کرتے ہیں؟"}).text
    assert (
        'class="question" dir="rtl" lang="ur"' in page
        and 'id="q"' in page
        and 'dir="auto"' in page.split('id="q"')[1][:200]
    )
    urdu = re.findall(r'<span class="urdu" lang="ur" dir="rtl">(.*?)</span>', page)
    assert urdu and all(re.search(r"[\u0600-\u06ff]", u) for u in urdu)
    assert "These documents don't say." in page or "Possible answer" in page  # the English stays beside it
    roman = client.get("/", params={"q": "Peshawar BRT roz kitne musafir le jati hai?"}).text
    assert re.search(r'<span class="urdu" lang="ur-Latn">[A-Za-z]', roman)
    english = client.get("/", params={"q": "How many passengers does the Peshawar BRT carry a day?"}).text
    assert 'class="urdu"' not in english
    body = client.post("/ask", json={"question": "Peshawar BRT roz kitne musafir le jati hai?"}).json()
    assert body["language"] == "ur-Latn"
