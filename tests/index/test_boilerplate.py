from __future__ import annotations

from index.boilerplate import is_boilerplate, repeated_lines
from index.types import Document


def _doc(doc_id: str, text: str, body_start: int = 0) -> Document:
    return Document(doc_id=doc_id, path=doc_id, text=text, title=doc_id, sha256="0" * 64, body_start=body_start)


FOOTER = "Follow us on Twitter\n© 2024 KPITB\n-\n"


def test_lines_in_three_documents_are_boilerplate_and_passages_of_them_only_are() -> None:
    docs = [_doc(f"{i}.md", f"Office {i} issues permits.\n{FOOTER}") for i in range(3)]
    repeated = repeated_lines(docs)
    assert repeated == {"follow us on twitter", "© 2024 kpitb"}  # "-" is too short to count
    assert is_boilerplate("  Follow us   on twitter\n\n© 2024 KPITB\n-", repeated)  # spacing and case aside
    assert not is_boilerplate("Office 1 issues permits.\nFollow us on Twitter", repeated)
    assert not is_boilerplate("-\n", repeated)  # nothing said: not boilerplate either


def test_two_documents_are_not_enough_and_front_matter_is_not_counted() -> None:
    docs = [_doc(f"{i}.md", f"Office {i}.\n{FOOTER}") for i in range(2)]
    assert repeated_lines(docs) == frozenset()
    front = "---\ntitle: Same\n---\n"
    docs = [_doc(f"{i}.md", front + f"Body {i}.\n", body_start=len(front)) for i in range(3)]
    assert repeated_lines(docs) == frozenset()
