"""A PDF with headings, a fee table, running headers and two columns, end to end: indexed, a question about a
table cell answered with the cell, and the document page showing its headings and its table."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from eval.documents import handbook_pdf
from index.build import build
from index.embed import Embedder
from index.store import Index
from qa.answer import answer
from qa.retriever import Retriever
from qa.settings import Settings
from tests.conftest import write_corpus
from tests.web.conftest import local_client
from tests.web.test_app import _marks
from web.app import create_app

FILES = {
    "handbook.pdf": handbook_pdf(),
    "parks.md": "# Parks\n\nThe Peshawar zoo opens at eight in the morning and closes at sunset.\n",
}


@pytest.fixture(scope="module")
def pdf_index(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Path:
    folder = tmp_path_factory.mktemp("pdf")
    build([write_corpus(folder / "docs", FILES)], folder / "idx", embedder=embedder)
    return folder / "idx"


@pytest.fixture(scope="module")
def pdf_client(pdf_index: Path, embedder: Embedder) -> Iterator[TestClient]:
    with local_client(create_app(Settings(index_dir=pdf_index, examples=0), embedder=embedder)) as client:
        yield client


@pytest.mark.parametrize(
    ("question", "cell", "row"),
    [
        ("How much does a certificate copy cost?", "Rs. 300", "Certificate copy | Rs. 300 | 3"),
        ("What is the fee for late registration?", "Rs. 500", "Late registration | Rs. 500 | 7"),
    ],
)
def test_a_question_about_a_table_cell_is_answered_with_the_cell(
    pdf_index: Path, embedder: Embedder, question: str, cell: str, row: str
) -> None:
    retriever = Retriever(Index.load(pdf_index), embedder)
    [result] = answer([question], retriever)
    a = result.answer
    assert not result.no_answer and a is not None, result
    assert a.doc_id == "handbook.pdf" and a.text == cell
    doc = retriever.index.documents["handbook.pdf"]
    assert doc.text[a.start : a.end] == a.text
    assert a.sentence.text == row  # the sentence is the row: it runs into no other row nor the heading
    assert a.passage.heading_path == ("Birth registration", "Fees")


def test_no_passage_holds_the_running_header_or_footer(pdf_index: Path) -> None:
    index = Index.load(pdf_index)
    passages = [p.text for p in index.passages if p.doc_id == "handbook.pdf"]
    assert passages
    for chrome in ("District Services Handbook", "Page 1 of 3", "file:///", "1/3"):
        assert not any(chrome in text for text in passages), chrome


def test_the_document_page_shows_the_headings_and_the_table(pdf_client: TestClient) -> None:
    page = pdf_client.get("/doc/handbook.pdf").text
    for part in (
        "<h2>Birth registration</h2>",
        "<h3>Fees</h3>",
        "<h4>Documents needed</h4>",
        "<h3>Opening hours</h3>",
        "<h3>Water connections</h3>",
        "<tr><td>Service</td><td>Fee</td><td>Days</td></tr>",
        "<tr><td>Certificate copy</td><td>Rs. 300</td><td>3</td></tr>",
    ):
        assert part in page, part
    assert "file:///" not in page and "Page 1 of 3" not in page


def test_the_cell_is_highlighted_on_the_document_page(pdf_client: TestClient) -> None:
    body = pdf_client.post("/ask", json={"question": "How much does a certificate copy cost?"}).json()
    a = body["answer"]
    assert a is not None and a["doc_id"] == "handbook.pdf" and a["text"] == "Rs. 300", body
    sentence = a["sentence"]
    params = {"start": a["start"], "end": a["end"], "from": sentence["start"], "to": sentence["end"]}
    marks = _marks(pdf_client.get("/doc/handbook.pdf", params=params).text)
    assert "".join(text for kind, text, _ in marks if kind == "answer") == "Rs. 300"
