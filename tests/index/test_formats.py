from __future__ import annotations

import logging
from pathlib import Path

import pytest

from eval.documents import Text, make_docx, make_html, make_pdf
from index.chunking import chunk
from index.errors import DocumentError
from index.formats import extract
from index.reader import read_documents
from tests.conftest import write_corpus

REPORT = [
    [
        Text("Digital Services Annual Report", size=16, bold=True),
        Text("Introduction", bold=True),
        "The Citizen Portal opened in 2021.",
        "It serves 1.2 million.",
    ],
    [],  # a scanned page: no text layer
    [Text("Budget", bold=True), "The budget for 2023 was 40 million rupees."],
]


def test_pdf_text_layer_title_and_outline_headings(caplog: pytest.LogCaptureFixture) -> None:
    data = make_pdf(REPORT, title="KP Report 2023", outline=[("Introduction", 0), ("Budget", 2)])
    with caplog.at_level(logging.WARNING):
        extracted = extract(Path("report.pdf"), data)
    assert extracted is not None and extracted.title == "KP Report 2023" and extracted.format == "pdf"
    assert "# Introduction\n\nThe Citizen Portal opened in 2021." in extracted.text
    assert "# Budget\n\nThe budget for 2023 was 40 million rupees." in extracted.text
    assert "report.pdf" in caplog.text and "page(s) 2 have no text layer" in caplog.text


def test_a_pdf_without_any_text_layer_is_reported_not_indexed_empty() -> None:
    with pytest.raises(DocumentError, match=r"scan\.pdf: has no text layer .*OCR"):
        extract(Path("scan.pdf"), make_pdf([[], []]))


@pytest.mark.parametrize(("name", "data"), [("broken.pdf", b"%PDF-1.4\nnot really"), ("broken.docx", b"PK\x03\x04xx")])
def test_a_damaged_file_is_an_error_naming_it(name: str, data: bytes) -> None:
    kind = name.rsplit(".", 1)[1].upper()
    with pytest.raises(DocumentError, match=rf"{name}: cannot be read as {kind}"):
        extract(Path(name), data)


def test_docx_headings_lists_and_tables_in_body_order() -> None:
    data = make_docx(
        [
            ("Heading 1", "Eligibility"),
            ("Normal", "Retired civil servants aged 60 may apply."),
            ("List Bullet", "CNIC copy"),
            ("List Bullet", "Service book"),
            ("Heading 2", "Fees"),
            ("table", "Form | Fee"),
        ],
        title="Pension guide",
    )
    extracted = extract(Path("pension.docx"), data)
    assert extracted is not None and extracted.title == "Pension guide"
    assert extracted.text == (
        "# Eligibility\n\nRetired civil servants aged 60 may apply.\n\n- CNIC copy\n- Service book\n\n"
        "## Fees\n\nForm | Fee\n"
    )


def test_html_main_text_without_navigation_scripts_or_footer() -> None:
    body = (
        "<h1>Domicile certificate</h1><p>Apply at the <b>district office</b> with two photos.</p>"
        "<h2>Fees</h2><ul><li>Normal: 200 rupees</li><li>Urgent: 500 rupees</li></ul>"
        "<p hidden>hidden text</p><div>Loose text.<p>Inner paragraph.</p></div>"
    )
    extracted = extract(Path("domicile.html"), make_html("Domicile | KP", body))
    assert extracted is not None and extracted.title == "Domicile | KP"
    assert extracted.text == (
        "# Domicile certificate\n\nApply at the district office with two photos.\n\n## Fees\n\n"
        "- Normal: 200 rupees\n- Urgent: 500 rupees\n\nLoose text.\n\nInner paragraph.\n"
    )
    for chrome in ("Menu item", "About us", "Follow us", "tracking", "color"):
        assert chrome not in extracted.text


def test_html_title_falls_back_to_h1_and_declared_charsets_are_honoured() -> None:
    page = "<html><head><meta charset='windows-1252'></head><body><h1>Café hours</h1><p>Open 9–5.</p></body>"
    extracted = extract(Path("cafe.htm"), page.encode("cp1252"))
    assert extracted is not None and extracted.title == "Café hours" and "Open 9–5." in extracted.text


def test_extracted_headings_feed_the_heading_path(tmp_path: Path) -> None:
    folder = write_corpus(tmp_path / "docs", {"report.pdf": make_pdf(REPORT, outline=[("Budget", 2)])})
    [doc] = read_documents([folder])
    assert doc.metadata["format"] == "pdf" and doc.title == "Digital Services Annual Report"
    budget = next(p for p in chunk(doc) if "40 million" in p.text)
    assert budget.heading_path == ("Budget",)
    assert doc.text[budget.start : budget.end] == budget.text


def test_skipped_files_are_named_with_their_reasons_in_one_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = write_corpus(
        tmp_path / "docs",
        {"good.md": "# Good\n\nReal text.\n", "LICENSE": "MIT", "page.mdx": "# x", "scan.pdf": make_pdf([[]])},
    )
    with caplog.at_level(logging.WARNING):
        docs = read_documents([folder])
    assert [d.doc_id for d in docs] == ["good.md"]
    [line] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert line.startswith("skipped 3 files: ")
    for name, reason in (
        ("LICENSE", "unsupported type '(none)'"),
        ("page.mdx", "unsupported type '.mdx'"),
        ("scan.pdf", "has no text"),
    ):
        assert f"{name}: {reason}" in line


def test_regression_a_file_name_that_is_not_utf8_is_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """It crashed `qa index` ('surrogates not allowed') after all the embedding work."""
    folder = write_corpus(tmp_path / "docs", {"good.md": "# Good\n\nReal text.\n"})
    bad = folder / b"bad\xffname.md".decode("utf-8", "surrogateescape")
    bad.write_text("x\n")
    with caplog.at_level(logging.WARNING):
        docs = read_documents([folder])
    assert [d.doc_id for d in docs] == ["good.md"]
    assert "bad\\xffname.md: its name is not valid UTF-8; rename it" in caplog.text
    with pytest.raises(DocumentError, match=r"bad\\xffname\.md: its name is not valid UTF-8"):
        read_documents([bad])
