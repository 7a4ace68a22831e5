from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index.chunking import ChunkSettings, chunk, segment
from index.reader import parse_document

WORDS = st.sampled_from(
    [
        "Pakistan",
        "KPITB",
        "the",
        "citizens",
        "e-governance",
        "2021",
        "“quoted”",
        "it’s",
        "پاکستان",
        "حکومت",
        "ڈیجیٹل",
        "🙂",
        "🇵🇰",
        "Dr.",
        "e.g.",
        "U.S.",
        "ﷺ",
        "naïve",
        "x",
    ]
)
ENDS = st.sampled_from([".", "?", "!", "۔", ":", "", "…"])
BREAKS = st.sampled_from(["\n", "\r\n", "\n\n", "\r\n\r\n", " ", "\n\n\n"])
PREFIXES = st.sampled_from(["", "", "", "# ", "## ", "- ", "* ", "1. ", "  2) ", "| ", "> "])


@st.composite
def documents(draw: st.DrawFn) -> str:
    parts = []
    if draw(st.booleans()):
        parts.append(
            draw(st.sampled_from(["---\ntitle: T\n---\n", "---\r\ndate: 2020-01-01\r\n---\r\n", " date 2024-05-06 "]))
        )
    for _ in range(draw(st.integers(1, 25))):
        sentence = " ".join(draw(st.lists(WORDS, min_size=1, max_size=30)))
        parts.append(draw(PREFIXES) + sentence + draw(ENDS) + draw(BREAKS))
    return "".join(parts)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=documents(), target=st.integers(50, 800), overlap=st.integers(0, 49))
def test_offsets_are_exact_over_random_documents(text: str, target: int, overlap: int) -> None:
    doc = parse_document("d.md", "d.md", text)
    passages = chunk(doc, ChunkSettings(target, overlap))
    for p in passages:
        assert p.text == doc.text[p.start : p.end]
        assert p.text.strip() == p.text and p.text
        assert p.start >= doc.body_start
        assert p.sentences[0].start == p.start and p.sentences[-1].end == p.end
        for s in p.sentences:
            assert s.text == doc.text[s.start : s.end]
            assert p.start <= s.start < s.end <= p.end
            assert s.kind != "heading"
    # Every unit of text that is not a heading ends up in some passage.
    covered = {(s.start, s.end) for p in passages for s in p.sentences}
    for unit in segment(doc):
        if unit.kind != "heading":
            assert (unit.start, unit.end) in covered
    # Passages follow the document order and never repeat one another.
    starts = [p.start for p in passages]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)


def test_crlf_document_keeps_offsets_into_the_original_text() -> None:
    text = "# Title\r\n\r\nFirst sentence here. Second one follows.\r\n\r\n## Part\r\n\r\nThird sentence.\r\n"
    doc = parse_document("d.md", "d.md", text)
    passages = chunk(doc)
    assert [p.text for p in passages] == ["First sentence here. Second one follows.", "Third sentence."]
    assert [s.text for s in passages[0].sentences] == ["First sentence here.", "Second one follows."]
    assert all(doc.text[p.start : p.end] == p.text for p in passages)


def test_heading_path_is_context_and_never_passage_text() -> None:
    text = (
        "# Services\n\nIntro to services.\n\n## Paighaam\n\n### Pricing\n\n"
        "SMS costs one rupee.\n\n## Pehchaan\n\nIdentity."
    )
    passages = chunk(parse_document("d.md", "d.md", text))
    assert [(p.heading_path, p.text) for p in passages] == [
        (("Services",), "Intro to services."),
        (("Services", "Paighaam", "Pricing"), "SMS costs one rupee."),
        (("Services", "Pehchaan"), "Identity."),
    ]


def test_a_list_stays_with_the_sentence_that_introduces_it() -> None:
    filler = "This sentence is filler that makes the section long enough to need two passages. " * 5
    text = f"# Channels\n\n{filler}\n\nAvailable channels:\n- mobile app\n- web portal\n- SMS short code\n"
    passages = chunk(parse_document("d.md", "d.md", text), ChunkSettings(target_chars=400, overlap_chars=0))
    holding = [p for p in passages if "mobile app" in p.text]
    assert len(holding) == 1
    assert "Available channels:\n- mobile app" in holding[0].text and holding[0].text.endswith("SMS short code")
    assert [s.kind for s in holding[0].sentences][-4:] == ["text", "item", "item", "item"]


