"""What counts as a question's text: invisible characters (controls, zero-width spaces, BOM, NUL) are not."""

from __future__ import annotations

import unicodedata

_INVISIBLE = frozenset({"Cc", "Cf"})  # controls (NUL...) and format characters (zero-width spaces, BOM...)


def clean_question(text: str) -> str:
    """``text`` without invisible characters, its whitespace runs made single spaces; ``""`` when nothing shows.

    A zero-width space inside a word would otherwise split it for the tokenizers, and a question
    made only of such characters would be answered as if it said something.
    """
    visible = "".join(
        " " if c.isspace() else c for c in text if c.isspace() or unicodedata.category(c) not in _INVISIBLE
    )
    return " ".join(visible.split())
