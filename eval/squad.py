"""SQuAD 2.0 (reader only): every question is read against the passages of its own paragraph.

The file is split by article: the first ``TRAIN_ARTICLES`` articles (file order) may be used for
training (the reader's confidence model); figures are reported on the others only.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eval.retrieval_bench import cached_index
from index.chunking import ChunkSettings
from index.embed import Embedder
from index.reader import parse_document
from index.store import Index
from qa.errors import QAError
from qa.types import Hit

TRAIN_ARTICLES = 6


@dataclass(frozen=True, slots=True)
class SquadQuestion:
    qid: str
    question: str
    answers: tuple[str, ...]  # empty: unanswerable
    doc_id: str
    article: str


def load_squad(path: Path) -> tuple[list, list[SquadQuestion], list[str]]:
    """(documents, questions, article titles in file order)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))["data"]
    except (OSError, ValueError, KeyError) as err:
        raise QAError(f"{path}: not a SQuAD 2.0 JSON file ({err})") from err
    documents, questions, titles = [], [], []
    for article in data:
        titles.append(article["title"])
        for pi, para in enumerate(article["paragraphs"]):
            doc_id = f"{article['title']}/{pi}"
            documents.append(parse_document(doc_id, path, para["context"]))
            for qa in para["qas"]:
                answers = tuple(dict.fromkeys(a["text"] for a in qa.get("answers", []) if a["text"].strip()))
                questions.append(
                    SquadQuestion(
                        qa["id"], qa["question"], () if qa.get("is_impossible") else answers, doc_id, article["title"]
                    )
                )
    return documents, questions, titles


PARTS = ("train", "test", "all")


def split(
    questions: Sequence[SquadQuestion], titles: Sequence[str], part: str, train_articles: int = TRAIN_ARTICLES
) -> list[SquadQuestion]:
    """The questions of ``part``: ``train`` = the first ``train_articles`` articles, ``test`` = the others."""
    if part not in PARTS:
        raise ValueError(f"part must be one of {', '.join(PARTS)}, got {part!r}")
    if train_articles < 0:
        raise ValueError(f"train_articles must be >= 0, got {train_articles}")
    if part == "all":
        return list(questions)
    train = set(titles[:train_articles])
    return [q for q in questions if (q.article in train) == (part == "train")]


def squad_index(path: Path, cache_dir: Path, embedder: Embedder, chunking: ChunkSettings) -> tuple[Index, list]:
    documents, questions, titles = load_squad(path)
    index, _ = cached_index(documents, cache_dir, embedder, chunking, "squad2", sentence_features=True)
    return index, [questions, titles]


def paragraph_hits(index: Index, vectors: np.ndarray, doc_ids: Sequence[str]) -> list[list[Hit]]:
    """The passages of each question's own paragraph as hits (no retrieval), dense scores included."""
    rows: dict[str, list[int]] = {}
    for i, p in enumerate(index.passages):
        rows.setdefault(p.doc_id, []).append(i)
    out = []
    for vector, doc_id in zip(vectors, doc_ids, strict=True):
        idx = rows.get(doc_id, [])
        dense = index.embeddings[idx] @ vector if idx else np.zeros(0)
        order = np.argsort(-dense, kind="stable")
        hits = []
        for rank, j in enumerate(order, 1):
            p = index.passages[idx[int(j)]]
            hits.append(
                Hit(p, index.documents[p.doc_id].title, float(dense[j]), rank, None, None, rank, float(dense[j]))
            )
        out.append(hits)
    return out
