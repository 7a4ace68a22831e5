"""Candidate answer spans found at index time (the real spaCy pipeline)."""

from __future__ import annotations

import pytest

from index.entities import EntityTagger


@pytest.fixture(scope="module")
def tagger() -> EntityTagger:
    return EntityTagger()


def _spans(tagger: EntityTagger, text: str) -> list[str]:
    _, spans = tagger.annotate([text])[0]
    return [text[sp.start : sp.end] for sp in spans]


def test_regression_no_span_leaves_a_bracket_or_quote_open(tagger: EntityTagger) -> None:
    """ "than 160 characters (including spaces" was a candidate answer, and the chosen one."""
    text = "A message longer than 160 characters (including spaces) is charged as two, “per message” in the tariff."
    spans = _spans(tagger, text)
    whole = max(spans, key=len)
    assert {"160", "including spaces", "than 160 characters (including spaces)"} <= set(spans)
    for s in spans:
        if s != whole:
            assert s.count("(") == s.count(")") and s.count("“") == s.count("”"), s


def test_markdown_link_text_is_a_span_by_characters(tagger: EntityTagger) -> None:
    text = "Rehnuma is an implementation of [KrakenD](https://krakend.io/docs), an open-source API gateway."
    spans = _spans(tagger, text)
    assert "KrakenD" in spans and "https://krakend.io/docs" in spans  # the address stays an entity
    assert not [s for s in spans if "](" in s and s != max(spans, key=len)]
    assert "docs" not in spans
