"""SQuAD 2.0 with the official metrics, reader only: each question read against its own paragraph.

Every question of the requested article part (:mod:`eval.squad`'s fixed split; ``test`` unless
asked) is read by the trained reader against its paragraph (titled as in training), in batches.
The prediction is the reader's span, or ``""`` when it abstains. Abstention on SQuAD (half its
questions unanswerable, a prior unlike the civic one) is one threshold on the reader's
answer-vs-no-answer log odds, chosen for the best F1 on the **dev** articles, which the reader
never trained on; the decision itself is :func:`qa.confidence.decide`, as in the product.

Scores are those of the official ``evaluate-v2.0.py`` (:mod:`eval.squad_metrics`). The run also
writes ``predictions.json`` (question id → answer, ``""`` = no answer) and ``na_probs.json``
(question id → probability of no answer) in the official formats, with ``squad-data.json`` (the
file cut to the questions read), so that the official script can check the figures:
``python evaluate-v2.0.py squad-data.json predictions.json --na-prob-file na_probs.json``.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from eval import squad
from eval.squad_metrics import raw_scores, squad_scores
from index.errors import QAError
from index.passages import Context
from qa.confidence import Confidence, decide
from qa.reader_model import ReaderModel
from qa.reading import GroupReading, make_windows, read_windows

# Published figures, for orientation only: other data (the whole dev set, the hidden test set).
# deepset/minilm-uncased-squad2 model card: EM/F1 as verified on the HF hub (76.1921 / 79.5483); the
# HasAns/NoAns figures come from the card's own official-script run (EM 76.13, F1 79.50).
REFERENCES: tuple[tuple[str, dict[str, float | None]], ...] = (
    (
        "deepset/minilm-uncased-squad2 (published, whole dev set; 12 layers)",
        {"exact": 76.2, "f1": 79.6, "HasAns_exact": 78.4, "HasAns_f1": 85.1, "NoAns_exact": 73.9},
    ),
    (
        "SQuAD 2.0 human performance (published, test set)",
        {"exact": 86.8, "f1": 89.5, "HasAns_exact": None, "HasAns_f1": None, "NoAns_exact": None},
    ),
)


@dataclass(frozen=True, slots=True)
class Read:
    """The reader's best span of one question (``""`` when nothing answerable) and its log odds."""

    text: str
    score: float  # log P(span) - log P(no answer)


@dataclass(frozen=True, slots=True)
class SquadReport:
    path: str
    part: str
    threshold: float  # on the answer-vs-no-answer log odds, chosen on the dev articles
    threshold_from: str
    articles: int
    questions: int
    answerable: int
    unanswerable: int
    scores: dict[str, Any]  # the official summary at the threshold (percentages)
    forced_scores: dict[str, Any]  # never abstaining
    best_scores: dict[str, Any]  # at the best threshold for these questions (an oracle, as the official script's)
    best_threshold: float
    always_abstain: dict[str, Any]
    read_seconds: float
    predictions: dict[str, str]
    na_probs: dict[str, float]
    extra_rows: tuple[tuple[str, dict[str, Any]], ...] = ()


def read_questions(
    model: ReaderModel, questions: Sequence[squad.SquadQuestion], paragraphs: dict[str, tuple[str, str]], *,
    batch: int = 32, progress: bool = False,
) -> dict[str, Read]:  # fmt: skip
    """Read each question against its own paragraph; ``paragraphs`` maps doc id → (title, text)."""
    out: dict[str, Read] = {}
    for i in tqdm(range(0, len(questions), batch), desc="reading", unit="batch", disable=not progress):
        part = questions[i : i + batch]
        contexts = [Context.of(*_titled(paragraphs[q.doc_id])) for q in part]
        windows = make_windows(
            model.tokenizer, [(q.question, [c]) for q, c in zip(part, contexts, strict=True)], model.settings
        )
        starts, ends = model.logits(windows)
        for q, c, r in zip(part, contexts, read_windows(windows, starts, ends, model.settings, len(part)), strict=True):
            out[q.qid] = _read(c, r)
    return out


def _titled(paragraph: tuple[str, str]) -> tuple[str, str]:
    title, text = paragraph
    return title.replace("_", " "), text


def _read(context: Context, r: GroupReading | None) -> Read:
    if r is None:
        return Read("", -math.inf)
    return Read(context.text[r.start : r.end], r.features["answer_vs_null"])


def predictions_at(reads: dict[str, Read], confidence: Confidence) -> dict[str, str]:
    return {
        qid: r.text if decide(confidence.probability({"answer_vs_null": r.score}), confidence) else ""
        for qid, r in reads.items()
    }


def best_threshold(reads: dict[str, Read], questions: Sequence[squad.SquadQuestion]) -> tuple[float, float]:
    """(threshold, F1) with the best official F1 over ``questions`` when answering above the threshold."""
    forced = {qid: r.text for qid, r in reads.items()}
    _, f1 = raw_scores(forced, questions)
    scored = sorted(((reads[q.qid].score, f1[q.qid], not q.answers) for q in questions), key=lambda x: -x[0])
    # Answering the top-k by score: F1 = Σ f1 of answered + (unanswerable among the abstained).
    total_unans = sum(u for _, _, u in scored)
    best: float = total_unans
    best_t, gained, unans_answered = math.inf, 0.0, 0
    for k, (score, f, unans) in enumerate(scored):
        gained += 0.0 if unans else f
        unans_answered += unans
        value = gained + (total_unans - unans_answered)
        nxt = scored[k + 1][0] if k + 1 < len(scored) else -math.inf
        if value > best and score > nxt:
            best, best_t = value, (score + nxt) / 2 if math.isfinite(nxt) else score - 1.0
    return best_t, 100.0 * best / len(questions) if questions else 0.0


