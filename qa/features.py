"""Features of the reader: what a question asks, how a sentence answers it, which span is the answer.

Everything here is arithmetic on what the index precomputed (sentence embeddings, entities,
candidate spans, term document frequencies, abbreviations); nothing loads a model.

- :class:`Question` analyses a question once: stemmed content terms with IDF weights, their
  aliases (abbreviation ↔ long form, learned from the corpus), bigrams, the wh-class ("who",
  "when", "how many", ...), the noun after "what"/"which", the entity labels that would answer it.
- :func:`sentence_features` describes a sentence against the question (lexical, dense,
  answer-type, neighbour, heading, retrieval-rank and alias evidence; whether it spells out an
  abbreviation the question asks about, or opens with the thing a definition question names).
- :func:`span_features` describes each candidate span of a sentence (its type against the
  wh-class, its syntactic role and governor, how the question's words sit around it).
"""

from __future__ import annotations

import bisect
import itertools
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from index.lexical import tokenize
from qa.types import Span

_WORD = re.compile(r"\w+", re.UNICODE)

# "what is the minimum number of hours" asks how many; "tested with a small number of users" does not
_COUNTED = re.compile(r"\b(what|which)\W+(\w+\W+){0,3}(number|count) of\b")
# Question type → entity labels that can answer it; the first pattern that matches wins.
_MONEY_WORDS = (
    r"(money|cost|costs|fund|funds|funding|funded|budget|price|pay|paid|spend|spent|grant|rupees?|dollars?|"
    r"fee|fees|stipend|salary|salaries|charge|charges|charged|wage|wages)"
)
_TYPES: tuple[tuple[re.Pattern[str], frozenset[str]], ...] = (
    (re.compile(rf"\b(how much|what)\b.*\b{_MONEY_WORDS}\b|\b{_MONEY_WORDS}\b.*\bhow much\b"), frozenset({"MONEY"})),
    (
        re.compile(r"\b(what|which) (\w+ )?(percent(age)?|share|proportion|rate)\b|\bby how much\b"),
        frozenset({"PERCENT", "CARDINAL"}),
    ),
    (
        re.compile(
            r"\b(web address|url|link to|(web ?site|home ?page) address)\b|\bwhat is the (web ?site|home ?page)\b"
        ),
        frozenset({"URL"}),
    ),
    (re.compile(r"\be-?mail\b"), frozenset({"EMAIL", "URL"})),
    (re.compile(r"\bcolou?rs?\b"), frozenset({"COLOR"})),
    (re.compile(r"\bwhich version\b|\bwhat version\b"), frozenset({"VERSION", "CARDINAL"})),
    (re.compile(r"\bhow (long|old|often)\b"), frozenset({"DATE", "TIME", "QUANTITY"})),
    (
        re.compile(rf"\bhow (many|much)\b|\bwhat (number|amount)\b|{_COUNTED.pattern}"),
        frozenset({"CARDINAL", "QUANTITY", "MONEY", "PERCENT"}),
    ),
    (
        re.compile(r"\bwhen\b|\b(what|which) (year|date|month|day|time|century|decade|period)\b|\bsince when\b"),
        frozenset({"DATE", "TIME"}),
    ),
    (
        re.compile(r"\bwhere\b|\b(what|which) (city|country|province|place|location|district|town|region)\b"),
        frozenset({"GPE", "LOC", "FAC"}),
    ),
    (
        re.compile(
            r"\bwho(m|se)?\b|\b(what|which) (person|organi[sz]ation|company|body|agency|group|university|college|"
            r"school|firm|ministry|department|bank|ngo|non-profit|charity|partner)s?\b"
        ),
        frozenset({"PERSON", "ORG", "NORP"}),
    ),
)
NUMBER_TYPES = frozenset({"CARDINAL", "QUANTITY", "MONEY", "PERCENT"})
# Words that shape a question but are not evidence of an answer (the BM25 stopword list keeps some).
QUESTION_STEMS = frozenset(
    tokenize(
        "what which who whom whose when where why how did does do done is are was were has have had "
        "can could would should will shall may might tell name give list"
    )
)

