"""Hostile documents: each is skipped with a warning naming it in a folder, an error when given explicitly.

Not-UTF-8, empty and binary files are covered in test_reader.py.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

import pytest

from index.chunking import chunk
from index.errors import DocumentError
from index.limits import ReadLimits
from index.reader import read_documents
from tests.conftest import write_corpus

GOOD = {"good.md": "# Good\n\nFine text about the civic lab."}


def only_good(folder: Path, caplog: pytest.LogCaptureFixture, **kwargs: Any) -> str:
    """Read ``folder``, check that only good.md came back, return the warnings."""
    with caplog.at_level(logging.WARNING):
        docs = read_documents([folder], **kwargs)
    assert [d.doc_id for d in docs] == ["good.md"]
    return caplog.text


def test_a_file_over_the_size_limit_is_skipped_without_being_read(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = write_corpus(tmp_path / "c", GOOD)
    big = folder / "big.md"
    with open(big, "wb") as f:
        f.truncate(50 * 1024 * 1024)  # sparse: 50 MB that costs no disk and no time
    opened: list[str] = []
    real_open = Path.open

    def spy(self: Path, *args: Any, **kwargs: Any) -> object:
        opened.append(self.name)
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", spy)
    warnings = only_good(folder, caplog)
    assert "big.md" in warnings and "50 MB, over the 10 MB limit" in warnings and "QA_MAX_FILE_MB" in warnings
    assert opened == ["good.md"]  # the size came from stat(): big.md was never opened
    with pytest.raises(DocumentError, match="over the 10 MB limit") as err:
        read_documents([big])
    assert "big.md" in str(err.value)


def test_the_size_limit_is_an_argument(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    folder = write_corpus(tmp_path / "c", {**GOOD, "long.md": "# Long\n\n" + "Many words here. " * 100})
    assert "long.md" in only_good(folder, caplog, limits=ReadLimits(max_file_bytes=1000))
    assert len(read_documents([folder], limits=ReadLimits(max_file_bytes=2000))) == 2


def test_a_folder_link_to_its_parent_is_not_followed(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    folder = write_corpus(tmp_path / "c", {**GOOD, "sub/inner.md": "# Inner\n\nNested text."})
    (folder / "sub" / "loop").symlink_to("..", target_is_directory=True)
    (folder / "self").symlink_to(".", target_is_directory=True)
    docs = read_documents([folder])
    assert sorted(d.doc_id for d in docs) == ["good.md", "sub/inner.md"]


def test_a_link_to_a_file_outside_the_folder_is_skipped_unless_given(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    outside = write_corpus(tmp_path / "elsewhere", {"secret.md": "# Secret\n\nNot part of this corpus."})
    folder = write_corpus(tmp_path / "c", GOOD)
    (folder / "link.md").symlink_to(outside / "secret.md")
    warnings = only_good(folder, caplog)
    assert "link.md" in warnings and "outside" in warnings
    docs = read_documents([folder / "link.md"])  # given explicitly: read
    assert [d.doc_id for d in docs] == ["link.md"] and "Not part" in docs[0].text


def test_a_link_inside_the_folder_is_read_once_as_an_alias(tmp_path: Path) -> None:
    folder = write_corpus(tmp_path / "c", GOOD)
    (folder / "same.md").symlink_to("good.md")
    assert [(d.doc_id, d.aliases) for d in read_documents([folder])] == [("good.md", ("same.md",))]


def test_dangling_and_looping_links_are_skipped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    folder = write_corpus(tmp_path / "c", GOOD)
    (folder / "dangling.md").symlink_to(tmp_path / "gone.md")
    (folder / "a.md").symlink_to("b.md")
    (folder / "b.md").symlink_to("a.md")
    warnings = only_good(folder, caplog)
    assert "dangling.md: is a dangling symbolic link" in warnings
    assert "a.md" in warnings and "b.md" in warnings and "loop" in warnings
    with pytest.raises(DocumentError, match="dangling") as err:
        read_documents([folder / "dangling.md"])
    assert "dangling.md" in str(err.value)
    with pytest.raises(DocumentError, match=r"a\.md"):
        read_documents([folder / "a.md"])


def test_a_pipe_is_skipped_without_blocking(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    folder = write_corpus(tmp_path / "c", GOOD)
    os.mkfifo(folder / "pipe.md")  # reading it would wait for a writer forever
    warnings = only_good(folder, caplog)
    assert "pipe.md" in warnings and "not a regular file" in warnings


def test_an_unreadable_file_is_skipped_simulated(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = write_corpus(tmp_path / "c", {**GOOD, "locked.md": "# Locked\n\nNo access."})
    real_open = Path.open

    def denied(self: Path, *args: Any, **kwargs: Any) -> object:
        if self.name == "locked.md":
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", denied)
    warnings = only_good(folder, caplog)
    assert "locked.md: cannot be read (Permission denied)" in warnings
    with pytest.raises(DocumentError, match="Permission denied"):
        read_documents([folder / "locked.md"])


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions; the simulated test covers it")
def test_an_unreadable_file_is_skipped_chmod(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    folder = write_corpus(tmp_path / "c", {**GOOD, "locked.md": "# Locked\n\nNo access."})
    (folder / "locked.md").chmod(0)
    try:
        assert "locked.md: cannot be read (Permission denied)" in only_good(folder, caplog)
    finally:
        (folder / "locked.md").chmod(0o644)


def test_ten_thousand_tiny_files(tmp_path: Path) -> None:
    folder = tmp_path / "many"
    for d in range(10):
        sub = folder / f"part{d}"
        sub.mkdir(parents=True)
        for i in range(1000):
            (sub / f"note{i:04d}.txt").write_text(f"Tiny note {d}-{i} about service number {d * 1000 + i}.\n")
    started = time.perf_counter()
    docs = read_documents([folder])
    read_s = time.perf_counter() - started
    passages = [p for doc in docs for p in chunk(doc)]
    total_s = time.perf_counter() - started
    print(f"10,000 tiny files: read {read_s:.2f} s, read + chunk {total_s:.2f} s")
    assert len(docs) == 10_000 and len({d.doc_id for d in docs}) == 10_000
    assert len(passages) == 10_000
    assert total_s < 20, f"10,000 tiny files took {total_s:.1f} s"
