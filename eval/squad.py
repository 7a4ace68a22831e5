"""SQuAD 2.0 files: questions and paragraphs in the official format, and the fixed split by article.

The whole SQuAD 2.0 dev set (35 articles) is split by article once and for all. The trained reader
learns from ``TRAIN_TITLES`` (their unanswerable questions are the tempting kind); ``DEV_TITLES`` are
never trained on and choose SQuAD's abstention threshold; ``TEST_TITLES`` (5,296 questions, 2,694
unanswerable) are only ever read by `qa eval --squad`. The ten test articles of squad2-dev-half are
among them, and its six others are training articles.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from index.errors import QAError

TRAIN_TITLES = frozenset(
    {
        "Normans", "Computational_complexity_theory", "Huguenot", "Steam_engine", "1973_oil_crisis",
        "European_Union_law", "Amazon_rainforest", "Black_Death", "Civil_disobedience", "Construction",
        "Ctenophora", "Economic_inequality", "Fresno,_California", "Geology",
        "Intergovernmental_Panel_on_Climate_Change", "Jacksonville,_Florida", "Oxygen",
    }
)  # fmt: skip
DEV_TITLES = frozenset({"Pharmacy", "Prime_number", "Private_school", "Victoria_(Australia)"})
TEST_TITLES = frozenset(
    {
        "Packet_switching", "Harvard_University", "Yuan_dynasty", "Immune_system", "Scottish_Parliament",
        "Islamism", "Imperialism", "Warsaw", "French_and_Indian_War", "Force", "Rhine", "Sky_(United_Kingdom)",
        "Southern_California", "University_of_Chicago",
    }
)  # fmt: skip


TITLE_PARTS = {"train": TRAIN_TITLES, "dev": DEV_TITLES, "test": TEST_TITLES}


@dataclass(frozen=True, slots=True)
class SquadQuestion:
    qid: str
    question: str
    answers: tuple[str, ...]  # empty: unanswerable
    doc_id: str  # "<article title>/<paragraph number>"
    article: str


def load_squad(path: Path) -> tuple[dict[str, tuple[str, str]], list[SquadQuestion], list[str]]:
    """(paragraphs: doc id → (article title, text), questions, article titles in file order)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))["data"]
    except (OSError, ValueError, KeyError) as err:
        raise QAError(f"{path}: not a SQuAD 2.0 JSON file ({err})") from err
    paragraphs: dict[str, tuple[str, str]] = {}
    questions, titles = [], []
    for article in data:
        titles.append(article["title"])
        for pi, para in enumerate(article["paragraphs"]):
            doc_id = f"{article['title']}/{pi}"
            paragraphs[doc_id] = (article["title"], para["context"])
            for qa in para["qas"]:
                answers = tuple(dict.fromkeys(a["text"] for a in qa.get("answers", []) if a["text"].strip()))
                questions.append(
                    SquadQuestion(
                        qa["id"], qa["question"], () if qa.get("is_impossible") else answers, doc_id, article["title"]
                    )
                )
    return paragraphs, questions, titles


def questions_of(questions: Sequence[SquadQuestion], part: str) -> list[SquadQuestion]:
    """The questions of the fixed article split's ``part`` (``train``, ``dev``, ``test``) or ``all``."""
    if part == "all":
        return list(questions)
    if part not in TITLE_PARTS:
        raise ValueError(f"part must be one of train, dev, test, all; got {part!r}")
    return [q for q in questions if q.article in TITLE_PARTS[part]]
