"""SQuAD 2.0 with the official metrics, reader only: each question is read against its own paragraph.

The SQuAD file is indexed with the product's pipeline (sentence features on, cached under
``cache_dir``); questions of the requested article split (``eval.squad.split``) are encoded in
batches, given the passages of their own paragraph as hits (``eval.squad.paragraph_hits``, no
retrieval), and read by ``qa.answer.Reader``. The prediction is the answer's text, or ``""`` when
the reader abstains; exact match and F1 are those of the official ``evaluate-v2.0.py``
(``eval.squad_metrics``).

Each question is read twice: once at the threshold asked for (the predictions) and once at
threshold 0 (never abstaining), which gives the answer-in-sentence accuracy (a gold answer,
normalised, stands as whole tokens in the normalised sentence the reader picked) and the scores
the reader would get if it always answered.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from eval import squad
from eval.squad_metrics import compute_exact, gold_answers, normalize_answer, squad_scores
from index.chunking import ChunkSettings
from index.embed import Embedder
from qa.answer import Calibration, Reader
from qa.errors import QAError
from qa.types import Result

# Published figures, for orientation only: other data (the whole dev set, the hidden test set).
# deepset/minilm-uncased-squad2 model card: EM/F1 as verified on the HF hub (76.1921 / 79.5483); the
# HasAns/NoAns figures come from the card's own official-script run (EM 76.13, F1 79.50).
REFERENCES: tuple[tuple[str, dict[str, float | None]], ...] = (
    (
        "deepset/minilm-uncased-squad2 (published, full dev set)",
        {"exact": 76.2, "f1": 79.6, "HasAns_exact": 78.4, "HasAns_f1": 85.1, "NoAns_exact": 73.9},
    ),
    (
        "SQuAD 2.0 human performance (published, test set)",
        {"exact": 86.8, "f1": 89.5, "HasAns_exact": None, "HasAns_f1": None, "NoAns_exact": None},
    ),
)


@dataclass(frozen=True, slots=True)
class SquadReport:
    path: str
    part: str
    threshold: float
    articles: int
    paragraphs: int
    questions: int
    answerable: int
    unanswerable: int
    scores: dict[str, Any]  # the official summary (eval.squad_metrics.squad_scores), percentages
    forced_scores: dict[str, Any]  # the same when the reader never abstains (threshold 0)
    always_abstain: dict[str, Any]  # the same for the empty prediction everywhere
    answer_in_sentence: float  # % of answerable questions whose forced best sentence holds a gold answer
    abstained_answerable: float  # % of answerable questions abstained on
    abstained_unanswerable: float  # % of unanswerable questions abstained on (== NoAns_exact)
    index_seconds: float
    encode_seconds: float
    read_seconds: float
    total_seconds: float
    predictions: dict[str, str]  # qid → answer text, "" = abstained
    forced_predictions: dict[str, str]  # qid → answer text at threshold 0
    forced_sentences: dict[str, str]  # qid → the sentence of the answer at threshold 0 ("" if none)


def prediction(result: Result) -> str:
    """The SQuAD prediction of a result: the answer's text, or "" when it abstains."""
    return "" if result.no_answer or result.answer is None else result.answer.text


def sentence_holds_gold(sentence: str, answers: tuple[str, ...]) -> bool:
    """A gold answer, normalised, stands as whole tokens in the normalised ``sentence``."""
    hay = f" {normalize_answer(sentence)} "
    return any(g and f" {normalize_answer(g)} " in hay for g in gold_answers(answers))


def run(
    path: Path,
    *,
    embedder: Embedder,
    cache_dir: Path,
    chunking: ChunkSettings,
    limit: int | None = None,
    part: str = "test",
    threshold: float | None = None,
    progress: bool = False,
    train_articles: int = squad.TRAIN_ARTICLES,
) -> SquadReport:
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    started = time.perf_counter()
    index, (questions, titles) = squad.squad_index(path, cache_dir, embedder, chunking)
    index_seconds = time.perf_counter() - started
    chosen = squad.split(questions, titles, part, train_articles)
    if limit is not None:
        chosen = chosen[:limit]
    if not chosen:
        raise QAError(
            f"{path}: no questions in part {part!r} ({len(titles)} articles, the first {train_articles} are 'train')"
        )

    t = time.perf_counter()
    vectors = embedder.encode([q.question for q in chosen], batch_size=128, progress=progress)
    encode_seconds = time.perf_counter() - t

    identity = Calibration()
    if threshold is None:
        threshold = squad_threshold(index, embedder, questions, titles, train_articles)
    t = time.perf_counter()
    reader = Reader(index, calibration=identity)
    all_hits = squad.paragraph_hits(index, vectors, [q.doc_id for q in chosen])
    predictions: dict[str, str] = {}
    forced_predictions: dict[str, str] = {}
    forced_sentences: dict[str, str] = {}
    in_sentence = 0
    rows = zip(chosen, vectors, all_hits, strict=True)
    for q, vector, hits in tqdm(rows, total=len(chosen), desc="reading", unit="q", disable=not progress):
        result = reader.read(q.question, vector, hits, threshold)
        forced = reader.read(q.question, vector, hits, 0.0)
        predictions[q.qid] = prediction(result)
        forced_predictions[q.qid] = prediction(forced)
        forced_sentences[q.qid] = forced.answer.sentence.text if forced.answer is not None else ""
        in_sentence += bool(q.answers) and sentence_holds_gold(forced_sentences[q.qid], q.answers)
    read_seconds = time.perf_counter() - t

    answerable = [q for q in chosen if q.answers]
    unanswerable = [q for q in chosen if not q.answers]
    return SquadReport(
        path=str(path),
        part=part,
        threshold=threshold,
        articles=len({q.article for q in chosen}),
        paragraphs=len({q.doc_id for q in chosen}),
        questions=len(chosen),
        answerable=len(answerable),
        unanswerable=len(unanswerable),
        scores=squad_scores(predictions, chosen),
        forced_scores=squad_scores(forced_predictions, chosen),
        always_abstain=squad_scores(dict.fromkeys(predictions, ""), chosen),
        answer_in_sentence=100.0 * in_sentence / len(answerable) if answerable else 0.0,
        abstained_answerable=_share(answerable, predictions),
        abstained_unanswerable=_share(unanswerable, predictions),
        index_seconds=index_seconds,
        encode_seconds=encode_seconds,
        read_seconds=read_seconds,
        total_seconds=time.perf_counter() - started,
        predictions=predictions,
        forced_predictions=forced_predictions,
        forced_sentences=forced_sentences,
    )


