from __future__ import annotations

import logging
from pathlib import Path

import pytest

from index.chunking import chunk
from index.errors import DocumentError, NoDocumentsError
from index.reader import read_documents
from tests.conftest import ROOT, THREE_DOCS, write_corpus


def test_reads_txt_and_md_with_ids_relative_to_the_folder(tmp_path: Path) -> None:
    folder = write_corpus(tmp_path / "c", {**THREE_DOCS, "sub/deeper.md": "# Deep\n\nA nested note.", "x.pdf": "no"})
    docs = read_documents([folder])
    assert sorted(d.doc_id for d in docs) == ["fellowship.txt", "hackathon.md", "pehchaan.md", "sub/deeper.md"]


def test_title_front_matter_then_heading_then_title_line_then_the_opening(tmp_path: Path) -> None:
    folder = write_corpus(
        tmp_path / "c",
        {
            "a.md": "---\ntitle: From Front Matter\n---\n# Heading\n\nText.",
            "b.md": "Intro line that is long enough to be a sentence.\n\n## Second Heading\n\nText.",
            "c.txt": "A Plain Title\n\nThe body says something here.",
            "d.txt": "Just a sentence that ends with a period.\nAnd another one.",
        },
    )
    titles = {d.doc_id: d.title for d in read_documents([folder])}
    assert titles == {
        "a.md": "From Front Matter",
        "b.md": "Second Heading",
        "c.txt": "A Plain Title",
        "d.txt": "Just a sentence that ends with a period",
    }


def test_date_line_and_front_matter_are_fields_not_passage_text(tmp_path: Path) -> None:
    folder = write_corpus(tmp_path / "c", THREE_DOCS)
    docs = {d.doc_id: d for d in read_documents([folder])}
    fellowship, pehchaan = docs["fellowship.txt"], docs["pehchaan.md"]
    assert fellowship.date == "2019-03-01"
    assert pehchaan.metadata == {"title": "Pehchaan"}
    for doc in (fellowship, pehchaan):
        passages = chunk(doc)
        assert passages and all(p.start >= doc.body_start for p in passages)
        assert all("date 2019" not in p.text and "title:" not in p.text for p in passages)
        assert all(p.text == doc.text[p.start : p.end] for p in passages)
    assert fellowship.text.startswith(" date 2019-03-01 The Fellowship")  # original text kept whole


def test_byte_identical_files_are_indexed_once_as_aliases(tmp_path: Path) -> None:
    folder = write_corpus(tmp_path / "c", {"a.md": "# Same\n\nSame text.", "b/copy.md": "# Same\n\nSame text."})
    docs = read_documents([folder])
    assert [(d.doc_id, d.aliases) for d in docs] == [("a.md", ("b/copy.md",))]


def test_seed_004_is_the_cil_handbook_civic_lab_page(shared: Path) -> None:
    docs = read_documents([ROOT / "seeds", shared / "corpora" / "cil-handbook"])
    by_id = {d.doc_id: d for d in docs}
    assert by_id["004_c875bf4d526c5ceb.txt"].aliases == ("civic-lab.md",)
    assert "civic-lab.md" not in by_id


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("latin1.txt", "caf\xe9 cr\xe8me".encode("latin-1"), "not UTF-8"),
        ("empty.md", b"", "empty"),
        ("blank.md", b"  \n\n ", "empty"),
        ("binary.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00", "binary"),
    ],
)
def test_bad_files_skipped_in_folders_and_errors_when_explicit(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, name: str, content: bytes, problem: str
) -> None:
    folder = write_corpus(tmp_path / "c", {"good.md": "# Good\n\nFine text.", name: content})
    with caplog.at_level(logging.WARNING):
        docs = read_documents([folder])
    assert [d.doc_id for d in docs] == ["good.md"]
    assert name in caplog.text and problem in caplog.text
    with pytest.raises(DocumentError, match=problem) as err:
        read_documents([folder / name])
    assert name in str(err.value)


def test_missing_path_and_empty_folder_are_errors(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="no such file"):
        read_documents([tmp_path / "nope"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(NoDocumentsError):
        read_documents([tmp_path / "empty"])


def test_same_relative_id_in_two_folders_gets_the_folder_name(tmp_path: Path) -> None:
    a = write_corpus(tmp_path / "alpha", {"readme.md": "# A\n\nAlpha text."})
    b = write_corpus(tmp_path / "beta", {"readme.md": "# B\n\nBeta text."})
    assert [d.doc_id for d in read_documents([a, b])] == ["readme.md", "beta/readme.md"]


def test_a_document_without_a_title_line_is_titled_from_its_opening(tmp_path: Path) -> None:
    folder = write_corpus(
        tmp_path / "c",
        {
            "000_e77a4125.txt": " date 2023-06-13 Pakistan was ranked 150 out of 193 countries in the UN's "
            "E-Government Knowledge Base in 2022. Yet Code for Pakistan has pioneered e-gov initiatives.\n",
            "002_5124a8c8.txt": "Code for Pakistan's Ebtihaj Khan Talks About the Importance of Having Success "
            "Stories in MySociety's Civic Tech Surgery Series\n\nCode for Pakistan\n2 min readNov 1, 2021\n\nText.\n",
            "short.txt": "The fee is 200 rupees.\n",
        },
    )
    docs = {d.doc_id: d for d in read_documents([folder])}
    first = docs["000_e77a4125.txt"]
    # Regression: cut at 90 characters, the title read "... Knowledge Base in…"; a whole sentence this short is kept.
    assert first.title == "Pakistan was ranked 150 out of 193 countries in the UN's E-Government Knowledge Base in 2022"
    assert first.context_title == "000_e77a4125" and first.date == "2023-06-13"
    second = docs["002_5124a8c8.txt"]
    assert second.title.startswith("Code for Pakistan's Ebtihaj Khan Talks") and second.title.endswith("Series")
    assert second.date == "2021-11-01"
    assert docs["short.txt"].title == "The fee is 200 rupees" and docs["short.txt"].context_title == "short"
