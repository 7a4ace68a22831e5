"""A folder as staff keep one (a PDF, a web page, a Word file, Markdown): indexed, answered, cited, highlighted."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from eval.documents import make_docx, make_html, make_pdf
from index.build import build
from index.embed import Embedder
from index.store import Index
from qa.settings import Settings
from tests.conftest import write_corpus
from tests.web.conftest import local_client
from tests.web.test_app import _marks
from web.app import create_app

FILES = {
    "budget.pdf": make_pdf(
        [
            ["Provincial IT budget", "Spending"],
            ["The Khyber Pakhtunkhwa IT Board spent 40 million rupees on broadband for schools in 2023."],
        ],
        title="Provincial IT budget 2023",
        outline=[("Spending", 0)],
    ),
    "domicile.html": make_html(
        "Domicile certificate",
        "<h1>Domicile certificate</h1><p>A domicile certificate is issued by the Deputy Commissioner's office "
        "within seven working days.</p><h2>Documents needed</h2><ul><li>Copy of CNIC</li><li>Two photographs</li>"
        "</ul><table><tr><th>Fee</th><th>Days</th></tr><tr><td>200</td><td>7</td></tr></table>",
    ),
    "pension.docx": make_docx(
        [
            ("Heading 1", "Pension rules"),
            ("Normal", "A retired teacher receives the pension from the District Accounts Office in Mardan."),
            ("List Bullet", "Service book"),
            ("List Bullet", "Last pay certificate"),
            ("table", "Form|Office"),
        ],
        title="Pension rules",
    ),
    "parks.md": "# Parks\n\nThe Peshawar zoo opens at eight in the morning and closes at sunset.\n",
}

QUESTIONS = {
    "budget.pdf": ("How much did the IT Board spend on broadband for schools?", "40 million rupees"),
    "domicile.html": ("Who issues a domicile certificate?", "Deputy Commissioner"),
    "pension.docx": ("Which office pays the pension of a retired teacher?", "District Accounts Office"),
    "parks.md": ("When does the Peshawar zoo open?", "eight"),
}


@pytest.fixture(scope="module")
def formats_index(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Path:
    folder = tmp_path_factory.mktemp("formats")
    build([write_corpus(folder / "docs", FILES)], folder / "idx", embedder=embedder)
    return folder / "idx"


@pytest.fixture(scope="module")
def formats_client(formats_index: Path, embedder: Embedder) -> Iterator[TestClient]:
    with local_client(create_app(Settings(index_dir=formats_index), embedder=embedder)) as c:
        yield c


def test_every_format_is_indexed_with_its_title_and_format(formats_index: Path) -> None:
    index = Index.load(formats_index)
    assert {d: (index.documents[d].title, index.documents[d].metadata.get("format")) for d in FILES} == {
        "budget.pdf": ("Provincial IT budget 2023", "pdf"),
        "domicile.html": ("Domicile certificate", "html"),
        "pension.docx": ("Pension rules", "docx"),
        "parks.md": ("Parks", None),
    }
    spending = next(p for p in index.passages if "40 million" in p.text)
    assert spending.heading_path == ("Spending",)


@pytest.mark.parametrize("doc_id", list(QUESTIONS))
def test_a_question_from_each_format_is_answered_and_highlighted(
    formats_client: TestClient, formats_index: Path, doc_id: str
) -> None:
    question, expected = QUESTIONS[doc_id]
    body = formats_client.post("/ask", json={"question": question}).json()
    answer = body["answer"]
    assert answer is not None, body
    assert answer["doc_id"] == doc_id and expected in answer["sentence"]["text"]
    doc = Index.load(formats_index).documents[doc_id]
    assert doc.text[answer["start"] : answer["end"]] == answer["text"]
    sentence = answer["sentence"]
    params = {"start": answer["start"], "end": answer["end"], "from": sentence["start"], "to": sentence["end"]}
    page = formats_client.get(f"/doc/{doc_id}", params=params)
    assert page.status_code == 200
    marks = _marks(page.text)
    assert "".join(text for kind, text, _ in marks if kind == "answer") == answer["text"]
    assert [kind for kind, _, anchor in marks if anchor] == ["answer"]  # the page opens at the answer


@pytest.mark.parametrize(
    ("doc_id", "structure"),
    [
        ("budget.pdf", ["<h2>Spending</h2>"]),
        (
            "domicile.html",
            [
                "<h3>Documents needed</h3>",
                "<ul><li>Copy of CNIC</li><li>Two photographs</li></ul>",
                "<tr><td>Fee</td><td>Days</td></tr><tr><td>200</td><td>7</td></tr>",
            ],
        ),
        ("pension.docx", ["<h2>Pension rules</h2>", "<ul><li>Service book</li><li>Last pay certificate</li></ul>"]),
    ],
)
def test_the_document_page_shows_each_formats_structure(
    formats_client: TestClient, doc_id: str, structure: list[str]
) -> None:
    page = formats_client.get(f"/doc/{doc_id}").text
    for html_part in structure:
        assert html_part in page