QCLASSES = (
    "what",
    "which",
    "who",
    "whose",
    "when",
    "where",
    "why",
    "how",
    "how many",
    "how much",
    "how long",
    "what year",
    "other",
)
_HOW = {"many": "how many", "much": "how much", "long": "how long", "old": "how long", "often": "how long"}
_NOT_NOUNS = frozenset({"is", "s", "was", "are", "were", "did", "does", "do", "the", "a", "an", ""})  # "what's"
_TIME_NOUNS = frozenset({"year", "years", "date", "month", "day", "century", "decade", "time", "period", "era"})

LABEL_GROUPS = {
    "PERSON": "PERSON",
    "ORG": "ORG",
    "NORP": "NORP",
    "GPE": "PLACE",
    "LOC": "PLACE",
    "FAC": "PLACE",
    "DATE": "DATE",
    "TIME": "DATE",
    "CARDINAL": "NUMBER",
    "QUANTITY": "NUMBER",
    "ORDINAL": "ORDINAL",
    "MONEY": "MONEY",
    "PERCENT": "PERCENT",
    "EVENT": "MISC",
    "WORK_OF_ART": "MISC",
    "LAW": "MISC",
    "PRODUCT": "MISC",
    "LANGUAGE": "MISC",
    "URL": "PATTERN",
    "EMAIL": "PATTERN",
    "COLOR": "PATTERN",
    "VERSION": "PATTERN",
}
GROUPS = ("PERSON", "ORG", "NORP", "PLACE", "DATE", "NUMBER", "ORDINAL", "MONEY", "PERCENT", "MISC", "PATTERN", "NONE")
DEP_GROUPS = {
    "nsubj": "subj",
    "nsubjpass": "subj",
    "csubj": "subj",
    "dobj": "obj",
    "dative": "obj",
    "pobj": "pobj",
    "attr": "attr",
    "oprd": "attr",
    "acomp": "attr",
    "appos": "appos",
    "conj": "conj",
    "prep": "prep",
    "agent": "prep",
    "advcl": "clause",
    "ccomp": "clause",
    "xcomp": "clause",
    "pcomp": "clause",
    "relcl": "relcl",
    "acl": "relcl",
    "ROOT": "root",
    "compound": "mod",
    "amod": "mod",
    "nummod": "mod",
    "poss": "mod",
    "nmod": "mod",
    "quantmod": "mod",
    "advmod": "adv",
    "npadvmod": "adv",
}
DEPS = ("subj", "obj", "pobj", "attr", "appos", "conj", "prep", "clause", "relcl", "root", "mod", "adv", "other")
POS = ("NOUN", "PROPN", "NUM", "VERB", "ADJ", "ADP", "PRON", "other")
PREPS = ("in", "on", "at", "by", "of", "for", "from", "to", "with", "during", "since", "after", "before", "as", "")
LENGTHS = (1, 2, 3, 5, 9, 16)  # upper bounds of the length buckets in words; longer is the last bucket


def question_type(question: str) -> frozenset[str]:
    """Entity labels that would answer ``question``; empty when the question asks for no type."""
    q = question.lower()
    for pattern, labels in _TYPES:
        if pattern.search(q):
            return labels
    return frozenset()


_DEFINITION = re.compile(
    r"\s*what(?:'s|’s|\s+is|\s+are|\s+was|\s+were)\s+(?:an?\s+|the\s+)?(?P<x>[^?]+?)\s*\??\s*"
    r"|\s*what\s+(?:does|do|did)\s+(?:an?\s+|the\s+)?(?P<y>[^?]+?)\s+do\s*\??\s*",
    re.IGNORECASE,
)
_NOT_A_NAME = re.compile(
    r"\b(of|at|in|for|on|by|to|from|with|about|called|named|known|mean|means|meant|stand|stands|"
    r"like|used|when|where|why|how|which|who|whose)\b|['’]s\b",
    re.IGNORECASE,
)
_NAME_LINKS = frozenset({"of", "for", "and", "the", "on", "in", "&"})