def run(
    path: Path,
    model: ReaderModel,
    *,
    part: str = "test",
    limit: int | None = None,
    threshold: float | None = None,
    progress: bool = False,
) -> SquadReport:
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    paragraphs, questions, _ = squad.load_squad(path)
    chosen = squad.questions_of(questions, part)[:limit]
    if not chosen:
        raise QAError(f"{path}: no questions of the {part!r} articles in this file")
    threshold_from = "given"
    if threshold is None:
        dev = squad.questions_of(questions, "dev")
        if not dev:
            raise QAError(f"{path}: none of the dev articles that choose the threshold; pass a threshold")
        threshold, _ = best_threshold(read_questions(model, dev, paragraphs, progress=progress), dev)
        threshold_from = f"best F1 on the {len(dev):,} questions of the {len(squad.DEV_TITLES)} dev articles"
    started = time.perf_counter()
    reads = read_questions(model, chosen, paragraphs, progress=progress)
    read_seconds = time.perf_counter() - started
    confidence = Confidence.threshold_on("answer_vs_null", threshold)
    predictions = predictions_at(reads, confidence)
    oracle_t, _ = best_threshold(reads, chosen)
    answerable = sum(bool(q.answers) for q in chosen)
    return SquadReport(
        path=str(path),
        part=part,
        threshold=threshold,
        threshold_from=threshold_from,
        articles=len({q.article for q in chosen}),
        questions=len(chosen),
        answerable=answerable,
        unanswerable=len(chosen) - answerable,
        scores=squad_scores(predictions, chosen),
        forced_scores=squad_scores({k: r.text for k, r in reads.items()}, chosen),
        best_scores=squad_scores(predictions_at(reads, Confidence.threshold_on("answer_vs_null", oracle_t)), chosen),
        best_threshold=oracle_t,
        always_abstain=squad_scores(dict.fromkeys(predictions, ""), chosen),
        read_seconds=read_seconds,
        predictions=predictions,
        na_probs={
            k: round(1.0 / (1.0 + math.exp(min(30.0, max(-30.0, r.score - threshold)))), 6) for k, r in reads.items()
        },
    )


def write_official(report: SquadReport, out: Path) -> list[Path]:
    """``predictions.json`` and ``na_probs.json`` in the official evaluate-v2.0 formats, and
    ``squad-data.json``: the SQuAD file cut to the questions read, which that script scores them against."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    data = json.loads(Path(report.path).read_text(encoding="utf-8"))
    for article in data["data"]:
        for para in article["paragraphs"]:
            para["qas"] = [qa for qa in para["qas"] if qa["id"] in report.predictions]
        article["paragraphs"] = [p for p in article["paragraphs"] if p["qas"]]
    data["data"] = [a for a in data["data"] if a["paragraphs"]]
    for name, payload in (
        ("predictions.json", report.predictions),
        ("na_probs.json", report.na_probs),
        ("squad-data.json", data),
    ):
        path = out / name
        path.write_text(json.dumps(payload, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    return written


def _cell(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def _row(name: str, s: dict[str, Any]) -> str:
    cells = [s.get(k) for k in ("exact", "f1", "HasAns_exact", "HasAns_f1", "NoAns_exact")]
    return f"| {name} | " + " | ".join(_cell(c) for c in cells) + " |"


def format_report(report: SquadReport) -> str:
    r = report
    lines = [
        f"SQuAD 2.0 {Path(r.path).name}, {r.part} articles: {r.articles} articles, {r.questions:,} questions "
        f"({r.answerable:,} answerable, {r.unanswerable:,} unanswerable); each read against its own paragraph; "
        "official evaluate-v2.0 metrics",
        "",
        "| system | EM | F1 | HasAns EM | HasAns F1 | NoAns (abstained) |",
        "|---|---:|---:|---:|---:|---:|",
        _row(f"**civic-qa reader** (log-odds threshold {r.threshold:+.2f}, {r.threshold_from})", r.scores),
        _row("civic-qa reader, never abstaining", r.forced_scores),
        _row(f"civic-qa reader, best threshold for these questions ({r.best_threshold:+.2f}; oracle)", r.best_scores),
        *(_row(name, figures) for name, figures in r.extra_rows),
        _row("always abstain (these questions)", r.always_abstain),
        *(_row(name, figures) for name, figures in REFERENCES),
        "",
        f"read {r.questions:,} questions in {r.read_seconds:.1f} s ({1000 * r.read_seconds / r.questions:.1f} ms each)",
        "References are published figures on other data (the whole dev set; the hidden test set), for "
        "orientation only; deepset's HasAns/NoAns come from its card's official-script run.",
    ]
    return "\n".join(lines)
