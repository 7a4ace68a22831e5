"""Index faults: typed errors naming the folder or file, the previous index kept, one-line CLI errors.

Damaged files, the manifest's checks, disk full inside the build and SIGKILL are in test_store.py.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sys
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from index import build as build_module
from index import dense, folder, resume
from index.build import build
from index.embed import Embedder
from index.errors import IndexCorruptError, IndexWriteError, QAError
from index.store import Index
from qa import cli, wiring
from qa.settings import get_settings
from tests.conftest import one_line_error, write_corpus
from tests.index.test_store import snapshot


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder: Embedder) -> Iterator[list[object]]:
    """Isolated settings, the session's model, and a stand-in for uvicorn and the web app."""
    monkeypatch.setenv("QA_INDEX_DIR", str(tmp_path / "default-index"))
    with socket.socket() as s:  # `qa serve` checks its port first: one nobody uses
        s.bind(("127.0.0.1", 0))
        monkeypatch.setenv("QA_PORT", str(s.getsockname()[1]))
    get_settings.cache_clear()
    monkeypatch.setattr(wiring, "embedder", lambda settings, engine="torch": embedder)
    served: list[object] = []
    web_app = types.ModuleType("web.app")
    web_app.create_app = lambda settings, index=None, watch=None: (  # type: ignore[attr-defined]  # a stand-in module
        ("app", settings.index_dir) if index is None else ("app", settings.index_dir, index.path)
    )
    monkeypatch.setitem(sys.modules, "web.app", web_app)
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: served.append(app))
    yield served
    get_settings.cache_clear()


