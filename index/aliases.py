"""Abbreviations learned from the corpus: "Khyber Pakhtunkhwa Information Technology Board (KPITB)".

A parenthesised abbreviation whose letters are the initials of the words just before it defines a
pair. The reader uses the pairs on both sides: a question saying "KPITB" is matched by a sentence
saying "Khyber Pakhtunkhwa Information Technology Board", and the other way round.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from qa.types import Document

_ABBR = re.compile(r"\(([A-Z][A-Za-z]{1,9})\)")
_WORD = re.compile(r"[A-Za-z0-9’']+")
_MINOR = frozenset({"of", "for", "and", "the", "on", "in", "to", "a", "an", "&"})


def _letters(abbr: str) -> str:
    if len(abbr) > 2 and abbr.endswith("s") and abbr[:-1].isupper():
        abbr = abbr[:-1]  # plural: CDNs
    return abbr.lower()


def _long_form(before: str, abbr: str) -> str | None:
    letters = _letters(abbr)
    words = _WORD.findall(re.sub(r"[-/]", " ", before[-200:]))
    for n in range(1, min(len(words), len(letters) + 4) + 1):
        cand = words[-n:]
        if cand[0].lower() in _MINOR or cand[0][0].lower() != letters[0]:
            continue
        every = "".join(w[0].lower() for w in cand)
        content = "".join(w[0].lower() for w in cand if w.lower() not in _MINOR)
        if letters in (every, content):
            return " ".join(cand)
    return None


def learn_aliases(documents: Iterable[Document]) -> dict[str, list[str]]:
    """``{abbreviation: [long forms]}`` defined anywhere in the documents' bodies."""
    found: dict[str, set[str]] = {}
    for doc in documents:
        text = doc.text
        for m in _ABBR.finditer(text, doc.body_start):
            long = _long_form(text[max(doc.body_start, m.start() - 200) : m.start()], m.group(1))
            if long and long.lower() != m.group(1).lower():
                found.setdefault(_letters(m.group(1)), set()).add(long)
    return {abbr: sorted(forms) for abbr, forms in sorted(found.items())}
