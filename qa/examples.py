"""Example questions that the current index really answers, for people who do not know what to ask.

Candidates are made from what the documents name (their titles and headings: "What is Pehchaan?"),
then asked through the product's own pipeline; only those it answers with a whole phrase are offered
(not "part design lab" out of "part design lab, part community caucus, and ..."), sure ones first.
Nothing is hard-coded, so the examples follow the index (and never abstain when asked).
"""

from __future__ import annotations

import logging
import re
from itertools import chain, zip_longest

from qa.answer import Reader, answer
from qa.retriever import Retriever
from qa.types import Result

log = logging.getLogger(__name__)

MAX_WORDS = 6
_NAME = re.compile(r"^[\w’'&().,/-]+(?: [\w’'&().,/-]+)*$")


def candidates(retriever: Retriever, limit: int = 12) -> list[str]:
    """'What is X?' for the short names documents give themselves and their sections, taken in turn
    from each document so that one long document does not fill the list."""
    per_doc: list[list[str]] = []
    seen: set[str] = set()
    index = retriever.index
    for doc in index.documents.values():
        names = []
        headings = [h for p in index.passages_of(doc.doc_id) for h in p.heading_path]
        for name in (doc.title, *headings):
            name = " ".join(name.split()).strip(" :.-")
            key = name.casefold()
            if key in seen or not 1 <= len(name.split()) <= MAX_WORDS or not _NAME.match(name):
                continue
            seen.add(key)
            names.append(f"What {'are' if _plural(name) else 'is'} {name}?")
        per_doc.append(names)
        if sum(1 for n in per_doc if n) >= limit:  # the first round already fills the list: read no further
            break
    ordered = [q for q in chain.from_iterable(zip_longest(*per_doc)) if q]
    return ordered[:limit]


def _plural(name: str) -> bool:
    last = name.split()[-1].lower()
    return last.endswith("s") and not last.endswith(("ss", "us", "is", "'s", "’s"))


_AFTER_PHRASE = frozenset(".!?;\r\n")


def whole_phrase(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` ends where its sentence or line ends and does not start inside a list
    ("..., part community caucus" or "and co-executed" are fragments a first-time reader cannot judge)."""
    after = text[end:].lstrip(" \t")
    before = text[:start].rstrip(" \t")
    ends = not after or after[0] in _AFTER_PHRASE
    starts = not before.endswith(",") and not re.search(r"\b(?:and|or)$", before)
    return ends and starts


def _surest_first(result: Result) -> tuple[bool, float]:
    """Sort key of answered results: sure answers first, then by confidence."""
    assert result.answer is not None, "only answered results are sorted"
    return (result.answer.band != "sure", -result.confidence)


def example_questions(retriever: Retriever, reader: Reader, *, limit: int = 4, tries: int = 12) -> list[str]:
    """Up to ``limit`` of :func:`candidates` (``tries`` of them asked) that the product answers."""
    asked = candidates(retriever, tries)
    if not asked or limit < 1:
        return []
    results = answer(asked, retriever, reader=reader)
    answered = [
        r
        for r in results
        if not r.no_answer
        and r.answer is not None
        and whole_phrase(retriever.index.documents[r.answer.doc_id].text, r.answer.start, r.answer.end)
    ]
    answered.sort(key=_surest_first)
    chosen = [r.question for r in answered[:limit]]
    log.info("example questions: %d of %d candidates answered; offering %s", len(answered), len(asked), chosen)
    return chosen