def test_a_long_list_split_across_passages_carries_its_intro_as_context() -> None:
    items = "".join(f"- item number {i} has a description of reasonable length\n" for i in range(20))
    text = f"Services offered by the board:\n{items}"
    passages = chunk(parse_document("d.md", "d.md", text), ChunkSettings(target_chars=300, overlap_chars=0))
    assert len(passages) > 2
    assert passages[0].text.startswith("Services offered") and passages[0].context == ""
    assert all(p.context == "Services offered by the board:" for p in passages[1:])


def test_passages_respect_the_target_size_and_overlap_whole_sentences() -> None:
    body = " ".join(f"Sentence number {i} talks about digital services." for i in range(60))
    doc = parse_document("d.txt", "d.txt", body)
    passages = chunk(doc, ChunkSettings(target_chars=300, overlap_chars=60))
    assert len(passages) > 5
    assert all(len(p.text) <= 300 for p in passages)
    for a, b in itertools.pairwise(passages):
        assert a.start < b.start <= a.end  # neighbours share a sentence
        assert b.sentences[0] in a.sentences


def test_sentence_splitter_keeps_abbreviations_and_numbers_together() -> None:
    text = "Dr. Rebecca Rumbul moderated it. Version 2.5 shipped in the U.S. market. Next."
    doc = parse_document("d.txt", "d.txt", text)
    assert [doc.text[u.start : u.end] for u in segment(doc)] == [
        "Dr. Rebecca Rumbul moderated it.",
        "Version 2.5 shipped in the U.S. market.",
        "Next.",
    ]


def test_plain_text_title_and_lone_lines_become_headings() -> None:
    text = (
        "KP Digital Achievements\n\nThe province did a lot.\n\n"
        "Cloud First Policy (June 2024)\n\nThis policy moves data to the cloud."
    )
    passages = chunk(parse_document("d.txt", "d.txt", text))
    assert [(p.heading_path, p.text) for p in passages] == [
        (("KP Digital Achievements",), "The province did a lot."),
        (("KP Digital Achievements", "Cloud First Policy (June 2024)"), "This policy moves data to the cloud."),
    ]


def test_a_single_huge_line_is_cut_at_spaces() -> None:
    text = "word " * 5000
    passages = chunk(parse_document("d.txt", "d.txt", text))
    assert len(passages) > 10
    assert max(len(p.text) for p in passages) <= 1000


def test_heading_lines_keep_offsets_into_the_document_without_their_emphasis_marks() -> None:
    text = "# Services\n\n## **Fees (2024)**\n\nA birth certificate costs Rs. 200.\n\n### Hours\n\nOpen 9 to 5.\n"
    doc = parse_document("fees.md", "fees.md", text)
    passages = chunk(doc)
    assert passages and all(len(p.headings) == len(p.heading_path) for p in passages)
    for p in passages:
        for line, heading in zip(p.headings, p.heading_path, strict=True):
            assert doc.text[line.start : line.end] == line.text == heading and line.kind == "heading"
    fees = next(p for p in passages if "Rs. 200" in p.text)
    assert [h.text for h in fees.headings] == ["Services", "Fees (2024)"]
    hours = next(p for p in passages if "9 to 5" in p.text)
    assert [h.text for h in hours.headings] == ["Services", "Fees (2024)", "Hours"]


def test_rows_of_cells_as_the_extractors_write_a_table_are_rows_not_one_run_on_sentence() -> None:
    """A table from a PDF, HTML or Word file is lines of `` | ``-joined cells: each line is a row of its own."""
    text = "# Fees\n\nService | Fee\nLate registration | Rs. 500\nCopy | Rs. 300\n\nPay at the bank. Keep the slip.\n"
    doc = parse_document("fees.html", "fees.html", text)
    units = [(u.kind, text[u.start : u.end]) for u in segment(doc)]
    assert units == [
        ("heading", "Fees"),
        ("row", "Service | Fee"),
        ("row", "Late registration | Rs. 500"),
        ("row", "Copy | Rs. 300"),
        ("text", "Pay at the bank."),
        ("text", "Keep the slip."),
    ]
    lone = parse_document("x.md", "x.md", "# A\n\nHome | About us is a line of prose, not a table.\n")
    assert [u.kind for u in segment(lone)] == ["heading", "text"]
