"""Citation links that survive edits: a link to a document page says which version of the document it cites.

A link marks character ranges (``start``/``end`` the answer, ``from``/``to`` its sentence or passage). When
the document is edited and the index refreshed (``--watch`` does it at once), the same offsets point at
other text, and a page that marked them would show a wrong highlight with no notice. So each link also
carries the document's version (``v``: the start of its SHA-256) and a short digest of each marked text
(``ah``, ``ch``). Opened against another version, the page looks for each text again near its old place
(same length, same digest, the nearest position within :data:`WINDOW` characters) and marks it there, or
marks nothing and says the document changed. No text travels in the link, only digests.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from index.types import Document

VERSION_CHARS = 12
WINDOW = 20_000  # how far from its old place a cited text is looked for (characters, either way)


def version(doc: Document) -> str:
    """The document's version as links carry it."""
    return doc.sha256[:VERSION_CHARS]


def digest(text: str) -> str:
    """A short digest of a cited text (48 bits: enough to tell texts of the same length apart)."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=6).hexdigest()


def doc_href(
    doc_id: str,
    doc: Document | None = None,
    answer: tuple[int, int] | None = None,
    cited: tuple[int, int] | None = None,
    question: str | None = None,
) -> str:
    """The document page's URL: the answer's range (marked strongly), the cited range around it (marked
    lightly), the question to go back to, and (with ``doc``) the version and digests that let the page find
    the ranges again after an edit."""
    href = "/doc/" + quote(doc_id, safe="/")
    params: dict[str, str | int] = {}
    if answer is not None:
        params.update(start=answer[0], end=answer[1])
    if cited is not None:
        params.update({"from": cited[0], "to": cited[1]})
    if question:
        params["q"] = question
    if doc is not None and (answer is not None or cited is not None):
        params["v"] = version(doc)
        if answer is not None:
            params["ah"] = digest(doc.text[answer[0] : answer[1]])
        if cited is not None:
            params["ch"] = digest(doc.text[cited[0] : cited[1]])
    if params:
        href += "?" + urlencode(params)
    return href + ("#hl" if answer is not None or cited is not None else "")


def relocate(text: str, span: tuple[int, int], wanted: str, window: int = WINDOW) -> tuple[int, int] | None:
    """Where the text that had digest ``wanted`` at ``span`` stands in ``text`` now: the same place, else the
    nearest place within ``window`` characters; ``None`` when it is not there (edited, or moved too far)."""
    start, end = span
    length = end - start
    if length <= 0:
        return None
    last = len(text) - length
    for delta in range(window + 1):
        for p in (start - delta, start + delta) if delta else (start,):
            if 0 <= p <= last and digest(text[p : p + length]) == wanted:
                return p, p + length
    return None


@dataclass(frozen=True, slots=True)
class Located:
    """The ranges to mark on a document page, and whether the link was made for another version
    (``changed``) and its texts were found again (``found``)."""

    answer: tuple[int, int] | None
    cited: tuple[int, int] | None
    changed: bool = False
    found: bool = True


def locate(
    doc: Document,
    answer: tuple[int, int] | None,
    cited: tuple[int, int] | None,
    linked_version: str | None,
    answer_digest: str | None,
    cited_digest: str | None,
) -> Located:
    """The ranges of a link as they stand in ``doc``: as given when the link has no version (made before
    versions) or this version; else each found again by its digest, or dropped."""
    if linked_version is None or linked_version == version(doc):
        return Located(answer, cited)
    moved = [
        relocate(doc.text, span, wanted) if span is not None and wanted else None
        for span, wanted in ((answer, answer_digest), (cited, cited_digest))
    ]
    asked = [span for span in (answer, cited) if span is not None]
    found = bool(asked) and all(m is not None for m, span in zip(moved, (answer, cited), strict=True) if span)
    return Located(moved[0], moved[1], changed=True, found=found)
