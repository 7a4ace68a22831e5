from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from index.embed import Embedder
from index.store import Index, build
from qa.answer import MODEL_PATH, Candidate, Reader, ReaderModel, answer, question_type
from qa.errors import InvalidQueryError
from qa.features import SENTENCE_FEATURES, SPAN_FEATURES, Question
from qa.retriever import Retriever
from tests.conftest import write_corpus

BOARD = {
    "board.md": "# Board\n\nThe Khyber Pakhtunkhwa Information Technology Board (KPITB) runs the portal.\n\n"
    "The KPITB office opened a helpdesk in Peshawar in 2020.",
    "other.md": "# Other\n\nThe office of the board opened a cafe.",
}


def _indexed(tmp_path: Path, embedder: Embedder, files: dict[str, str]) -> Index:
    """A tiny corpus written to ``tmp_path``, indexed and loaded."""
    build([write_corpus(tmp_path / "c", files)], tmp_path / "idx", embedder=embedder)
    return Index.load(tmp_path / "idx")


def _candidates(reader: Reader, embedder: Embedder, question: str) -> tuple[Question, list[Candidate]]:
    """The reader's candidate sentences for ``question`` over its index's top 3 passages."""
    vector = embedder.encode([question])[0]
    hits = Retriever(reader.index, embedder).search([question], 3, vectors=vector[None, :])[0]
    q = reader.analyse(question)
    return q, reader.candidates(q, vector, hits)


@pytest.fixture
def retriever(corpus: Path, tmp_path: Path, embedder: Embedder) -> Retriever:
    build([corpus], tmp_path / "idx", embedder=embedder)
    return Retriever(Index.load(tmp_path / "idx"), embedder)


def test_answer_is_a_verbatim_span_with_its_sentence(retriever: Retriever) -> None:
    result = answer(["Which SMS short code reaches the identity service?"], retriever)[0]
    assert not result.no_answer and result.answer is not None
    a = result.answer
    doc = retriever.index.documents[a.doc_id]
    assert a.doc_id == "pehchaan.md" and "8070" in a.sentence.text
    assert doc.text[a.start : a.end] == a.text
    assert doc.text[a.sentence.start : a.sentence.end] == a.sentence.text
    assert a.sentence.start <= a.start < a.end <= a.sentence.end
    assert 0.0 <= a.confidence <= 1.0 and a.confidence == result.confidence
    assert a.passage in [h.passage for h in result.passages]
    assert set(result.timings) == {"encode", "search", "extract"}


def test_typed_question_is_narrowed_to_the_entity(retriever: Retriever) -> None:
    result = answer(["In which month does the fellowship cohort start?"], retriever, threshold=0.0)[0]
    assert result.answer is not None and result.answer.text == "July"
    assert "cohort starts in July" in result.answer.sentence.text


def test_abstains_when_the_documents_do_not_say(retriever: Retriever) -> None:
    result = answer(["How much money did the World Bank give to the hackathon winners?"], retriever)[0]
    assert result.no_answer and result.answer is None
    assert result.passages  # still offered as related reading
    assert result.confidence < 0.4


def test_threshold_zero_always_answers_and_one_never(retriever: Retriever) -> None:
    q = ["What do fellows build?"]
    assert answer(q, retriever, threshold=0.0)[0].answer is not None
    assert answer(q, retriever, threshold=1.0)[0].no_answer


def test_headings_that_echo_the_question_are_never_answers(retriever: Retriever) -> None:
    questions = ["What is Pehchaan?", "What are the channels?", "Civic hackathon", "Pehchaan"]
    for result in answer(questions, retriever, threshold=0.0):
        assert result.answer is not None and result.answer.sentence.kind != "heading"


def test_a_batch_equals_its_questions_one_by_one(retriever: Retriever) -> None:
    questions = ["What do fellows build?", "Where is the hackathon?", "How do I reach Pehchaan by SMS?"]
    batch = answer(questions, retriever)
    single = [answer([q], retriever)[0] for q in questions]
    assert [r.answer.text if r.answer else None for r in batch] == [r.answer.text if r.answer else None for r in single]
    assert [r.confidence for r in batch] == pytest.approx([r.confidence for r in single], abs=1e-4)


