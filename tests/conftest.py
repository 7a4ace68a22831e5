"""Shared fixtures: the real model, loaded once per session; tiny corpora written to tmp_path."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from eval.milvus_server import MISSING, LocalMilvus, available
from index.build import build
from index.embed import Embedder
from qa.reader_model import ReaderModel, default_reader_model

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"

THREE_DOCS = {
    "pehchaan.md": (
        "---\ntitle: Pehchaan\n---\n# Pehchaan\n\nPehchaan is the digital identity service of Khyber "
        "Pakhtunkhwa. Citizens sign in once and reach every provincial e-service.\n\n## Channels\n\n"
        "Available channels:\n- mobile app\n- web portal\n- SMS short code 8070\n"
    ),
    "fellowship.txt": (
        " date 2019-03-01 The Fellowship Program places young technologists in government departments "
        "for one year. Fellows build open-source tools with civil servants.\n\nApplications open every "
        "spring and the cohort starts in July."
    ),
    "hackathon.md": (
        "# Civic hackathon\n\nThe annual civic hackathon in Peshawar gathers coders, designers and "
        "officials for a weekend. Winning teams receive mentoring rather than cash prizes.\n"
    ),
}


def write_corpus(folder: Path, files: dict[str, str | bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", newline="")
    return folder


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    """The one error line a failed command printed (stage lines of a build, indented, may come before it)."""
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith("  ")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    model = Embedder()
    assert model.dimension == 384  # loads the real model once for the whole session
    return model


@pytest.fixture(scope="session")
def reader_model() -> ReaderModel:
    """The shipped reader (qa/models/reader), checked and loaded once for the whole session."""
    return default_reader_model()


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return write_corpus(tmp_path / "docs", THREE_DOCS)


@pytest.fixture(scope="session")
def three_docs_index(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Path:
    """THREE_DOCS built once for the whole session, for the tests that only read an index. A test that
    changes an index, or the folder it was built from, builds its own (or copies this one into tmp_path:
    copying is cheap beside embedding)."""
    folder = tmp_path_factory.mktemp("three-docs")
    build([write_corpus(folder / "docs", THREE_DOCS)], folder / "idx", embedder=embedder)
    return folder / "idx"


def need_extra(available: bool, why: str) -> None:
    """Skip a test whose optional extra (the Milvus server, Ray) is not installed, saying which; in CI, which
    installs them all, fail instead: a skipped server or Ray test there would hide that it never ran."""
    if available:
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI must run this test, but {why}")
    pytest.skip(why)


@pytest.fixture(scope="session")
def milvus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalMilvus]:
    """A Milvus standalone server (2.3, the `server` extra) on a free port, its data in a temporary folder, for
    the whole session; stopped at the end."""
    from index import milvus

    need_extra(available(), MISSING)
    server = LocalMilvus(tmp_path_factory.mktemp("milvus-server"))
    server.start()
    try:
        yield server
    finally:
        milvus.close_all()
        server.stop()


@pytest.fixture
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is absent: the shared corpora and datasets are not on this machine")
    return SHARED


@pytest.fixture
def parsed_files(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the files the extraction worker is asked to parse during the test, in order (a spy: the
    worker still parses them)."""
    from index.sandbox import ExtractionWorker

    parsed: list[str] = []
    real = ExtractionWorker.extract

    def counting(self: ExtractionWorker, path: Path, data: bytes) -> object:
        parsed.append(path.name)
        return real(self, path, data)

    monkeypatch.setattr(ExtractionWorker, "extract", counting)
    return parsed
