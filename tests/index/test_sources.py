from __future__ import annotations

import json
from pathlib import Path

import pytest

from index.errors import SourcesGoneError
from index.sources import recorded_sources, sources_for


def manifest(folder: Path, data: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.json").write_text(json.dumps(data))
    return folder


def test_paths_given_win_then_the_recorded_sources_then_the_default(tmp_path: Path) -> None:
    docs, seeds = tmp_path / "docs", tmp_path / "seeds"
    docs.mkdir()
    idx = manifest(tmp_path / "idx", {"format_version": 1, "sources": [str(docs)]})  # an older format still tells
    assert sources_for([tmp_path / "other"], idx, [seeds]) == [tmp_path / "other"]
    assert sources_for([], idx, [seeds]) == [docs]
    assert sources_for([], tmp_path / "no-index", [seeds]) == [seeds]


@pytest.mark.parametrize("data", [{"sources": []}, {"sources": [3]}, ["not", "an", "object"], {}])
def test_an_index_without_a_usable_record_falls_back_to_the_default(tmp_path: Path, data: object) -> None:
    idx = manifest(tmp_path / "idx", data)
    assert recorded_sources(idx) is None and sources_for([], idx, [tmp_path / "seeds"]) == [tmp_path / "seeds"]
    (idx / "manifest.json").write_bytes(b"\xff not json")
    assert recorded_sources(idx) is None


def test_a_gone_source_is_an_error_naming_it(tmp_path: Path) -> None:
    kept = tmp_path / "kept"
    kept.mkdir()
    idx = manifest(tmp_path / "idx", {"sources": [str(kept), str(tmp_path / "gone")]})
    with pytest.raises(SourcesGoneError, match=r"was built from .*gone, which is gone") as err:
        sources_for([], idx, [])
    assert err.value.missing == [str(tmp_path / "gone")]
