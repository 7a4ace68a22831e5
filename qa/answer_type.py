"""Does a span have the kind of answer its question asks for? (where → a place, when → a date or time,
how many / how much → a number or amount, who → a person, group or organisation)

People read the bold answer; a span of the wrong kind (the date a supply is cut for "when will it be
restored?" is still a date, but a person's name for "where was it signed?", or "Monday to Friday" for
"what are the opening hours?", is not) must never be shown as ``sure``. :func:`expected_type` reads the
kind a question asks for from its wording, :func:`fits` checks a span against it, with word lists and
patterns (digits, number words, months, periods, honorifics and roles, place nouns). ``qa bench
answer-types`` measures them on SQuAD questions they were not refined on: how often a gold answer fits
its question's kind, and how often the answer to another question of the same paragraph (a wrong span)
does. A question of no clear
kind (what, which, why, how) accepts every span.
"""

from __future__ import annotations

import re

KINDS = ("money", "number", "date", "time", "place", "person")


def _wordlist(words: str) -> frozenset[str]:
    return frozenset(words.split())


_NUMBER_WORDS = _wordlist(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred "
    "hundreds thousand thousands million millions billion billions trillion dozen dozens half double "
    "twice triple once single several few many dozen percent free no none nil all majority minority "
    "quarter third thirds quarters fourths fifths tenths eighths halves fold tenfold hundredfold first second "
    "fourth fifth sixth seventh eighth ninth tenth little much more most less least"
)
NUMBER_WORDS = tuple(
    re.findall(
        r"\w+",
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
        "seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred thousand "
        "million billion dozen",
    )
)
_MONTHS = _wordlist(
    "january february march april may june july august september october november december jan feb mar "
    "apr jun jul aug sep sept oct nov dec"
)
_DAYS = _wordlist("monday tuesday wednesday thursday friday saturday sunday weekday weekdays weekend weekends")
_WHEN_WORDS = _wordlist(
    "today tomorrow yesterday now soon later currently recently annually yearly monthly weekly daily "
    "hourly biweekly quarterly fortnightly year years month months week weeks day days decade decades "
    "century centuries era period season spring summer autumn fall winter morning afternoon evening night "
    "noon midnight before after during until till since when while once every each end beginning start "
    "early late mid ago past future first last next previous deadline time times age ages phase stage "
    "immediately"
)
_TIME_WORDS = _wordlist("am pm a.m p.m noon midnight o'clock clock hours hour minutes minute 24/7 round-the-clock")
_HONORIFICS = _wordlist("mr mrs ms miss dr prof sir madam lady lord sheikh syed")
_ROLES = _wordlist(
    "minister ministers secretary director chairman chairperson chair ceo cto cio founder co-founder "
    "president governor commissioner officer manager head chief lead leader coordinator organiser "
    "organizer mayor member members speaker advisor adviser mentor volunteer volunteers"
)
_PLACE_WORDS = _wordlist(
    "secretariat house hall office offices building campus university college school city cities town "
    "towns district districts province provinces country countries centre center centres centers lab labs "
    "online website websites portal portals app apps street road room hotel park village villages area "
    "areas region regions headquarters hq capital state states county nation world abroad locally "
    "nationwide site sites branch branches venue place places desk counter station airport hospital court "
    "library museum market internet web platform platforms inside outside near north south east west here "
    "there home"
)

_CURRENCY = re.compile(r"[$€£¥₹₨]|\b(rs|pkr|usd|eur|gbp|inr)\b\.?", re.IGNORECASE)
_MONEY_WORDS = _wordlist(
    "rupee rupees dollar dollars euro euros pound pounds cent cents paisa crore crores lakh lakhs free charge "
    "charges fee fees price cost costs funded funding grant grants budget salary stipend paid unpaid"
)
_WORD = re.compile(r"[a-z0-9][a-z0-9'./-]*")


