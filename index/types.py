"""The domain types shared by every layer: frozen dataclasses, offsets into original text.

Character offsets are the source of truth: ``Passage.text == document.text[start:end]`` and the same
holds for every ``Sentence``. The web layer mirrors these with pydantic models at its edge only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Document:
    """One source file, its original text kept byte-for-byte (decoded as UTF-8)."""

    doc_id: str
    path: str
    text: str
    title: str
    sha256: str
    date: str | None = None
    body_start: int = 0
    metadata: dict[str, Any] = field(default_factory=dict, hash=False, compare=True)
    aliases: tuple[str, ...] = ()

    @property
    def context_title(self) -> str:
        """The title its passages are embedded and read with: ``title``, unless that was made from the
        body's opening (then ``metadata["context_title"]``, the file name)."""
        return str(self.metadata.get("context_title") or self.title)


@dataclass(frozen=True, slots=True)
class Sentence:
    """A sentence, list item, table row or heading with offsets into its document.

    ``kind`` is one of ``text``, ``item``, ``row``, ``code``, ``heading``.
    """

    start: int
    end: int
    text: str
    kind: str = "text"


@dataclass(frozen=True, slots=True)
class Passage:
    """A retrieval unit: a contiguous span of one document made of whole sentences.

    ``heading_path`` holds the headings above the passage (the setting it is read and retrieved in) and
    ``headings`` the same headings' own lines in the document, with offsets (kind ``heading``), so an
    answer may stand in one; ``context`` holds any extra text the passage needs to be understood on its
    own (the sentence introducing a list when the passage starts in the middle of that list).
    """

    doc_id: str
    start: int
    end: int
    text: str
    heading_path: tuple[str, ...] = ()
    sentences: tuple[Sentence, ...] = ()
    context: str = ""
    headings: tuple[Sentence, ...] = ()
