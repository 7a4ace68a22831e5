"""Reading documents within limits: zip bombs, deep HTML, long PDFs and the worker's memory and CPU limits.

Every hostile file is made on the spot (:mod:`eval.hostile_files`); each limit is shown to hold by the
file being skipped with one line naming the limit and its setting, while a normal file beside it is read.
"""

from __future__ import annotations

import io
import logging
import resource
import zipfile
from pathlib import Path

import pytest

from eval.documents import make_docx, make_pdf
from eval.hostile_files import many_pages_pdf, nested_html, zip_bomb_docx
from index.errors import DocumentError
from index.formats import extract, html_depth
from index.limits import MB, ReadLimits
from index.reader import ReadMemory, read_documents
from index.sandbox import ExtractionWorker
from tests.conftest import write_corpus

GOOD = {"good.md": "# Good\n\nA normal document about the provincial portal.\n"}


def skipped(folder: Path, caplog: pytest.LogCaptureFixture, limits: ReadLimits) -> str:
    """Read ``folder`` within ``limits``, check that only good.md came back, return the warnings."""
    with caplog.at_level(logging.WARNING):
        docs = read_documents([folder], limits=limits)
    assert [d.doc_id for d in docs] == ["good.md"]
    return caplog.text


def test_a_word_zip_bomb_is_refused_from_its_directory_before_unpacking(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = write_corpus(tmp_path / "c", GOOD)
    zip_bomb_docx(folder / "bomb.docx", 60)  # 60 MB unpacked, about 60 KB packed
    assert (folder / "bomb.docx").stat().st_size < MB
    warnings = skipped(folder, caplog, ReadLimits())
    assert (
        "bomb.docx: unpacks its part word/document.xml to 60 MB, over the 50 MB limit (QA_MAX_UNPACKED_MB)" in warnings
    )


def test_the_sum_of_a_word_files_parts_is_limited_too(tmp_path: Path) -> None:
    data = make_docx([("Normal", "Short text.")])
    sizes = [m.file_size for m in zipfile.ZipFile(io.BytesIO(data)).infolist()]
    limit = ReadLimits(max_unpacked_bytes=max(sizes) + 1)  # each part fits, not all of them
    with pytest.raises(
        DocumentError, match=r"unpacks to [\d.]+ MB in all, over the [\d.]+ MB limit \(QA_MAX_UNPACKED_MB\)"
    ):
        extract(Path("many.docx"), data, limit)


def test_past_the_unpacked_limit_the_workers_memory_limit_stops_the_bomb_not_the_process(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = write_corpus(tmp_path / "c", GOOD)
    zip_bomb_docx(folder / "bomb.docx", 400)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    limits = ReadLimits(max_unpacked_bytes=1000 * MB, memory_bytes=300 * MB)
    warnings = skipped(folder, caplog, limits)
    assert "bomb.docx: needs more than the 300 MB of memory its reader may use (QA_EXTRACT_MEMORY_MB)" in warnings
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 100, f"the test process itself grew {grown_mb:.0f} MB: the file was read in it"


def test_deeply_nested_html_is_refused_before_parsing(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    folder = write_corpus(tmp_path / "c", GOOD)
    nested_html(folder / "nested.html", 100_000)
    warnings = skipped(folder, caplog, ReadLimits())
    assert "nested.html: nests its elements 100,000 deep, over the 1,000 limit (QA_MAX_HTML_DEPTH" in warnings


def test_regression_text_nested_deeper_than_200_elements_is_not_dropped(tmp_path: Path) -> None:
    [doc] = read_documents([nested_html(tmp_path / "deep.html", 900)])
    assert "The deepest sentence of the page." in doc.text


def test_the_depth_scan_ignores_elements_whose_end_tags_may_be_left_out() -> None:
    sloppy = "<ul>" + "<li>item" * 5000 + "</ul>" + "<p>para" * 5000 + "<br><img src=x>" * 5000
    assert html_depth(sloppy) == 1
    assert html_depth("<div><section><div></div></section></div><div></div>") == 3


def test_the_worker_cpu_limit_stops_a_parse_that_runs_too_long(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = write_corpus(tmp_path / "c", GOOD)
    nested_html(folder / "nested.html", 40_000)  # several seconds of the parser's quadratic time
    limits = ReadLimits(max_html_depth=1_000_000, cpu_seconds=1)
    warnings = skipped(folder, caplog, limits)
    assert "nested.html: took over 1 s of CPU time to read (QA_EXTRACT_SECONDS)" in warnings


def test_a_pdf_over_the_page_limit_is_refused(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    folder = write_corpus(tmp_path / "c", GOOD)
    many_pages_pdf(folder / "long.pdf", 30)
    warnings = skipped(folder, caplog, ReadLimits(max_pdf_pages=20))
    assert "long.pdf: has 30 pages, over the 20 limit (QA_MAX_PDF_PAGES)" in warnings
    [doc] = read_documents([folder / "long.pdf"], limits=ReadLimits(max_pdf_pages=30))
    assert doc.text.count("A page of the long report.") == 30


def test_the_characters_of_any_document_are_limited(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    folder = write_corpus(
        tmp_path / "c", {**GOOD, "long.md": "word " * 10_000, "long.pdf": make_pdf([["x" * 90] * 40])}
    )
    warnings = skipped(folder, caplog, ReadLimits(max_chars=2_000))
    assert "long.md: holds 50,000 characters of text, over the 2,000 limit (QA_MAX_DOCUMENT_CHARS)" in warnings
    assert "long.pdf: holds 3,6" in warnings


def test_a_hostile_file_given_explicitly_is_an_error_naming_it_and_the_limit(tmp_path: Path) -> None:
    bomb = zip_bomb_docx(tmp_path / "bomb.docx", 60)
    with pytest.raises(DocumentError, match=r"bomb\.docx: unpacks .*QA_MAX_UNPACKED_MB"):
        read_documents([bomb])


def test_the_worker_is_started_again_after_a_file_stops_it(tmp_path: Path) -> None:
    nested = nested_html(tmp_path / "nested.html", 40_000).read_bytes()
    page = b"<html><body><p>After the stop.</p></body></html>"
    with ExtractionWorker(ReadLimits(max_html_depth=1_000_000, cpu_seconds=1)) as worker:
        with pytest.raises(DocumentError, match="CPU time"):
            worker.extract(Path("nested.html"), nested)
        extracted = worker.extract(Path("page.html"), page)
        assert extracted is not None and extracted.text == "After the stop.\n"
        assert worker.started == 2


def test_warnings_about_a_file_come_back_from_the_worker(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    pdf = write_corpus(tmp_path, {"half.pdf": make_pdf([["Page one text."], []])}) / "half.pdf"
    with caplog.at_level(logging.WARNING):
        [doc] = read_documents([pdf])
    assert "Page one text." in doc.text
    assert "half.pdf: page(s) 2 have no text layer" in caplog.text


def test_memory_keeps_skipped_files_until_they_change(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, parsed_files: list[str]
) -> None:
    folder = write_corpus(tmp_path / "c", {**GOOD, "page.html": b"<p>A page.</p>"})
    nested_html(folder / "nested.html", 2_000)
    memory = ReadMemory()
    for _ in range(3):
        with caplog.at_level(logging.WARNING):
            docs = read_documents([folder], memory=memory)
        assert sorted(d.doc_id for d in docs) == ["good.md", "page.html"]
        assert "nested.html: nests its elements 2,000 deep" in caplog.text
        caplog.clear()
    assert sorted(parsed_files) == ["nested.html", "page.html"]  # parsed once each, not on every read
    nested_html(folder / "nested.html", 20)  # changed: tried again, and read
    docs = read_documents([folder], memory=memory)
    assert sorted(d.doc_id for d in docs) == ["good.md", "nested.html", "page.html"]
    assert parsed_files[-1] == "nested.html" and len(parsed_files) == 3
    (folder / "page.html").unlink()
    read_documents([folder], memory=memory)
    assert len(memory) == 1  # what the read no longer meets is forgotten


def test_read_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_chars must be positive"):
        ReadLimits(max_chars=0)
