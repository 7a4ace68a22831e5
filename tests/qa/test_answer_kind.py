"""The span a person reads: answers in headings, answers of the kind the question asks for, one cell or item."""

from __future__ import annotations

import pytest

from index.build import build
from index.chunking import chunk
from index.embed import Embedder
from index.passages import passage_context
from index.store import Index
from qa.answer import Reader, answer, read
from qa.answer_type import expected_type, fits
from qa.confidence import default_confidence
from qa.retriever import Retriever
from tests.conftest import write_corpus

POLICIES = (
    "# Digital policies of the province\n\n"
    "The provincial cabinet approved several digital policies.\n\n"
    "## Cloud First Policy (June 2024)\n\n"
    "The Cloud First Policy moves government services to secure and scalable cloud platforms, so that "
    "departments stop buying their own servers.\n\n"
    "## Open Data Policy\n\n"
    "Departments publish their datasets on one portal for citizens and researchers.\n"
)


@pytest.fixture(scope="module")
def policies(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Retriever:
    root = tmp_path_factory.mktemp("policies")
    build([write_corpus(root / "docs", {"policies.md": POLICIES})], root / "idx", embedder=embedder)
    return Retriever(Index.load(root / "idx"), embedder)


def test_heading_lines_have_offsets_that_round_trip_through_the_index(policies: Retriever) -> None:
    index = policies.index
    doc = index.documents["policies.md"]
    passages = list(index.passages)
    assert passages and all(len(p.headings) == len(p.heading_path) for p in passages)
    for p in passages:
        for line, heading in zip(p.headings, p.heading_path, strict=True):
            assert doc.text[line.start : line.end] == line.text == heading and line.kind == "heading"
    cloud = next(p for p in passages if "Cloud First" in p.text)
    assert cloud.headings[-1].text == "Cloud First Policy (June 2024)"
    # Chunking the document again gives the heading lines the index saved and loaded.
    assert [p.headings for p in chunk(doc)] == [p.headings for p in passages]


def test_only_the_passage_own_heading_is_quotable_in_its_prefix(policies: Retriever) -> None:
    index = policies.index
    cloud = next(p for p in index.passages if "Cloud First" in p.text)
    doc = index.documents[cloud.doc_id]
    context = passage_context(doc.context_title, cloud)
    ((a, b, offset),) = context.quotable
    assert context.text[a:b] == "Cloud First Policy (June 2024)" == doc.text[offset : offset + b - a]
    assert context.document_offset(a + 20, b - 1, cloud.start) == (offset + 20, offset + b - a - 1)
    assert context.document_offset(context.body_start, context.body_start + 3, cloud.start) == (
        cloud.start,
        cloud.start + 3,
    )


def test_an_answer_that_stands_only_in_a_heading_is_given_with_its_offsets(policies: Retriever) -> None:
    """Regression: "When did KP approve its cloud first policy?" abstained at 0.01 with the right passage
    first, because the answer stands in its heading, "Cloud First Policy (June 2024)"."""
    result = answer(["When was the cloud first policy approved?"], policies, threshold=0.0)[0]
    a = result.answer
    assert a is not None and a.text == "June 2024"
    doc = policies.index.documents[a.doc_id]
    assert doc.text[a.start : a.end] == a.text
    assert a.sentence.kind == "heading" and a.sentence.text == "Cloud First Policy (June 2024)"
    assert a.sentence.start <= a.start < a.end <= a.sentence.end


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Where was the MOU signed?", "place"),
        ("where do I apply for a birth certificate", "place"),
        ("When will supply be restored?", "date"),
        ("What year did the lab open?", "date"),
        ("How many graduates has the programme had?", "number"),
        ("how much does it cost to register a birth", "money"),
        ("What is the fine for wasting water?", "money"),
        ("How much water does the plant supply?", "number"),
        ("What are the opening hours?", "time"),
        ("Who chaired the March meeting?", "person"),
        ("Which organisation runs the portal?", "person"),
        ("What is Pehchaan?", None),
        ("Why did they build it?", None),
    ],
)
def test_the_kind_of_answer_a_question_asks_for(question: str, kind: str | None) -> None:
    assert expected_type(question) == kind


