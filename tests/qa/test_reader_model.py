"""The shipped reader's files: checked against the manifest, loaded offline, refused clearly when damaged."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from index.errors import ReaderModelError
from qa.reader_model import FILES, MANIFEST, READER_DIR, ReaderModel, check_folder, load_reader_model


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    folder = tmp_path / "reader"
    shutil.copytree(READER_DIR, folder)
    return folder


def test_the_shipped_reader_is_checked_small_and_says_how_it_was_made(reader_model: ReaderModel) -> None:
    manifest = check_folder(READER_DIR)  # raises unless every file matches its sha256 in the manifest
    assert sum((READER_DIR / name).stat().st_size for name in FILES) < 60e6
    assert manifest["recipe"]["lr"] > 0 and manifest["data"]["plan_fingerprint"]
    assert manifest["progress"]["windows_seen"] > 0 and manifest["curve"]
    assert reader_model.network.training is False


def test_a_corrupt_weights_file_is_refused_with_the_way_to_fix_it(copy: Path) -> None:
    with (copy / "model.safetensors").open("r+b") as f:
        f.seek(4096)
        f.write(b"\x00" * 64)
    with pytest.raises(ReaderModelError, match=r"model.safetensors is corrupt .*git checkout -- qa/models/reader"):
        load_reader_model(copy)


@pytest.mark.parametrize("name", [*FILES, MANIFEST])
def test_a_missing_file_is_refused_by_name(copy: Path, name: str) -> None:
    (copy / name).unlink()
    with pytest.raises(ReaderModelError, match=name.replace(".", r"\.")):
        load_reader_model(copy)


def test_a_manifest_without_hashes_is_refused(copy: Path) -> None:
    data = json.loads((copy / MANIFEST).read_text(encoding="utf-8"))
    del data["sha256"]
    (copy / MANIFEST).write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ReaderModelError, match="unreadable"):
        load_reader_model(copy)


def test_an_unknown_precision_is_refused() -> None:
    with pytest.raises(ValueError, match="precision"):
        load_reader_model(READER_DIR, precision="fp8")


def test_the_numpy_reader_reads_as_the_torch_one(reader_model: ReaderModel) -> None:
    """`qa ask` reads with NumPy (no torch to import); its logits are the float32 network's."""
    from index.passages import Context
    from qa.reading import make_windows

    light = load_reader_model(READER_DIR, precision="numpy")
    assert light.precision == "numpy"
    full = load_reader_model(READER_DIR, precision="fp32")
    groups = [
        ("Who signed the MOU?", [Context("PITB and Code for Pakistan signed an MOU in 2021. " * 9), Context("x")]),
        ("When?", [Context("The fellowship starts in July.")]),
    ]
    windows = make_windows(full.tokenizer, groups, full.settings)
    for ours, theirs in zip(light.logits(windows), full.logits(windows), strict=True):
        assert ours.shape == theirs.shape and np.abs(ours - theirs).max() < 1e-3