def deny_mkdir_under(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """Simulate a read-only ``folder`` (tests run as root, which ignores chmod)."""
    real_mkdir = Path.mkdir

    def mkdir(self: Path, *args: Any, **kwargs: Any) -> None:
        if self == folder or folder in self.parents:
            raise PermissionError(13, "Permission denied", str(self))
        real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", mkdir)


def test_a_read_only_parent_is_a_typed_error_naming_the_folder(
    corpus: Path, tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    idx = tmp_path / "ro" / "idx"
    deny_mkdir_under(monkeypatch, tmp_path / "ro")
    with pytest.raises(IndexWriteError) as err:
        build([corpus], idx, embedder=embedder)
    assert isinstance(err.value, QAError) and isinstance(err.value, OSError)
    assert str(err.value) == f"{idx}: Permission denied; no index was written"
    assert not (tmp_path / "ro").exists()


def test_a_read_only_folder_keeps_the_previous_index(
    corpus: Path, tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    idx = tmp_path / "idx"
    build([corpus], idx, embedder=embedder)
    before = snapshot(idx)
    (corpus / "new.md").write_text("# New\n\nRehnuma guides citizens.\n")
    deny_mkdir_under(monkeypatch, tmp_path)  # the temporary sibling folder cannot be made
    with pytest.raises(IndexWriteError) as err:
        build([corpus], idx, embedder=embedder)
    assert str(err.value) == f"{idx}: Permission denied; the previous index is unchanged"
    assert err.value.errno == 13 and err.value.previous_kept
    assert snapshot(idx) == before
    assert len(Index.load(idx).documents) == 3


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores folder permissions; the simulated tests cover it")
def test_a_read_only_parent_chmod(corpus: Path, tmp_path: Path, embedder: Embedder) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        with pytest.raises(IndexWriteError, match="Permission denied"):
            build([corpus], ro / "idx", embedder=embedder)
    finally:
        ro.chmod(0o755)


def test_an_untranslated_os_error_is_still_one_line(
    cli_env: list[object], corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise OSError(5, "Input/output error", str(corpus / "pehchaan.md"))

    monkeypatch.setattr(build_module, "read_documents", broken)
    assert cli.main(["index", str(corpus), "--index", str(tmp_path / "idx")]) == 1
    assert one_line_error(capsys) == f"qa index: error: {corpus / 'pehchaan.md'}: Input/output error"


def test_a_passages_sidecar_from_another_index_is_refused(corpus: Path, tmp_path: Path, embedder: Embedder) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    build([corpus], a, embedder=embedder)
    other = write_corpus(tmp_path / "other", {"pehchaan.md": "# Pehchaan\n\nA shorter text."})
    build([other], b, embedder=embedder)
    shutil.copy(b / "passages.jsonl", a / "passages.jsonl")  # counts differ
    with pytest.raises(IndexCorruptError, match="holds 1 passages where the manifest says") as err:
        Index.load(a)
    assert err.value.path == str(a / "passages.jsonl")


def test_a_passages_sidecar_with_the_same_count_but_other_text_is_refused(
    corpus: Path, tmp_path: Path, embedder: Embedder
) -> None:
    idx = tmp_path / "idx"
    build([corpus], idx, embedder=embedder)
    rows = [json.loads(line) for line in (idx / "passages.jsonl").read_text().splitlines()]
    rows[1]["text"] = "x" * len(rows[1]["text"])  # same count, same ids, same offsets, other text
    (idx / "passages.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(IndexCorruptError, match="line 2 does not match") as err:
        Index.load(idx)
    assert err.value.path == str(idx / "passages.jsonl")


@pytest.mark.parametrize(
    ("damage", "file"),
    [
        (lambda d: (d / "dense.faiss").write_bytes(b"garbage"), "dense.faiss"),
        (lambda d: (d / "passages.jsonl").write_text('{"doc_id": "x"\n'), "passages.jsonl"),
        (lambda d: (d / "manifest.json").unlink(), "manifest.json"),
    ],
)
def test_serve_refuses_a_broken_index_and_does_not_build_over_it(
    cli_env: list[object],
    corpus: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    damage: Callable[[Path], object],
    file: str,
) -> None:
    idx = tmp_path / "idx"
    assert cli.main(["index", str(corpus), "--index", str(idx)]) == 0
    damage(idx)
    broken = snapshot(idx)
    capsys.readouterr()
    assert cli.main(["serve", str(corpus), "--index", str(idx)]) == 1
    line = one_line_error(capsys)
    assert line.startswith(f"qa serve: error: {idx / file}: ")
    assert f"qa index {corpus} --index {idx} --rebuild" in line
    assert cli_env == []  # uvicorn never started
    assert snapshot(idx) == broken  # nothing rebuilt over it


@pytest.mark.parametrize("state", ["missing", "documents changed", "other format version"])
def test_serve_still_builds_a_missing_or_stale_index(
    cli_env: list[object], corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], state: str
) -> None:
    idx = tmp_path / "idx"
    if state != "missing":
        assert cli.main(["index", str(corpus), "--index", str(idx)]) == 0
    if state == "documents changed":
        (corpus / "new.md").write_text("# New\n\nRehnuma guides citizens.\n")
    if state == "other format version":
        manifest = json.loads((idx / "manifest.json").read_text())
        (idx / "manifest.json").write_text(json.dumps({**manifest, "format_version": 1}))
    capsys.readouterr()
    assert cli.main(["serve", str(corpus), "--index", str(idx)]) == 0
    assert "building it from" in capsys.readouterr().err
    assert cli_env == [("app", idx)]  # the app loads what was just built
    assert len(Index.load(idx).documents) == (4 if state == "documents changed" else 3)


def test_serve_hands_the_index_it_checked_to_the_app(
    cli_env: list[object], corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    idx = tmp_path / "idx"
    assert cli.main(["index", str(corpus), "--index", str(idx)]) == 0
    assert cli.main(["serve", str(corpus), "--index", str(idx)]) == 0
    assert "building it from" not in capsys.readouterr().err
    assert cli_env == [("app", idx, idx)]  # loaded once, to check it, and served as loaded


def test_serve_takes_the_file_size_limit_from_the_settings(
    cli_env: list[object],
    corpus: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    (corpus / "long.md").write_text("# Long\n\n" + "A sentence about the portal. " * 100)  # 2.9 KB
    monkeypatch.setenv("QA_MAX_FILE_MB", "0.002")  # about 2 KB
    get_settings.cache_clear()
    idx = tmp_path / "idx"
    assert cli.main(["serve", str(corpus), "--index", str(idx)]) == 0
    assert "long.md" in caplog.text and "over the" in caplog.text
    assert "long.md" not in Index.load(idx).documents and len(Index.load(idx).documents) == 3


def test_regression_serve_does_not_log_questions_through_uvicorn(
    cli_env: list[object], corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """uvicorn's own access log printed GET /?q=<the question>; `qa serve` turns it off (ours logs lengths)."""
    import uvicorn

    calls: list[dict[str, object]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: calls.append(kwargs))
    idx = tmp_path / "idx"
    assert cli.main(["serve", str(corpus), "--index", str(idx), "--port", "8123"]) == 0
    assert [{k: v for k, v in c.items() if k != "http"} for c in calls] == [
        {"host": "127.0.0.1", "port": 8123, "log_level": "info", "access_log": False, "proxy_headers": False}
    ]
    assert calls[0]["http"].__name__ == "GuardedH11"


def test_regression_serve_without_paths_serves_the_index_given_not_the_seeds(
    cli_env: list[object], corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`qa serve --index my-index` without PATHS rebuilt my-index from seeds/: 58 documents became 5."""
    idx = tmp_path / "my-index"
    assert cli.main(["index", str(corpus), "--index", str(idx)]) == 0
    assert cli.main(["serve", "--index", str(idx)]) == 0
    assert cli_env[-1] == ("app", idx, idx)  # served as it is
    assert sorted(Index.load(idx).documents) == ["fellowship.txt", "hackathon.md", "pehchaan.md"]

    # Refreshed from its own recorded sources: a new file there is picked up, the seeds never.
    (corpus / "new.md").write_text("# New\n\nThe transport office opens at nine.\n")
    capsys.readouterr()
    assert cli.main(["serve", "--index", str(idx)]) == 0
    assert f"building it from {corpus}" in capsys.readouterr().err
    assert sorted(Index.load(idx).documents) == ["fellowship.txt", "hackathon.md", "new.md", "pehchaan.md"]

    # Its sources gone: served as it is, with a warning; nothing rebuilt, nothing lost.
    shutil.rmtree(corpus)
    before = snapshot(idx)
    assert cli.main(["serve", "--index", str(idx)]) == 0
    assert f"was built from {corpus}, which is gone" in capsys.readouterr().err
    assert cli_env[-1] == ("app", idx, idx) and snapshot(idx) == before
    assert cli.main(["index", "--index", str(idx)]) == 1
    line = one_line_error(capsys)
    assert str(corpus) in line and "which is gone" in line and snapshot(idx) == before


_real_write_index = dense.faiss.write_index


def _faiss_full(index: object, path: str) -> None:
    _real_write_index(index, "/dev/full")  # FAISS's own error on a full disk (a C++ RuntimeError)


def _short_write(*args: object, **kwargs: object) -> None:
    raise OSError("46848 requested and 29664 written")  # numpy's tofile on a full disk: no errno


@pytest.mark.parametrize(
    ("owner", "module", "name", "failure"),
    [(dense, "faiss", "write_index", _faiss_full), (resume, "np", "save", _short_write)],
    ids=["regression-faiss-runtime-error", "regression-numpy-short-write"],
)
def test_disk_full_is_one_cli_line_and_the_index_is_kept(
    cli_env: list[object],
    corpus: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    owner: types.ModuleType,
    module: str,
    name: str,
    failure: object,
) -> None:
    """Regressions: a full disk was reported as numpy's "46848 requested and 29664 written", and as FAISS's
    33-line RuntimeError traceback."""
    idx = tmp_path / "idx"
    assert cli.main(["index", str(corpus), "--index", str(idx)]) == 0
    before = snapshot(idx)
    (corpus / "new.md").write_text("# New\n\nSomething new.\n")
    monkeypatch.setattr(getattr(owner, module), name, failure)
    capsys.readouterr()
    assert cli.main(["index", str(corpus), "--index", str(idx)]) == 1
    assert one_line_error(capsys) == f"qa index: error: {idx}: No space left on device; the previous index is unchanged"
    assert snapshot(idx) == before and not list(tmp_path.glob(".idx.tmp-*"))


def test_regression_a_killed_builds_temporary_copy_is_removed_at_the_next_load(
    corpus: Path, tmp_path: Path, embedder: Embedder
) -> None:
    """A build killed while writing left a full temporary copy beside the index until the next build."""
    idx = tmp_path / "idx"
    build([corpus], idx, embedder=embedder)
    with folder.build_lock(idx):  # a build running: its temporary copy is not touched
        for leftover in (tmp_path / ".idx.tmp-99999", tmp_path / ".idx.old-99998"):
            shutil.copytree(idx, leftover)
        Index.load(idx)
        assert (tmp_path / ".idx.tmp-99999").exists()
    assert len(Index.load(idx).documents) == 3
    assert not list(tmp_path.glob(".idx.tmp-*")) and not list(tmp_path.glob(".idx.old-*"))


def test_regression_a_mistyped_index_is_one_line_not_a_new_index_of_the_seeds(
    cli_env: list[object], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`qa serve --index my-idnex` (a typo) built and served the seeds, saying only "index missing"."""
    typo = tmp_path / "my-idnex"
    assert cli.main(["serve", "--index", str(typo)]) == 2
    line = one_line_error(capsys)
    assert line.startswith(f"qa serve: error: {typo}: no index there; ")
    assert f"`qa index PATHS --index {typo}`" in line and f"`qa serve PATHS --index {typo}`" in line
    assert not typo.exists() and cli_env == []


def test_regression_a_busy_port_is_one_line_before_anything_is_loaded(
    cli_env: list[object], corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A port in use was uvicorn's raw "[Errno 98] ... address already in use" after the index was built."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        idx = tmp_path / "idx"
        assert cli.main(["serve", str(corpus), "--index", str(idx), "--port", str(port)]) == 2
    line = one_line_error(capsys)
    assert line == (
        f"qa serve: error: port {port} on 127.0.0.1 is already in use (another `qa serve`?); choose another with "
        f"--port {port + 1} or QA_PORT={port + 1}"
    )
    assert not idx.exists() and cli_env == []


def test_regression_serve_parses_each_pdf_once_when_it_builds(
    cli_env: list[object], corpus: Path, tmp_path: Path, parsed_files: list[str]
) -> None:
    """`qa serve` read every document to check freshness, then again to build: PDFs were parsed twice."""
    from eval.documents import make_pdf

    idx = tmp_path / "idx"
    assert cli.main(["index", str(corpus), "--index", str(idx)]) == 0
    (corpus / "report.pdf").write_bytes(make_pdf([["The annual report of the transport office."]]))  # now stale
    assert cli.main(["serve", str(corpus), "--index", str(idx)]) == 0
    assert parsed_files == ["report.pdf"] and "report.pdf" in Index.load(idx).documents
