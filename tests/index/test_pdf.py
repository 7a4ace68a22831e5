"""PDFs read as documents with structure: headings, tables, paragraphs, columns, no running headers or footers.

Real extraction (pdfplumber) of PDFs written here (tests/documents.py) and, where Chromium is installed, of an
HTML page printed by it with its default header and footer.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest

from eval.documents import GUIDE_HTML, Text, handbook_pdf, make_pdf
from index.chunking import chunk, segment
from index.errors import DocumentError
from index.formats import extract
from index.pdf_margins import is_stamp
from index.reader import read_documents
from tests.conftest import write_corpus

HANDBOOK = (
    "# Birth registration\n\n"
    "A birth is registered at the Union Council office where the child was born. The parents bring the hospital "
    "slip and the CNIC of both parents to the district government office, which issues the birth certificate "
    "within seven working days.\n\n"
    "## Fees\n\n"
    "Service | Fee | Days\n"
    "Registration within 60 days | Free | 1\n"
    "Late registration | Rs. 500 | 7\n"
    "Certificate copy | Rs. 300 | 3\n\n"
    "### Documents needed\n\n"
    "Bring the original hospital slip. A copy is not accepted by the office.\n\n"
    "## Opening hours\n\n"
    "The Union Council office is open from nine in the morning to three in the afternoon, Monday to Friday. "
    "A self-service kiosk prints copies of certificates. The kiosk stands beside the self-service counter in "
    "the hall.\n\n"
    "## Water connections\n\n"
    "The water board connects a new house within thirty days of a complete application made at the nearest "
    "customer centre by the owner of the house.\n\n"
    "After the survey the board lays the pipe from the main line to the boundary wall of the house; the plumbing "
    "inside is the owner's responsibility.\n"
)


@pytest.fixture(scope="module")
def handbook() -> str:
    extracted = extract(Path("handbook.pdf"), handbook_pdf())
    assert extracted is not None and extracted.title == "District Services Handbook"
    return extracted.text


def test_the_handbook_reads_as_a_structured_document(handbook: str) -> None:
    assert handbook == HANDBOOK


def test_headings_come_from_font_size_and_bold(handbook: str) -> None:
    headings = [line for line in handbook.splitlines() if line.startswith("#")]
    assert headings == [
        "# Birth registration",  # 20 pt: the largest
        "## Fees",  # 15 pt
        "### Documents needed",  # body size, bold
        "## Opening hours",
        "## Water connections",
    ]


def test_a_heading_wrapped_onto_two_lines_is_one_heading() -> None:
    pages = [
        [
            Text("Registration of births and deaths in", size=18, bold=True),
            Text("the district", size=18, bold=True),
            "",
            "Every birth is registered within sixty days.",
        ]
    ]
    text = extract(Path("r.pdf"), make_pdf(pages)).text
    heading = "# Registration of births and deaths in the district"
    assert text == f"{heading}\n\nEvery birth is registered within sixty days.\n"


def test_list_items_printed_with_bullets_are_items() -> None:
    lines = [
        "Bring these documents:",
        "\u2022 Copy of CNIC",
        "\u2022 Two photographs",
        "",
        "The fee is paid at a bank.",
    ]
    pages: list[list[str]] = [lines]
    text = extract(Path("r.pdf"), make_pdf(pages)).text
    assert text == "Bring these documents:\n\n- Copy of CNIC\n- Two photographs\n\nThe fee is paid at a bank.\n"


def test_a_table_placed_in_columns_is_written_as_rows_of_cells(handbook: str) -> None:
    assert "Service | Fee | Days\nRegistration within 60 days | Free | 1\nLate registration | Rs. 500 | 7\n" in handbook


def test_running_headers_page_numbers_and_print_stamps_are_gone(handbook: str) -> None:
    for chrome in ("District Services Handbook", "Page 1 of 3", "Page 3", "file:///", "handbook.html", "1/3", "3/3"):
        assert chrome not in handbook


def test_words_hyphenated_at_a_line_end_are_joined_unless_written_with_a_hyphen(handbook: str) -> None:
    assert "district government office" in handbook and "govern-" not in handbook
    assert "in the afternoon, Monday" in handbook
    assert "beside the self-service counter" in handbook  # "self-service" is how the document writes it


def test_the_lines_of_a_paragraph_are_one_line_and_paragraphs_are_blocks(handbook: str) -> None:
    assert "child was born. The parents bring" in handbook
    assert "within seven working days.\n\n## Fees" in handbook


def test_two_columns_are_read_one_after_the_other(handbook: str) -> None:
    left = handbook.index("The water board connects a new house within thirty days")
    right = handbook.index("After the survey the board lays the pipe from the main line")
    assert left < handbook.index("by the owner of the house.") < right


def test_a_sidebar_beside_the_text_is_read_apart_from_it_not_as_a_table() -> None:
    prose = [
        "The district office issues domicile certificates to all the residents",
        "who have lived in the district for three years or more, on an",
        "application made with a copy of the CNIC and two photographs,",
        "within seven working days of the day the application is made.",
        "Urgent applications are decided within two working days.",
    ]
    side = ["Home", "Services", "Contact"]
    lines = [
        (Text(side[i], x=30, size=9), Text(line, x=150)) if i < len(side) else Text(line, x=150)
        for i, line in enumerate(prose)
    ]
    text = extract(Path("r.pdf"), make_pdf([lines])).text
    assert " | " not in text
    assert "\n\n".join(["Home Services Contact", " ".join(prose)]) + "\n" == text


def test_a_line_repeated_in_the_body_or_once_in_a_margin_is_kept() -> None:
    pages = [
        [Text("Annual report", y=760, size=9), "Section text one.", "Repeated body line."],
        ["Section text two.", "Repeated body line."],
    ]
    text = extract(Path("r.pdf"), make_pdf(pages)).text
    assert "Annual report" in text and text.count("Repeated body line.") == 2


def test_a_document_of_one_repeated_line_is_not_emptied() -> None:
    text = extract(Path("r.pdf"), make_pdf([["Notice to all citizens"]] * 3)).text
    assert text.count("Notice to all citizens") == 3


def test_sentences_never_cross_a_table_row_or_a_heading(tmp_path: Path) -> None:
    folder = write_corpus(tmp_path / "docs", {"handbook.pdf": handbook_pdf()})
    [doc] = read_documents([folder])
    units = segment(doc)
    rows = [doc.text[u.start : u.end] for u in units if u.kind == "row"]
    assert rows[1:3] == ["Registration within 60 days | Free | 1", "Late registration | Rs. 500 | 7"]
    for unit in units:
        assert "\n" not in doc.text[unit.start : unit.end]
    fees = next(p for p in chunk(doc) if "Rs. 300" in p.text)
    assert fees.heading_path == ("Birth registration", "Fees")


def _encrypted(user_password: str) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(handbook_pdf())))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_an_encrypted_pdf_opens_without_a_password_is_read_and_one_that_needs_a_password_is_refused() -> None:
    assert extract(Path("open.pdf"), _encrypted("")).text == HANDBOOK
    with pytest.raises(DocumentError, match=r"locked\.pdf: is encrypted; save an unprotected copy"):
        extract(Path("locked.pdf"), _encrypted("secret"))


@pytest.mark.parametrize(
    ("line", "stamp"),
    [
        ("12/5/26, 3:10 AM", True),
        ("file:///home/clerk/x.html", True),
        ("1/3", True),
        ("Page 2 of 5", True),
        ("- 4 -", True),
        ("17", True),
        ("xii", True),
        ("https://kp.gov.pk/services", True),
        ("2024-01-31 10:15", True),
        ("District Services Handbook", False),
        ("Civil servants", False),
        ("Page one text.", False),
        ("Fees for 2024", False),
    ],
)
def test_print_stamps(line: str, stamp: bool) -> None:
    assert is_stamp(line) is stamp


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def chromium_pdf(html: str, folder: Path) -> bytes:
    """``html`` printed to PDF by headless Chromium with its default header (date, title) and footer (URL, page)."""
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed: the print-to-PDF fixture cannot be made (hand-made PDFs cover this)")
    page = folder / "guide.html"
    page.write_text(html, encoding="utf-8")
    out = folder / "guide.pdf"
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", f"--print-to-pdf={out}", str(page)]
    subprocess.run(command, capture_output=True, timeout=120, check=False)
    if not out.is_file():
        pytest.skip(f"{CHROMIUM} did not print a PDF")
    return out.read_bytes()


def test_a_page_printed_by_chromium_reads_like_the_page(tmp_path: Path) -> None:
    text = extract(Path("guide.pdf"), chromium_pdf(GUIDE_HTML, tmp_path)).text
    assert "file:///" not in text and "guide.html" not in text
    assert not any(stamp in text for stamp in (" AM", " PM", "1/1"))
    assert text.startswith("# Birth registration guide\n\nA birth must be registered")  # the header's title is gone
    assert [line for line in text.splitlines() if line.startswith("#")] == [
        "# Birth registration guide",
        "## Fees",
        "## Documents needed",
        "## Opening hours",
        "## Water connections",
    ]
    assert "## Documents needed\n\n- Hospital birth slip\n- CNIC of both parents\n\n## Opening hours" in text
    assert (
        "Service | Fee | Time\nRegistration within 60 days | Free | 1 day\nLate registration | Rs. 500 | 7 days\n"
        "Computerised certificate | Rs. 300 | 3 days\n"
    ) in text
    assert "to the office of the secretary.\n\n## Fees" in text
    left, right = text.index("The water board connects"), text.index("After the survey the board lays")
    assert left < text.index("before the survey.") < right