def test_empty_questions_are_refused(retriever: Retriever) -> None:
    with pytest.raises(InvalidQueryError):
        answer(["  "], retriever)
    with pytest.raises(TypeError):
        answer("a bare string", retriever)  # type: ignore[arg-type]


def test_abbreviations_defined_in_the_corpus_match_both_ways(tmp_path: Path, embedder: Embedder) -> None:
    index = _indexed(tmp_path, embedder, BOARD)
    assert index.abbreviations == {"kpitb": ["Khyber Pakhtunkhwa Information Technology Board"]}
    reader = Reader(index)
    question = "Where did the Khyber Pakhtunkhwa Information Technology Board open a helpdesk?"
    cands = {c.record.sentence.text: c for c in _candidates(reader, embedder, question)[1]}
    helpdesk = cands["The KPITB office opened a helpdesk in Peshawar in 2020."]
    lexical = dict(zip(reader.model.sentence.features, helpdesk.features, strict=True))["lexical"]
    assert lexical > 0.8  # "Khyber Pakhtunkhwa Information Technology Board" is covered by "KPITB"
    without = Reader(index, aliases=False)
    plain = {c.record.sentence.text: c for c in _candidates(without, embedder, question)[1]}
    plain_features = plain[helpdesk.record.sentence.text].features
    assert (
        dict(zip(reader.model.sentence.features, plain_features, strict=True))["lexical"] < 0.5
    )  # the abbreviation alone matches none of the long form's words


@pytest.mark.parametrize(
    ("question", "label"),
    [
        ("Who chairs the board?", "PERSON"),
        ("When was it signed?", "DATE"),
        ("How many graduates were placed?", "CARDINAL"),
        ("How much money did the World Bank give?", "MONEY"),
        ("Where was the MOU signed?", "GPE"),
        ("Which university did she attend?", "ORG"),
    ],
)
def test_question_types(question: str, label: str) -> None:
    assert label in question_type(question)


def test_untyped_question() -> None:
    assert question_type("What does the Cloud First Policy focus on?") == frozenset()


def test_regression_confidence_weights_must_match_their_features(tmp_path: Path) -> None:
    """A model file whose confidence weights were one short of its features was loaded and crashed later."""
    data = json.loads(MODEL_PATH.read_text())
    data["confidence"]["weights"] = data["confidence"]["weights"][:-1]
    bad = tmp_path / "reader.json"
    bad.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="retrain"):
        ReaderModel.load(bad)
    assert ReaderModel.load(MODEL_PATH).confidence.weights.shape == (len(data["confidence"]["features"]),)


def test_index_keeps_sentence_vectors_and_entities(retriever: Retriever) -> None:
    index = retriever.index
    assert len(index.sentences) == index.sentence_embeddings.shape[0] > 5
    assert np.allclose(np.linalg.norm(index.sentence_embeddings, axis=1), 1.0, atol=1e-4)
    for record in index.sentences:
        doc = index.documents[record.doc_id]
        assert doc.text[record.sentence.start : record.sentence.end] == record.sentence.text
        for e in record.entities:
            assert record.sentence.start <= e.start < e.end <= record.sentence.end
    labels = {e.label for r in index.sentences for e in r.entities}
    assert {"DATE", "ORG"} <= labels


def test_pattern_entities_cover_types_spacy_lacks() -> None:
    from index.entities import pattern_entities

    text = "Visit https://pehchaan.kpgov.tech or www.kp.gov.pk, mail info@kp.gov.pk; plates are blue, KrakenD 2.4.1."
    found = [(text[a:b], label) for a, b, label in pattern_entities(text)]
    assert found == [
        ("info@kp.gov.pk", "EMAIL"),
        ("https://pehchaan.kpgov.tech", "URL"),
        ("www.kp.gov.pk", "URL"),
        ("blue", "COLOR"),
        ("2.4.1", "VERSION"),
    ]
    assert question_type("What is the web address of the portal?") == frozenset({"URL"})


def test_candidate_spans_are_stored_at_index_time_with_offsets(retriever: Retriever) -> None:
    index = retriever.index
    records = [r for r in index.sentences if r.spans]
    assert records, "the parser found no candidate spans"
    for r in records:
        doc = index.documents[r.doc_id]
        s = r.sentence
        for sp in r.spans:
            assert s.start <= sp.start < sp.end <= s.end
            assert doc.text[sp.start : sp.end].strip() == doc.text[sp.start : sp.end]
            if sp.gov_end:
                assert 0 <= sp.gov_start < sp.gov_end <= len(doc.text)
        assert any(e.start == sp.start and e.end == sp.end for e in r.entities for sp in r.spans) or not r.entities


