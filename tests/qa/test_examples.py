"""Example questions are offered only when their answer reads as a whole phrase."""

from __future__ import annotations

import pytest

from qa.examples import whole_phrase

HACKATHONS = "Our annual hackathons are co-planned, co-organised and co-executed by our CIL teams.\n"
LAB = "It is part design lab, part community caucus, and part incubator.\n"
POLICY = "Cloud First Policy (June 2024)\n\nThe Cloud First Policy focuses on cloud services.\n"


def span(text: str, part: str) -> tuple[str, int, int]:
    start = text.index(part)
    return text, start, start + len(part)


@pytest.mark.parametrize(
    ("where", "whole"),
    [
        (span(HACKATHONS, "co-planned, co-organised and co-executed"), False),  # regression: the home page's first
        (span(LAB, "part design lab"), False),
        (span(LAB, "part incubator"), False),  # the last item of a list
        (span(LAB, "part community caucus"), False),
        (span(POLICY, "The Cloud First Policy focuses on cloud services"), True),
        (span(HACKATHONS, "Our annual hackathons are co-planned, co-organised and co-executed by our CIL teams"), True),
    ],
)
def test_whole_phrase(where: tuple[str, int, int], whole: bool) -> None:
    assert whole_phrase(*where) is whole