@pytest.mark.parametrize(
    ("question", "span", "ok"),
    [
        ("Where was the MOU signed?", "Samina Rizwan, Managing Director", False),
        ("Where was the MOU signed?", "the Chief Minister's Secretariat in Peshawar", True),
        ("Where was the MOU signed?", "2021", False),
        ("What are the opening hours?", "Monday to Friday", False),
        ("What are the opening hours?", "9 am to 5 pm", True),
        ("How many graduates has the programme had?", "more than 400", True),
        ("How many graduates has the programme had?", "the Fellowship Program", False),
        ("how much does it cost to register a birth", "free", True),
        ("how much does it cost to register a birth", "Rs. 200", True),
        ("What is the fine for wasting water?", "1.2 million litres", False),
        ("What is the fine for wasting water?", "PKR 5,000", True),
        ("When will supply be restored?", "14 March 2025", True),
        ("When will supply be restored?", "Sector F", False),
        ("Who chaired the March meeting?", "Ayesha Khan", True),
        ("Who chaired the March meeting?", "1.2 million litres", False),
        ("Who runs the labs?", "community volunteers", True),
        ("What is Pehchaan?", "the digital identity service", True),
    ],
)
def test_a_span_fits_the_kind_its_question_asks_for(question: str, span: str, ok: bool) -> None:
    assert fits(question, span) is ok


def test_a_span_of_the_wrong_kind_is_never_sure(policies: Retriever) -> None:
    """Regression: "where was it signed" was answered with a person's name and title at 0.80, as sure."""
    confident = default_confidence().with_cost(0.01).with_sure(0.0)  # everything answered would be sure
    reader = Reader(policies.index, confidence=confident)
    (reading,), _ = read(["When was the cloud first policy approved?"], policies, reader=reader)
    right_kind = reader.decide(reading)
    assert right_kind.answer is not None and right_kind.answer.band == "sure"
    (reading,), _ = read(["How many servers will departments buy?"], policies, reader=reader)
    result = reader.decide(reading)
    assert result.answer is not None and not fits(reading.question, result.answer.text)
    assert result.answer.band == "possible"


NOTICES = {
    "water.md": (
        "# Water supply notice\n\nWater supply to Sector F-7 will be suspended on 12 March 2025 for pipeline "
        "repairs. Supply will be restored on 15 March 2025. Residents should store water in advance.\n\n"
        "## Conservation\n\nWasting water is an offence under the municipal by-laws. The treatment plant "
        "supplies 1.2 million litres a day to the sector.\n"
    ),
    "fellowship.md": (
        "# Fellowship results\n\nSince 2015 the programme has trained more than 400 graduates, who went on to "
        "start 25 companies. The programme runs in Peshawar and Karachi.\n"
    ),
    "office.md": (
        "# Citizen facilitation centre\n\nThe centre is open Monday to Friday, from 9 am to 5 pm. It is closed "
        "on public holidays.\n"
    ),
}


@pytest.fixture(scope="module")
def notices(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Retriever:
    root = tmp_path_factory.mktemp("notices")
    build([write_corpus(root / "docs", NOTICES)], root / "idx", embedder=embedder)
    return Retriever(Index.load(root / "idx"), embedder)


@pytest.mark.parametrize(
    ("question", "expected", "not_expected"),
    [
        # "When will supply be restored?" was answered with the date it is cut off (0.92, sure).
        ("When will supply be restored?", "15 March 2025", "12 March"),
        # "How many graduates ...?" was answered with the number of companies (0.88, sure).
        ("How many graduates has the programme trained?", "400", "25"),
    ],
)
def test_regression_the_span_answers_the_question_not_its_neighbour(
    notices: Retriever, question: str, expected: str, not_expected: str
) -> None:
    a = answer([question], notices, threshold=0.0)[0].answer
    assert a is not None and expected in a.text and not_expected not in a.text


@pytest.mark.parametrize(
    "question",
    [
        "What are the opening hours?",  # was "Monday to Friday" at 0.94, sure
        "What is the fine for wasting water?",  # was "1.2 million litres" at 0.76, sure: the text never gives one
    ],
)
def test_regression_a_span_of_another_kind_is_not_shown_as_sure(notices: Retriever, question: str) -> None:
    # A confidence under which every answer given would be sure: only the kind check can make it possible.
    reader = Reader(notices.index, confidence=default_confidence().with_cost(0.01).with_sure(0.0))
    (reading,), _ = read([question], notices, reader=reader)
    result = reader.decide(reading)
    assert result.answer is not None and not fits(question, result.answer.text)  # the span the reader reads today
    assert result.answer.band == "possible"