def _subject(question: str) -> str:
    """What a question shaped like a definition names ("Pehchaan" in "What is Pehchaan?")."""
    m = _DEFINITION.fullmatch(question)
    return (m.group("x") or m.group("y") or "") if m else ""


def is_definition(question: str) -> bool:
    """Does ``question`` ask what a thing is or does ("What is Pehchaan?", "What does Rehnuma do?")?

    Only when the rest of the question is a name: capitalised words (linked by "of", "for", "and":
    "Code for Pakistan", "Digital Right of Way Policy"), or at most three plain words without a
    preposition or possessive ("design thinking"). "What is the web address of the portal?" asks for
    a thing *of* it, not what it is.
    """
    m = _DEFINITION.fullmatch(question)
    if m is None or question_type(question):
        return False
    words = (m.group("x") or m.group("y") or "").split()
    if not 0 < len(words) <= 6:
        return False
    if words[0][:1].isupper() and all(w[:1].isupper() or w.lower() in _NAME_LINKS for w in words):
        return True
    return len(words) <= 3 and not _NOT_A_NAME.search(" ".join(words))


def question_class(question: str) -> tuple[str, str]:
    """The wh-class of ``question`` and the noun it asks about ("what *year*", "which *company*")."""
    words = _WORD.findall(question.lower())
    for i, w in enumerate(words):
        nxt = words[i + 1] if i + 1 < len(words) else ""
        if w == "how":
            return _HOW.get(nxt, "how"), ""
        if w in ("what", "which"):
            noun = nxt if nxt not in _NOT_NOUNS else ""
            if noun in _TIME_NOUNS:
                return "what year", noun
            if _COUNTED.match(question.lower(), question.lower().find(w)):
                return "how many", ""
            return w, noun
        if w in ("who", "whom"):
            return "who", ""
        if w in ("whose", "when", "where", "why"):
            return w, ""
    return "other", ""


# "What does KPITB stand for?" asks for a long form; "What is the Karachi lab's acronym?" for the short one.
_EXPANSION_ASKED = re.compile(
    r"\bstands? for\b|\bshort for\b|\bfull (form|name)\b|\babbreviat\w* of\b|\bexpan(d|sion)\b"
)
_ABBREVIATION_ASKED = re.compile(r"\b(abbreviat\w*|acronym|short name|initials)\b")