def test_span_ranker_answers_with_a_short_span_inside_its_sentence(retriever: Retriever) -> None:
    result = answer(["Which SMS short code reaches the identity service?"], retriever, threshold=0.0)[0]
    a = result.answer
    assert a is not None
    assert len(a.text) < len(a.sentence.text)  # narrowed from the sentence to a span
    assert retriever.index.documents[a.doc_id].text[a.start : a.end] == a.text


def test_calibration_threshold_is_the_expected_value_break_even() -> None:
    from qa.answer import Calibration

    assert Calibration(cost=1.0).threshold == 0.5
    assert Calibration(cost=3.0).threshold == 0.75  # a wrong answer three times as bad: answer above 75 %
    assert Calibration(2.0, -1.0).probability(0.5) == pytest.approx(0.5)


def test_regression_an_answer_named_in_the_heading_above_its_sentence(tmp_path: Path, embedder: Embedder) -> None:
    """Documents name a thing in a heading and describe it below ("This policy ..."): the date and the
    name stood only in the heading, which was never read, so these questions could not be answered."""
    retriever = Retriever(
        _indexed(
            tmp_path,
            embedder,
            {
                "policies.md": "# Digital policies\n\n## Cloud First Policy (June 2024)\n\n"
                "This policy moves government services to secure cloud hosting.\n\n"
                "## Digital Right of Way Policy (March 2024)\n\n"
                "This policy streamlines the expansion of fibre optic networks and reduces deployment costs.\n\n"
                "It aims to connect more citizens with high-speed internet.",
                "other.md": "# Libraries\n\nThe provincial library opened a reading room for students in Swat.",
            },
        ),
        embedder,
    )
    doc = retriever.index.documents["policies.md"]
    result = answer(["When was the policy on fibre optic network expansion approved?"], retriever, threshold=0.0)[0]
    a = result.answer
    assert a is not None and a.text == "March 2024"
    assert a.sentence.kind == "heading" and a.sentence.text == "Digital Right of Way Policy (March 2024)"
    assert doc.text[a.start : a.end] == a.text and doc.text[a.sentence.start : a.sentence.end] == a.sentence.text
    assert a.sentence.start <= a.start < a.end <= a.sentence.end
    without = answer(
        ["When was the policy on fibre optic network expansion approved?"],
        retriever,
        threshold=0.0,
        reader=Reader(retriever.index, headings=False),
    )[0]
    assert without.answer is not None and "March 2024" not in without.answer.sentence.text


def test_regression_a_markdown_link_text_is_an_answer_and_its_target_is_not(tmp_path: Path, embedder: Embedder) -> None:
    """spaCy keeps "[KrakenD](https://krakend.io)" as one token: "KrakenD" was no candidate and the
    reader answered "KrakenD](https://krakend.io" or a piece of the address."""
    index = _indexed(
        tmp_path,
        embedder,
        {
            "rehnuma.md": "# Rehnuma\n\nRehnuma is an implementation of [KrakenD](https://krakend.io/docs), an "
            "open-source API gateway, configured with the [KrakenDesigner](https://designer.krakend.io/) tool.",
            "other.md": "# Libraries\n\nThe provincial library opened a reading room for students in Swat.",
        },
    )
    doc = index.documents["rehnuma.md"]
    spans = {doc.text[sp.start : sp.end] for r in index.sentences if r.doc_id == "rehnuma.md" for sp in r.spans}
    assert {"KrakenD", "KrakenDesigner"} <= spans
    assert not [s for s in spans if "](" in s and s != max(spans, key=len)]  # only the whole sentence holds one
    assert not spans & {"docs", "designer.krakend.io"}  # no prose taken out of a link's target
    result = answer(["Which open-source API gateway is Rehnuma an implementation of?"], Retriever(index, embedder))
    a = result[0].answer
    assert a is not None and a.text == "KrakenD"


