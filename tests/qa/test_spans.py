"""Shaping the span a person reads: one item or cell, the number that counts what is asked, qualifier and unit,
no Markdown marks at the edges. Offsets into the text stay the source."""

from __future__ import annotations

import pytest

from index.types import Passage, Sentence
from qa.spans import counted, trim_markup, with_quantity, within_one_cell


def _passage(text: str, units: list[tuple[str, str]]) -> Passage:
    sentences, pos = [], 0
    for piece, kind in units:
        at = text.index(piece, pos)
        sentences.append(Sentence(at, at + len(piece), piece, kind))
        pos = at + len(piece)
    return Passage("d", 0, len(text), text, (), tuple(sentences))


def test_a_span_stops_at_a_list_item_or_a_table_cell() -> None:
    text = "Fees:\n- Birth certificate: Rs. 200\n- Death certificate: free\n| Office | Hours |\n| Peshawar | 9 to 5 |"
    p = _passage(
        text,
        [
            ("Fees:", "text"),
            ("Birth certificate: Rs. 200", "item"),
            ("Death certificate: free", "item"),
            ("| Office | Hours |", "row"),
            ("| Peshawar | 9 to 5 |", "row"),
        ],
    )
    start = text.index("Rs. 200")
    s, e = within_one_cell(text, p, start, text.index("Death certificate") + 5)  # runs into the next item
    assert text[s:e] == "Rs. 200"
    start = text.index("Peshawar")
    s, e = within_one_cell(text, p, start, text.index("9 to 5") + 1)  # runs into the next cell
    assert text[s:e] == "Peshawar"
    s, e = within_one_cell(text, p, text.index("| 9 to 5") - 3, text.index("9 to 5") + 6)  # "ar | 9 to 5"
    assert text[s:e] == "9 to 5"
    s, e = within_one_cell(text, p, start, start + 8)  # already within one cell: unchanged
    assert text[s:e] == "Peshawar"


def test_a_bare_number_is_read_with_its_qualifier_and_unit() -> None:
    for text, span, shown in [
        ("commit at least 5 hours on a weekly basis", "5", "at least 5 hours"),
        ("these are the six phases of the HCD process", "six", "six phases"),
        ("spend controls guidance version 4.0", "4.0", "version 4.0"),
        ("ranked 150 out of 193 countries", "150", "150"),  # "out" counts nothing
        ("launched in 2014 the fellowship", "2014", "2014"),  # a year stays a year
        ("signed by Samina Rizwan", "Samina Rizwan", "Samina Rizwan"),  # not a number: unchanged
    ]:
        start = text.index(span)
        s, e = with_quantity(text, start, start + len(span))
        assert text[s:e] == shown


def test_regression_how_many_reads_the_number_of_the_things_asked_about() -> None:
    """Regression: "How many graduates does the Join IT portal connect?" was answered "85" (the companies)."""
    text = "Join IT Portal: Connects 7,884 graduates with 85 IT companies, creating job opportunities."
    sentence = Sentence(0, len(text), text)
    at = text.index("85")
    s, e = counted("How many graduates does the Join IT portal connect?", text, sentence, at, at + 2)
    assert text[s:e] == "7,884"
    # The span already counts what is asked (or nothing in the sentence does): unchanged.
    assert counted("How many IT companies are on Join IT?", text, sentence, at, at + 2) == (at, at + 2)
    assert counted("How many students are on Join IT?", text, sentence, at, at + 2) == (at, at + 2)
    assert counted("Who runs Join IT?", text, sentence, at, at + 2) == (at, at + 2)


@pytest.mark.parametrize(
    ("text", "span", "trimmed"),
    [
        ("Signed by **Samina Rizwan** in 2021.", "**Samina Rizwan**", "Samina Rizwan"),
        ("with the [Digital Pakistan](https://x.pk) team", "[Digital Pakistan", "Digital Pakistan"),
        ("the board (PITB) signed", "(PITB)", "(PITB)"),  # paired: kept
        ("the board (PITB) signed", "PITB)", "PITB"),
        ("| 400 | rupees |", "| 400 |", "400"),
        ("`qa ask` prints", "`qa ask`", "qa ask"),
        ("a * b", "*", "*"),  # never emptied
        ("ranked #1 in 2022", "#1", "#1"),
    ],
)
def test_regression_answers_do_not_start_or_end_in_markdown_marks(text: str, span: str, trimmed: str) -> None:
    """Word pieces of Markdown marks could start or end a span: "**Samina Rizwan**", "[Digital Pakistan"."""
    start = text.index(span)
    s, e = trim_markup(text, start, start + len(span))
    assert text[s:e] == trimmed and start <= s < e <= start + len(span)