def _words(text: str) -> list[str]:
    """Lowercased words, hyphenated ones in their parts too ("two-thirds" → two-thirds, two, thirds)."""
    out = []
    for w in _WORD.findall(text.lower()):
        w = w.strip(".'")
        out.append(w)
        if "-" in w or "/" in w:
            out += [part for part in re.split(r"[-/]", w) if part]
    return out


def expected_type(question: str) -> str | None:
    """The kind of answer ``question`` asks for (one of :data:`KINDS`), or None when its wording does not say."""
    q = " ".join(_words(question.replace("’", "'")))
    if re.search(r"\b(what time|opening hours|office hours|working hours|timings?|open until|close at)\b", q):
        return "time"
    if re.search(
        r"\b(how much (does|did|do|will|would|is|was|are|were) .*\b(cost|charge|pay|spend|earn|fund)|"
        r"what (is |was |are |were )?(the )?(cost|price|fee|fees|fine|fines|penalty|charge|charges|salary|budget|"
        r"stipend|prize)|how much money)\b",
        q,
    ):
        return "money"
    if re.search(r"\bhow (long|often)\b", q):
        return "date"  # a duration or a frequency: dates, periods and numbers of them
    if re.search(
        r"\b(how (many|much|old|far|big|large|fast)|what (is the )?(number|percentage|share|amount|"
        r"cost|price|fee|fees|charge|rate|budget|salary|population|total))\b",
        q,
    ):
        return "number"
    others = re.search(r"\b(what|which|who|whom|how|where|why)\b", q)
    if re.search(r"\b(what|which) (year|month|date|day|decade|century)\b", q):
        return "date"
    if re.search(r"^(since |by |until |till )?when\b", q) and not others:
        return "date"
    if re.search(r"^where\b|\b(which|what) (city|country|province|district|town|place|location|venue)\b", q):
        return "place"
    if re.search(r"^(who|whom|whose)\b|\b(which|what) (person|organisation|organization|company|agency)\b", q):
        return "person"
    return None


def _has_number(words: list[str], text: str) -> bool:
    return bool(re.search(r"\d", text)) or any(w in _NUMBER_WORDS for w in words)


def _has_date(words: list[str], text: str) -> bool:
    return bool(re.search(r"\d", text)) or any(w in _MONTHS or w in _DAYS or w in _WHEN_WORDS for w in words)


def _has_time(words: list[str], text: str) -> bool:
    return bool(re.search(r"\d", text)) or any(w in _TIME_WORDS or w in _WHEN_WORDS for w in words)


def _looks_like_person(words: list[str]) -> bool:
    return any(w in _HONORIFICS or w in _ROLES for w in words)


def _only_number_or_date(words: list[str], text: str) -> bool:
    """Digits, months and number words only ("2021", "14 March", "twelve"): no name of a place or a person."""
    return all(w.isdigit() or w in _MONTHS or w in _DAYS or w in _NUMBER_WORDS or len(w) <= 2 for w in words)


def fits(question: str, span: str) -> bool:
    """Whether ``span`` is the kind of answer ``question`` asks for (always, when its kind is unclear).

    Numbers, dates and times must show one (a digit, a number word, a month, a period); a place or a person
    is only refused when the span is plainly something else (a bare date or number, or, for a place, a
    person named by title or role): common nouns answer both ("nursing homes", "community volunteers")."""
    kind = expected_type(question)
    if kind is None:
        return True
    words = _words(span)
    if not words:
        return False
    if kind == "money":
        return bool(_CURRENCY.search(span)) or any(w in _MONEY_WORDS for w in words)
    if kind == "number":
        return _has_number(words, span)
    if kind == "date":
        return _has_date(words, span) or _has_number(words, span)
    if kind == "time":
        return _has_time(words, span)
    if _only_number_or_date(words, span) or (re.search(r"\d", span) and not any(c.isupper() for c in span)):
        return False  # "2021", "14 March", "1.2 million litres": no place, no person
    if kind == "place":
        return not _looks_like_person(words) or any(w in _PLACE_WORDS for w in words)
    return True