@pytest.mark.parametrize(
    ("question", "counted"),
    [
        ("What's the minimum number of hours per week a volunteer gives?", True),
        ("What is the total number of labs?", True),
        ("During a controlled release, what testing is done with a small number of users?", False),
    ],
)
def test_regression_number_of_asks_how_many_only_after_what(question: str, counted: bool) -> None:
    """'What's the minimum number of hours' got no answer type; a number in passing must not give one."""
    from qa.features import question_class

    assert ("CARDINAL" in question_type(question)) is counted
    assert (question_class(question)[0] == "how many") is counted


def test_spans_that_repeat_the_question_through_an_alias_are_echoes(tmp_path: Path, embedder: Embedder) -> None:
    """A question saying "Khyber Pakhtunkhwa Information Technology Board" is echoed by a span saying "KPITB"."""
    index = _indexed(tmp_path, embedder, BOARD)
    question = "Where did the Khyber Pakhtunkhwa Information Technology Board open a helpdesk?"
    doc = index.documents["board.md"]
    for aliases, echoed in ((True, 1.0), (False, 0.0)):
        reader = Reader(index, aliases=aliases)
        q, cands = _candidates(reader, embedder, question)
        cand = next(c for c in cands if c.record.sentence.text.startswith("The KPITB office"))
        spans, x = reader.span_candidates(q, cand)
        row = next(i for i, sp in enumerate(spans) if doc.text[sp.start : sp.end] == "KPITB")
        assert x[row, SPAN_FEATURES.index("all_in_question")] == echoed


def test_what_an_abbreviation_stands_for_is_its_long_form(tmp_path: Path, embedder: Embedder) -> None:
    retriever = Retriever(_indexed(tmp_path, embedder, BOARD), embedder)
    a = answer(["What does KPITB stand for?"], retriever, threshold=0.0)[0].answer
    assert a is not None and a.text.removeprefix("The ") == "Khyber Pakhtunkhwa Information Technology Board"
    assert a.sentence.text.startswith("The Khyber Pakhtunkhwa Information Technology Board (KPITB) runs")
    short = answer(["What abbreviation is used for the Khyber Pakhtunkhwa Information Technology Board?"], retriever)
    assert short[0].answer is not None and short[0].answer.text == "KPITB"


def test_regression_an_image_line_is_never_the_answer(tmp_path: Path, embedder: Embedder) -> None:
    """A Markdown image's alt text echoed the question ("![Uber Eats interviews](...)") and won."""
    index = _indexed(
        tmp_path,
        embedder,
        {
            "uber.md": "# Uber Eats\n\n![Uber Eats interviews](/assets/uber-eats.png)\n\n"
            "The team keeps talking to restaurant workers, delivery drivers and meal recipients.\n\n:::\n",
            "other.md": "# Libraries\n\nThe provincial library opened a reading room for students in Swat.",
        },
    )
    question = "Which groups does Uber Eats interview?"
    _, cands = _candidates(Reader(index), embedder, question)
    texts = [c.record.sentence.text for c in cands]
    assert texts and not [t for t in texts if t.startswith("![") or t.strip() == ":::"]
    a = answer([question], Retriever(index, embedder), threshold=0.0)[0].answer
    assert a is not None and a.sentence.text.startswith("The team keeps talking")


def test_regression_a_long_form_echoes_no_more_than_its_abbreviation_weighs() -> None:
    """Each word of "Khyber Pakhtunkhwa Information Technology Board" carried the whole weight of "KPITB":
    the words a span had around it summed to 2.6 times the question, and "What does KPITB stand for?"
    was answered "World Bank" at 100 % confidence."""
    long_form = frozenset({"khyber", "pakhtunkhwa", "inform", "technolog", "board"})
    q = Question.analyse("What does KPITB stand for?", lambda t: 1.0, [("kpitb", [long_form])])
    assert sum(q.echoed[t] for t in long_form) == pytest.approx(q.weights["kpitb"])
    assert sum(q.echoed.values()) == pytest.approx(1.0 + q.weights["kpitb"])


def test_confidence_reads_its_inputs_within_the_training_range() -> None:
    from qa.answer import WITHIN_SPREAD, Logistic

    m = Logistic(("a", "b"), np.array([0.0, 2.0]), np.array([1.0, 0.5]), np.array([1.0, 1.0]), 0.0)
    x = m.within(np.array([100.0, 2.1]))
    assert x[0] == WITHIN_SPREAD and x[1] == 2.1  # a far value is held at the edge; a usual one is untouched