@dataclass(frozen=True, slots=True)
class Question:
    """A question analysed once for all its sentences and spans."""

    text: str
    terms: tuple[str, ...]  # stemmed content terms, in order
    weights: Mapping[str, float]  # term → IDF / total question IDF
    alternatives: Mapping[str, tuple[frozenset[str], ...]]  # term → term sets that mean the same
    bigrams: frozenset[tuple[str, str]]
    labels: frozenset[str]
    qclass: str
    noun: str  # stem of the noun after what/which, "" when none
    lower: str
    words: frozenset[str]  # lowercased words, unstemmed
    capitals: frozenset[str]  # capitalised words not at the start
    numbers: frozenset[str]
    terms_set: frozenset[str] = field(default=frozenset())
    definition: bool = False  # "What is Pehchaan?": asks what a thing is, answered by a whole sentence
    # the question's terms and the stems of their aliases ("pitb" for "Punjab IT Board"), each with its
    # share of the weight of the question term it stands for: what a span repeats from the question
    echoed: Mapping[str, float] = field(default_factory=dict)
    # when the question asks what an abbreviation stands for, or a long form's abbreviation: the
    # corpus's (abbreviation, long form) pairs it names, as stems
    pairs: tuple[tuple[str, frozenset[str]], ...] = ()
    subject: frozenset[str] = frozenset()  # stems of what a definition question asks about

    @classmethod
    def analyse(
        cls,
        text: str,
        idf: Callable[[str], float],
        abbreviations: Sequence[tuple[str, Sequence[frozenset[str]]]] = (),
    ) -> Question:
        terms = [t for t in tokenize(text) if t not in QUESTION_STEMS]
        q_set = set(terms)
        mass = sum(idf(t) for t in q_set) or 1.0
        alternatives: dict[str, list[frozenset[str]]] = {}
        pairs: list[tuple[str, frozenset[str]]] = []
        for abbr, longs in abbreviations:
            if abbr in q_set:
                alternatives.setdefault(abbr, []).extend(longs)
                pairs += [(abbr, long) for long in longs]
            for long in longs:
                if long <= q_set:
                    pairs.append((abbr, long))
                    for t in long:
                        alternatives.setdefault(t, []).append(frozenset({abbr}))
        lower = text.lower()
        if not (_EXPANSION_ASKED.search(lower) or _ABBREVIATION_ASKED.search(lower)):
            pairs = []
        qclass, noun = question_class(text)
        definition = is_definition(text)
        raw = _WORD.findall(text)
        weights = {t: idf(t) / mass for t in q_set}
        echoed = dict(weights)
        for t, alts in alternatives.items():
            for alt in alts:
                for u in alt:  # a long form shares its abbreviation's weight among its words
                    echoed.setdefault(u, weights.get(t, 0.0) / len(alt))
        return cls(
            text=text,
            terms=tuple(terms),
            weights=weights,
            alternatives={k: tuple(v) for k, v in alternatives.items()},
            bigrams=frozenset(itertools.pairwise(terms)),
            labels=question_type(text),
            qclass=qclass,
            noun=(tokenize(noun) or [""])[0] if noun else "",
            lower=lower,
            words=frozenset(w.lower() for w in raw),
            capitals=frozenset(w for w in raw[1:] if w[:1].isupper()),
            numbers=frozenset(w for w in raw if any(c.isdigit() for c in w)),
            terms_set=frozenset(q_set),
            echoed=echoed,
            definition=definition,
            pairs=tuple(dict.fromkeys(pairs)),
            subject=frozenset(tokenize(_subject(text))) if definition else frozenset(),
        )

    def cover(self, tokens: set[str] | frozenset[str]) -> float:
        """IDF-weighted share of the question's terms found in ``tokens`` (aliases count)."""
        total = 0.0
        for t, w in self.weights.items():
            if t in tokens or any(alt <= tokens for alt in self.alternatives.get(t, ())):
                total += w
        return total


SENTENCE_FEATURES = (
    "dense",
    "lexical",
    "lexical_count",
    "context",
    "previous",
    "next",
    "heading",
    "bigrams",
    "capitals",
    "numbers",
    "typed_found",
    "typed_missing",
    "passage_score",
    "passage_rank",
    "passage_dense",
    "echo",
    "novel",
    "length",
    "item",
    "first",
    "alias",
    "expansion",
    "defines",
)


@dataclass(frozen=True, slots=True)
class SentenceView:
    """What a sentence's features need beyond the question: its text, terms and surroundings."""

    text: str
    tokens: frozenset[str]
    token_list: Sequence[str]
    previous: frozenset[str]
    next: frozenset[str]
    heading: frozenset[str]
    dense: float
    passage_score: float
    passage_rank: int
    passage_dense: float
    typed_found: bool
    item: bool
    position: int


