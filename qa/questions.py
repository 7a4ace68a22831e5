"""What counts as a question's text: invisible characters (controls, zero-width spaces, BOM, NUL, variation
selectors) are not."""

from __future__ import annotations

import unicodedata

_INVISIBLE = frozenset({"Cc", "Cf"})  # controls (NUL...) and format characters (zero-width spaces, BOM...)
# Marks and letters that Unicode also calls default-ignorable (shown as nothing): variation selectors (they
# pick a glyph's style, e.g. emoji or text), the combining grapheme joiner, Hangul fillers, Mongolian free
# variation selectors.
_IGNORABLE = (
    (0x034F, 0x034F),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFFA0, 0xFFA0),
    (0xE0100, 0xE01EF),
)


def invisible(c: str) -> bool:
    """Whether the character ``c`` shows as nothing (a space is visible: it separates words)."""
    if unicodedata.category(c) in _INVISIBLE:
        return True
    code = ord(c)
    return any(low <= code <= high for low, high in _IGNORABLE)


def clean_question(text: str) -> str:
    """``text`` without invisible characters, its whitespace runs made single spaces; ``""`` when nothing shows.

    A zero-width space inside a word would otherwise split it for the tokenizers, and a question
    made only of such characters would be answered as if it said something.
    """
    visible = "".join(" " if c.isspace() else c for c in text if c.isspace() or not invisible(c))
    return " ".join(visible.split())