def squad_threshold(
    index: Any, embedder: Embedder, questions: Sequence[squad.SquadQuestion], titles: Sequence[str], train_articles: int
) -> float:
    """The abstention threshold for SQuAD's own prior: the best official EM on the *training* articles.

    Answering pays when the chance that the span is exactly right beats the chance that the
    question has no answer; on SQuAD (about half unanswerable) that is a different point than on
    civic questions, so it is learned here, on the training articles, with the uncalibrated confidence.
    """
    train = squad.split(questions, titles, "train", train_articles)
    if not train:
        return Calibration().threshold
    reader = Reader(index, calibration=Calibration())
    vectors = embedder.encode([q.question for q in train], batch_size=128)
    hits = squad.paragraph_hits(index, vectors, [q.doc_id for q in train])
    scored = []
    for q, vector, h in zip(train, vectors, hits, strict=True):
        r = reader.read(q.question, vector, h, 0.0)
        pred = prediction(r)
        right = bool(q.answers) and any(compute_exact(g, pred) for g in q.answers)
        scored.append((r.confidence, right, not q.answers))
    best, chosen = -1.0, 0.5
    for t in np.linspace(0.0, 1.0, 101):
        em = sum(right if c >= t else unanswerable for c, right, unanswerable in scored)
        if em > best:
            best, chosen = em, float(t)
    return chosen


def _share(questions: list[squad.SquadQuestion], predictions: dict[str, str]) -> float:
    """% of ``questions`` abstained on."""
    return 100.0 * sum(predictions[q.qid] == "" for q in questions) / len(questions) if questions else 0.0


def _cell(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def _row(name: str, s: dict[str, Any]) -> str:
    cells = [s.get(k) for k in ("exact", "f1", "HasAns_exact", "HasAns_f1", "NoAns_exact")]
    return f"| {name} | " + " | ".join(_cell(c) for c in cells) + " |"


def format_report(report: SquadReport) -> str:
    r = report
    rate = r.questions / r.encode_seconds if r.encode_seconds else float("nan")
    lines = [
        f"SQuAD 2.0 {Path(r.path).name}, {r.part} articles: {r.articles} articles, {r.paragraphs} paragraphs, "
        f"{r.questions} questions ({r.answerable} answerable, {r.unanswerable} unanswerable); reader only "
        "(each question read against its own paragraph), official evaluate-v2.0 metrics",
        "",
        "| system | EM | F1 | HasAns EM | HasAns F1 | NoAns (abstained) |",
        "|---|---:|---:|---:|---:|---:|",
        _row(f"**civic-qa reader** (threshold {r.threshold:.2f})", r.scores),
        _row("civic-qa reader, never abstaining (threshold 0)", r.forced_scores),
        _row("always abstain (computed on these questions)", r.always_abstain),
        *(_row(name, figures) for name, figures in REFERENCES),
        "",
        f"answer in the best sentence (never abstaining, answerable questions): {r.answer_in_sentence:.1f} %",
        f"abstained: {r.abstained_answerable:.1f} % of answerable, {r.abstained_unanswerable:.1f} % of unanswerable",
        f"time: index {r.index_seconds:.1f} s, encode {r.encode_seconds:.1f} s ({rate:.0f} questions/s), "
        f"read {r.read_seconds:.1f} s ({1000 * r.read_seconds / r.questions:.2f} ms/question, two reads each), "
        f"total {r.total_seconds:.1f} s",
        "References are published figures on other data (the whole dev set; the hidden test set), for "
        "orientation only; deepset's HasAns/NoAns come from its card's official-script run (EM 76.1, F1 79.5).",
    ]
    return "\n".join(lines)
