"""answer(): the trained reader over a tiny corpus, with the real embedder, reader and FAISS."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.build import build
from index.embed import Embedder
from index.errors import InvalidQueryError, ReaderModelError
from index.store import Index
from index.types import Passage, Sentence
from qa.answer import Reader, answer, read, reader_for, sentence_of
from qa.confidence import Confidence, decide, default_confidence, load_confidence
from qa.retriever import Retriever
from tests.conftest import write_corpus


@pytest.fixture
def retriever(three_docs_index: Path, embedder: Embedder) -> Retriever:
    return Retriever(Index.load(three_docs_index), embedder)


def _check_offsets(retriever: Retriever, result) -> None:
    a = result.answer
    doc = retriever.index.documents[a.doc_id]
    assert doc.text[a.start : a.end] == a.text
    assert doc.text[a.sentence.start : a.sentence.end] == a.sentence.text
    assert a.sentence.start <= a.start < a.end <= a.sentence.end
    assert a.passage.start <= a.start < a.end <= a.passage.end
    assert a.passage in [h.passage for h in result.passages]


@pytest.mark.parametrize(
    ("question", "doc_id", "expected"),
    [
        ("Which SMS short code reaches the identity service?", "pehchaan.md", "8070"),
        ("In which month does the fellowship cohort start?", "fellowship.txt", "July"),
        ("Where is the annual civic hackathon held?", "hackathon.md", "Peshawar"),
    ],
)
def test_answer_is_a_verbatim_span_of_the_right_passage(
    retriever: Retriever, question: str, doc_id: str, expected: str
) -> None:
    result = answer([question], retriever, threshold=0.0)[0]
    assert not result.no_answer and result.answer is not None
    assert result.answer.doc_id == doc_id and expected in result.answer.text
    assert len(result.answer.text) < 40  # a span, not the sentence
    _check_offsets(retriever, result)
    assert 0.0 <= result.confidence <= 1.0 and result.answer.confidence == result.confidence
    assert set(result.timings) == {"encode", "search", "read"}


def test_the_answer_comes_from_whichever_passage_holds_it(tmp_path: Path, embedder: Embedder) -> None:
    """Five passages are read at once; the one that answers wins even when retrieval ranks it last."""
    files = {
        f"office-{i}.md": f"# Office {i}\n\nThe regional office number {i} handles licences and permits for traders."
        for i in range(4)
    }
    files["helpdesk.md"] = "# Helpdesk\n\nThe helpdesk of the licensing board opened in Mardan in 2021."
    build([write_corpus(tmp_path / "c", files)], tmp_path / "idx", embedder=embedder)
    retriever = Retriever(Index.load(tmp_path / "idx"), embedder)
    result = answer(["In which year did the licensing helpdesk open?"], retriever, threshold=0.0, top_k=5)[0]
    assert result.answer is not None and result.answer.text == "2021"
    _check_offsets(retriever, result)


def test_abstains_when_the_documents_do_not_say(retriever: Retriever) -> None:
    for question in ("Who won the 1998 football world cup?", "What is the boiling point of mercury?"):
        result = answer([question], retriever)[0]
        assert result.no_answer and result.answer is None and result.passages
        assert result.confidence < default_confidence().threshold


def test_threshold_zero_always_answers_and_one_never(retriever: Retriever) -> None:
    question = "Who won the 1998 football world cup?"
    assert answer([question], retriever, threshold=0.0)[0].answer is not None
    assert answer(["Which SMS short code reaches the identity service?"], retriever, threshold=1.0)[0].no_answer


def test_a_batch_equals_its_questions_one_by_one(retriever: Retriever) -> None:
    questions = ["Which SMS short code reaches the identity service?", "When does the cohort start?", "Who pays?"]
    batch = answer(questions, retriever, threshold=0.0)
    for q, b in zip(questions, batch, strict=True):
        (one,) = answer([q], retriever, threshold=0.0)
        assert (one.answer.text, one.answer.start) == (b.answer.text, b.answer.start)
        assert one.confidence == pytest.approx(b.confidence, abs=0.02)  # bfloat16 padding differs by batch


def test_empty_questions_are_refused(retriever: Retriever) -> None:
    with pytest.raises(InvalidQueryError):
        answer(["  "], retriever)
    with pytest.raises(TypeError):
        answer("a string, not a batch", retriever)  # a str is a Sequence[str] to mypy: the run-time check catches it
    assert answer([], retriever) == []


def test_nothing_retrieved_is_an_abstention(retriever: Retriever) -> None:
    reader = Reader(retriever.index)
    (reading,) = reader.readings(["Anything?"], [[]])
    result = reader.decide(reading, 0.0)
    assert reading.group is None and result.no_answer and result.confidence == 0.0


def test_read_returns_the_readings_and_the_time_of_each_stage(retriever: Retriever) -> None:
    readings, timings = read(["Which SMS short code reaches the identity service?"], retriever, top_k=3)
    assert len(readings) == 1 and len(readings[0].hits) == 3 and set(timings) == {"encode", "search", "read"}
    assert readings[0].group is not None
    assert reader_for(retriever.index).answer_of(readings[0]).text == "8070"  # the reader reads


def test_the_decision_is_the_expected_value_break_even() -> None:
    c = Confidence.threshold_on("answer_vs_null", 1.0)
    assert c.probability({"answer_vs_null": 1.5}) == pytest.approx(0.62, abs=0.01)
    assert decide(c.probability({"answer_vs_null": 1.5}), c) is True
    assert decide(c.probability({"answer_vs_null": 0.5}), c) is False
    assert decide(c.probability({"answer_vs_null": -9.0}), c, threshold=0.0) is True  # never abstaining
    assert decide(None, c, threshold=0.0) is False  # nothing read: nothing to answer with
    assert c.with_cost(3.0).threshold == pytest.approx(0.75)


def test_confidence_reads_its_inputs_within_the_fitted_range() -> None:
    import numpy as np

    from qa.confidence import fit_confidence

    x = np.array([[0.0], [1.0], [2.0], [3.0]])
    c = fit_confidence(x, np.array([0.0, 0.0, 1.0, 1.0]), ("answer_vs_null",))
    assert c.probability({"answer_vs_null": 1e6}) == c.probability({"answer_vs_null": 100.0})


def test_a_span_across_sentences_is_shown_with_all_of_them() -> None:
    text = "First one. Second one. Third."
    p = Passage("d", 0, len(text), text, sentences=(Sentence(0, 10, "First one."), Sentence(11, 22, "Second one.")))
    s = sentence_of(text, p, 6, 17)
    assert (s.start, s.end, s.text) == (0, 22, "First one. Second one.")
    assert sentence_of(text, p, 11, 17) == p.sentences[1]
    assert sentence_of(text, p, 23, 28).text == text  # no sentence holds it: the passage


def test_a_damaged_confidence_file_is_an_error_naming_it_and_a_missing_one_falls_back(tmp_path: Path) -> None:
    """Regression: a corrupt calibration.json was silently replaced by the uncalibrated fallback."""
    assert load_confidence(tmp_path / "absent.json") is None
    broken = tmp_path / "calibration.json"
    for text in (
        "{not json",
        '{"features": ["answer_vs_null"], "mean": [0.0]}',
        '{"features": ["a"], "mean": [0], "scale": [1, 2], "weights": [1], "bias": 0}',
    ):
        broken.write_text(text, encoding="utf-8")
        with pytest.raises(ReaderModelError, match=r"calibration\.json: not a confidence model"):
            load_confidence(broken)
    shipped = load_confidence()
    assert shipped is not None and shipped.features == default_confidence().features


def test_an_answer_is_sure_from_the_calibrated_boundary_and_possible_below_it(retriever: Retriever) -> None:
    (reading,), _ = read(["Which SMS short code reaches the identity service?"], retriever)
    lenient = default_confidence().with_cost(0.05)  # answers from 5% confidence up
    p = lenient.probability(reading.scores)
    assert p > lenient.threshold  # an answer given, so it has a band
    for sure, band in ((p, "sure"), (p + 1e-6, "possible"), (None, "possible")):
        result = Reader(retriever.index, confidence=lenient.with_sure(sure)).decide(reading)
        assert result.answer is not None and result.answer.band == band, sure
    assert lenient.with_sure(0.0).band(p) == "sure" and lenient.with_cost(99).with_sure(0.0).band(p) == "possible"


def test_the_sure_boundary_is_where_the_calibration_answers_stop_being_right_often_enough() -> None:
    from qa.confidence import sure_threshold

    p = [0.99, 0.95, 0.9, 0.85, 0.8, 0.7, 0.6, 0.55]
    right = [True, True, True, True, False, True, False, False]
    assert sure_threshold(p, right, accuracy=0.8, min_answers=3) == 0.7  # 5 of 6 from 0.7 up
    assert sure_threshold(p, right, accuracy=1.0, min_answers=3) == 0.85
    assert sure_threshold(p, right, accuracy=1.0, min_answers=5) is None
    c = Confidence.threshold_on("answer_vs_null", 0.0).with_sure(0.8)
    assert Confidence.from_json(c.to_json()).sure == 0.8 and c.band(0.8) == "sure" and c.band(0.79) == "possible"
    old = {k: v for k, v in c.to_json().items() if k != "bands"}  # a file written before bands
    assert Confidence.from_json(old).sure is None and Confidence.from_json(old).band(0.99) == "possible"