def sentence_features(q: Question, s: SentenceView) -> np.ndarray:
    tokens = s.tokens
    direct = q.cover(tokens)
    plain = sum(w for t, w in q.weights.items() if t in tokens)
    bigrams = set(itertools.pairwise(s.token_list))
    capitals = sum(1 for c in q.capitals if c in s.text) / len(q.capitals) if q.capitals else 0.0
    numbers = sum(1 for n in q.numbers if n in s.text) / len(q.numbers) if q.numbers else 0.0
    matched = len(tokens & q.terms_set)
    return np.array(
        [
            s.dense,
            direct,
            math.log1p(matched),
            q.cover(tokens | s.previous | s.next | s.heading),
            q.cover(s.previous - tokens),
            q.cover(s.next - tokens),
            q.cover(s.heading - tokens),
            len(q.bigrams & bigrams) / len(q.bigrams) if q.bigrams else 0.0,
            capitals,
            numbers,
            1.0 if s.typed_found else 0.0,
            1.0 if q.labels and not s.typed_found else 0.0,
            s.passage_score,
            1.0 / s.passage_rank,
            s.passage_dense,
            matched / len(tokens) if tokens else 1.0,
            math.log1p(len(tokens - q.terms_set)),
            math.log1p(len(s.token_list)),
            1.0 if s.item else 0.0,
            1.0 if s.position == 0 else 0.0,
            direct - plain,
            # "What does CIL stand for?": the sentence holds both CIL and "Civic Innovation Lab"
            1.0 if any(abbr in tokens and long <= tokens for abbr, long in q.pairs) else 0.0,
            # "What is Pehchaan?": the sentence opens with the thing asked about ("Pehchaan is ...")
            1.0 if q.subject and frozenset(s.token_list[: len(q.subject)]) == q.subject else 0.0,
        ]
    )


# ---------------------------------------------------------------------------------------------
# Spans

SPAN_NUMERIC = (
    "overlap",
    "all_in_question",
    "no_content",
    "log_words",
    "whole_sentence",
    "entity",
    "noun_chunk",
    "left_match",
    "right_match",
    "outside_match",
    "distance",
    "governor_in_question",
    "prep_in_question",
    "noun_in_span",
    "noun_near",
    "position",
    "comma",
    "digit",
    "capitalised",
    "type_match",
    "type_mismatch",
    "fragment",
    "list_span",
    "list_asked",
    "expands_asked",
    "abbreviation_asked",
)
_COUNT_WORDS = frozenset({"two", "three", "four", "five", "six", "both", "several"})
_ABBREVIATION = re.compile(r"[A-Z][A-Za-z]{0,2}[A-Z]{1,7}s?")


def _one_hot_names() -> tuple[str, ...]:
    names = [f"len{b}" for b in (*LENGTHS, "more")]
    for qc in QCLASSES:
        names += [f"{qc}|{g}" for g in GROUPS]
        names += [f"{qc}|dep:{d}" for d in DEPS]
        names += [f"{qc}|pos:{p}" for p in POS]
        names += [f"{qc}|prep:{p or '-'}" for p in PREPS]
    return tuple(names)


SPAN_FEATURES = SPAN_NUMERIC + _one_hot_names()
_SLOT = {name: i for i, name in enumerate(SPAN_FEATURES)}


@dataclass(frozen=True, slots=True)
class Words:
    """A sentence's words with offsets into the document, their stems and content flags."""

    starts: tuple[int, ...]
    ends: tuple[int, ...]
    stems: tuple[str, ...]
    content: tuple[bool, ...]

    @classmethod
    def of(cls, text: str, offset: int) -> Words:
        matches = list(_WORD.finditer(text))
        lowered = [m.group().lower() for m in matches]
        stems = []
        content = []
        for w in lowered:
            t = tokenize(w)
            stems.append(t[0] if t else w)
            content.append(bool(t) and t[0] not in QUESTION_STEMS)
        return cls(
            tuple(offset + m.start() for m in matches),
            tuple(offset + m.end() for m in matches),
            tuple(stems),
            tuple(content),
        )

    def range(self, start: int, end: int) -> tuple[int, int]:
        """Word indices [i, j) inside the character range."""
        return bisect.bisect_left(self.starts, start), bisect.bisect_right(self.starts, end - 1)