@pytest.mark.parametrize(
    ("question", "definition"),
    [
        ("What is Pehchaan?", True),
        ("What is a Civic Innovation Lab?", True),
        ("What is Code for Pakistan?", True),
        ("What does Rehnuma do?", True),
        ("what is civic tech", True),
        ("What is the web address of the portal?", False),
        ("What is the immediate focus of the MoU?", False),
        ("What are the core members of the lab called?", False),
        ("What does KPITB stand for?", False),
        ("What is the minimum number of hours?", False),
    ],
)
def test_definition_questions_are_told_from_questions_about_a_thing(question: str, definition: bool) -> None:
    from qa.features import is_definition

    assert is_definition(question) is definition


def test_a_definition_question_is_answered_by_what_the_sentence_says_it_is(retriever: Retriever) -> None:
    """ "What is the Double Diamond?" was answered "two", "What is Paighaam?" with "This system"."""
    a = answer(["What is Pehchaan?"], retriever, threshold=0.0)[0].answer
    assert a is not None and a.sentence.text == "Pehchaan is the digital identity service of Khyber Pakhtunkhwa."
    assert a.text.startswith(("Pehchaan is the digital", "the digital identity service"))  # what it is, whole
    assert retriever.index.documents[a.doc_id].text[a.start : a.end] == a.text
    b = answer(["What is the annual civic hackathon?"], retriever, threshold=0.0)[0].answer
    assert b is not None and b.text == b.sentence.text  # no "is" to say what it is: the whole sentence
    assert b.sentence.text.startswith("The annual civic hackathon in Peshawar gathers coders")


LABS = {
    "labs.md": "# Labs\n\nCIL volunteers meet every month. Each CIL runs its own projects with the city.\n\n"
    "Our CIL members held a CIL hackathon and a CIL workshop in Lahore.\n\n"
    "To be recognised as an official Civic Innovation Lab (CIL), a group applies to Code for Pakistan.",
    "code.md": "# Code\n\nOur guide shows code snippets in Python and in JavaScript for every endpoint.\n\n"
    "Code snippets are small blocks of reusable code.",
}


def _feature(cands: list[Candidate], name: str) -> dict[str, float]:
    i = SENTENCE_FEATURES.index(name)
    return {c.record.sentence.text: float(c.features[i]) for c in cands}


def test_the_sentence_defining_an_asked_abbreviation_is_marked(tmp_path: Path, embedder: Embedder) -> None:
    """ "What does CIL stand for?" was answered "CIL activities": every sentence said "CIL"; only one
    spelled it out, and nothing told the reader that this one answers the question."""
    reader = Reader(_indexed(tmp_path, embedder, LABS))
    _, cands = _candidates(reader, embedder, "What does CIL stand for?")
    marked = [t for t, v in _feature(cands, "expansion").items() if v]
    assert marked == [LABS["labs.md"].rsplit("\n\n", 1)[1]]  # "... an official Civic Innovation Lab (CIL), ..."
    _, reverse = _candidates(reader, embedder, "What is the abbreviation of Civic Innovation Lab?")
    assert [t for t, v in _feature(reverse, "expansion").items() if v] == marked
    _, other = _candidates(reader, embedder, "How often do CIL volunteers meet?")  # asks no expansion
    assert other and not any(_feature(other, "expansion").values())
    a = answer(["What does CIL stand for?"], Retriever(reader.index, embedder), threshold=0.0)[0].answer
    assert a is not None and a.text == "Civic Innovation Lab"


def test_the_sentence_opening_with_the_thing_asked_about_defines_it(tmp_path: Path, embedder: Embedder) -> None:
    reader = Reader(_indexed(tmp_path, embedder, LABS))
    _, cands = _candidates(reader, embedder, "What are code snippets?")
    marked = [t for t, v in _feature(cands, "defines").items() if v]
    assert marked == ["Code snippets are small blocks of reusable code."]
    _, other = _candidates(reader, embedder, "Which languages do the code snippets use?")  # not a definition
    assert other and not any(_feature(other, "defines").values())
    a = answer(["What are code snippets?"], Retriever(reader.index, embedder), threshold=0.0)[0].answer
    assert a is not None and a.sentence.text == "Code snippets are small blocks of reusable code."
