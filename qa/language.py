"""Which script a question is written in: English, Urdu in Arabic script, or Urdu in Latin letters (Roman Urdu).

The people these documents serve often ask in Urdu. A question whose letters are a quarter or more Arabic
script is ``ur`` (an Urdu question often quotes English names or phrases); a
question in Latin letters that uses Urdu's own words (kya, kab, kahan, kaun, kitne, hai, ki, ...) is
``ur-Latn`` (Roman Urdu); anything else is ``en``. The decision reads the question's words only, so it
costs microseconds. Roman Urdu needs one of its question words, or two of its other words: a single
function word such as "ke" or "se" turns up in English text (names, abbreviations) and must not reroute it.
"""

from __future__ import annotations

import re
from typing import Literal

Script = Literal["en", "ur", "ur-Latn"]
SCRIPTS: tuple[Script, ...] = ("en", "ur", "ur-Latn")

_ARABIC = re.compile(r"[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]")
_LETTER = re.compile(r"[^\W\d_]")
_WORD = re.compile(r"[a-z]+")

# Roman Urdu's question words: one of them is enough.
_QUESTION_WORDS = frozenset(
    [
        "kya",
        "kia",
        "kyaa",
        "kab",
        "kahan",
        "kahaan",
        "kaha",
        "kaun",
        "kon",
        "koun",
        "kis",
        "kisne",
        "kisko",
        "kisse",
        "kitna",
        "kitne",
        "kitni",
        "kitnay",
        "kaise",
        "kese",
        "kaisay",
        "kaisy",
        "kyun",
        "kyon",
        "kiun",
        "konsa",
        "kaunsa",
        "konsi",
        "kaunsi",
        "kahin",
    ]
)
# Its other common words (verbs, postpositions, pronouns): two of these, or one with a question word.
_URDU_WORDS = frozenset(
    [
        "hai",
        "hy",
        "hain",
        "hein",
        "tha",
        "thi",
        "thay",
        "hua",
        "hui",
        "huwa",
        "hue",
        "howa",
        "hoti",
        "hota",
        "hotay",
        "hote",
        "ho",
        "hoga",
        "hogi",
        "honge",
        "ki",
        "ka",
        "ke",
        "ko",
        "se",
        "ne",
        "mein",
        "mai",
        "mujhe",
        "mera",
        "meri",
        "mere",
        "hum",
        "ap",
        "aap",
        "unka",
        "unki",
        "uska",
        "uski",
        "iska",
        "iski",
        "yeh",
        "ye",
        "woh",
        "wo",
        "aur",
        "bhi",
        "nahi",
        "nahin",
        "nai",
        "kar",
        "karna",
        "karte",
        "karta",
        "karti",
        "krna",
        "krte",
        "kiya",
        "kiye",
        "gaya",
        "gayi",
        "gai",
        "diya",
        "diye",
        "liye",
        "lye",
        "wala",
        "wali",
        "waley",
        "walay",
        "sakta",
        "sakti",
        "sakte",
        "chahiye",
        "chahye",
        "milta",
        "milti",
        "milega",
        "milegi",
        "lagta",
        "lagti",
        "pe",
        "tak",
        "waqt",
        "abhi",
        "kaam",
        "karein",
        "krein",
        "karen",
        "kren",
    ]
)


def script_of(question: str) -> Script:
    """``ur`` (Arabic script), ``ur-Latn`` (Roman Urdu) or ``en``."""
    letters = _LETTER.findall(question)
    if letters and sum(1 for c in letters if _ARABIC.match(c)) * 4 >= len(letters):
        return "ur"
    words = _WORD.findall(question.lower())
    asks = sum(1 for w in words if w in _QUESTION_WORDS)
    urdu = sum(1 for w in words if w in _URDU_WORDS)
    return "ur-Latn" if asks >= 1 or urdu >= 2 else "en"