def span_features(
    q: Question, words: Words, spans: Sequence[Span], doc_text: str, sent_start: int, sent_end: int
) -> np.ndarray:
    """One row per candidate span (``SPAN_FEATURES`` columns)."""
    out = np.zeros((len(spans), len(SPAN_FEATURES)))
    n = len(words.stems)
    matched = [words.content[k] and words.stems[k] in q.echoed for k in range(n)]
    weight = [q.echoed[words.stems[k]] if matched[k] else 0.0 for k in range(n)]
    noun_pos = [k for k in range(n) if q.noun and words.stems[k] == q.noun]
    sent_len = max(1, sent_end - sent_start)
    qc = q.qclass
    wholes = [(x.start, x.end) for x in spans if x.label or x.noun_chunk]
    counted = bool(q.words & _COUNT_WORDS)
    expansions = (
        [alt for t in q.terms_set for alt in q.alternatives.get(t, ()) if len(alt) > 1]
        if _EXPANSION_ASKED.search(q.lower)
        else []
    )
    abbreviation_asked = bool(_ABBREVIATION_ASKED.search(q.lower))
    for r, sp in enumerate(spans):
        i, j = words.range(sp.start, sp.end)
        inside = [k for k in range(i, j) if words.content[k]]
        overlap = sum(1 for k in inside if matched[k]) / len(inside) if inside else 0.0
        left = {words.stems[k]: weight[k] for k in range(max(0, i - 4), i) if matched[k]}
        right = {words.stems[k]: weight[k] for k in range(j, min(n, j + 4)) if matched[k]}
        outside = {words.stems[k]: weight[k] for k in itertools.chain(range(0, i), range(j, n)) if matched[k]}
        dists = [i - k for k in range(0, i) if matched[k]] + [k - j + 1 for k in range(j, n) if matched[k]]
        gov = tokenize(doc_text[sp.gov_start : sp.gov_end]) if sp.gov_end else []
        text = doc_text[sp.start : sp.end]
        group = LABEL_GROUPS.get(sp.label, "NONE") if sp.label else "NONE"
        row = out[r]
        is_list = " and " in text or "," in text
        row[: len(SPAN_NUMERIC)] = (
            overlap,
            1.0 if inside and overlap == 1.0 else 0.0,
            0.0 if inside else 1.0,
            math.log1p(j - i),
            1.0 if sp.dep == "ROOT" and j - i >= n - 1 else 0.0,
            1.0 if sp.label else 0.0,
            1.0 if sp.noun_chunk else 0.0,
            sum(left.values()),
            sum(right.values()),
            sum(outside.values()),
            math.log1p(min(dists)) if dists else math.log1p(50),
            1.0 if gov and gov[0] in q.echoed else 0.0,
            1.0 if sp.prep and sp.prep in q.words else 0.0,
            1.0 if any(i <= k < j for k in noun_pos) else 0.0,
            1.0 if any(i - 3 <= k < i or j <= k < j + 3 for k in noun_pos) else 0.0,
            (sp.start - sent_start) / sent_len,
            1.0 if "," in text else 0.0,
            1.0 if any(c.isdigit() for c in text) else 0.0,
            1.0 if text[:1].isupper() else 0.0,
            1.0 if sp.label and sp.label in q.labels else 0.0,
            1.0 if q.labels and sp.label not in q.labels else 0.0,
            1.0 if any(a <= sp.start and sp.end <= b and (a, b) != (sp.start, sp.end) for a, b in wholes) else 0.0,
            1.0 if is_list else 0.0,
            1.0 if is_list and counted else 0.0,
            1.0 if expansions and frozenset(tokenize(text)) in expansions else 0.0,
            1.0 if abbreviation_asked and _ABBREVIATION.fullmatch(text) and text.lower() not in q.words else 0.0,
        )
        words_n = j - i
        bucket = next((b for b in LENGTHS if words_n <= b), "more")
        row[_SLOT[f"len{bucket}"]] = 1.0
        row[_SLOT[f"{qc}|{group}"]] = 1.0
        row[_SLOT[f"{qc}|dep:{DEP_GROUPS.get(sp.dep, 'other')}"]] = 1.0
        row[_SLOT[f"{qc}|pos:{sp.pos if sp.pos in POS else 'other'}"]] = 1.0
        prep = sp.prep if sp.prep in PREPS else ""
        row[_SLOT[f"{qc}|prep:{prep or '-'}"]] = 1.0
    return out
