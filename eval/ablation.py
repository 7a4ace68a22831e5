"""`qa bench ablation`: what each group of reader features buys, measured on held-out *dev* data only.

Each row retrains the sentence scorer and span ranker without one group of features (its columns
set to zero in training and reading) and reads questions the models never saw:

- civic: train on SQuAD training articles + seeds-dev, read corpora-dev; then train on SQuAD +
  corpora-dev, read seeds-dev (two folds; answerable questions, retrieval top 5);
- SQuAD: the last training article (``HOLDOUT``) is held out of training and read.

No test set is read. Columns: answer-in-sentence top-1 (civic, both folds pooled), span F1 of the
answer (civic), sentence top-1 and span exact match on the held-out SQuAD article (answerable).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eval import squad, train_reader
from eval.retrieval_bench import cached_index
from eval.sets import SETS_DIR, load_eval_set
from eval.squad_metrics import compute_exact, compute_f1
from index.chunking import ChunkSettings
from index.embed import Embedder
from index.reader import read_documents
from qa.answer import Candidate, Logistic, Reader, ReaderModel, answer_span
from qa.features import SENTENCE_FEATURES, SPAN_FEATURES
from qa.retriever import Retriever

log = logging.getLogger(__name__)

HOLDOUT = "European_Union_law"
# How the civic questions are read: (name, aliases, the heading above a section's first sentence).
READINGS = (("full", True, True), ("no aliases", False, True), ("no headings", True, False))
TYPE_SENTENCE = ("typed_found", "typed_missing")
TYPE_SPAN_PREFIXES = tuple(f"{qc}|" for qc in ("what", "which", "who", "whose", "when", "where", "why", "how"))


def _type_span(name: str) -> bool:
    return name in ("type_match", "type_mismatch") or (
        "|" in name and not name.split("|")[1].startswith(("dep:", "pos:", "prep:"))
    )


GROUPS: dict[str, tuple[Callable[[str], bool], Callable[[str], bool]]] = {
    "answer type": (lambda f: f in TYPE_SENTENCE, _type_span),
    "neighbours and headings": (lambda f: f in ("previous", "next", "context", "heading"), lambda f: False),
    "syntax (span role, governor)": (
        lambda f: False,
        lambda f: "|dep:" in f or "|pos:" in f or "|prep:" in f or f in ("governor_in_question", "prep_in_question"),
    ),
}


@dataclass(frozen=True, slots=True)
class Row:
    name: str
    civic_sentence: float
    civic_f1: float
    squad_sentence: float
    squad_em: float


def _mask(names: Sequence[str], drop: Callable[[str], bool]) -> np.ndarray:
    return np.array([0.0 if drop(n) else 1.0 for n in names])


def _masked(examples: Sequence[train_reader.Example], sm: np.ndarray, pm: np.ndarray) -> list:
    out = []
    for ex in examples:
        cands = [Candidate(c.record, c.hit, c.features * sm, c.heading) for c in ex.candidates]
        groups = [(x * pm, y) for x, y in ex.span_groups]
        out.append(train_reader.Example(ex.question, ex.analysed, cands, ex.labels, groups, ex.source))
    return out


def _read(model: ReaderModel, examples: Sequence[train_reader.Example], reader: Reader, pm: np.ndarray) -> tuple:
    n = sentence = em = f1 = 0.0
    for ex in examples:
        if not ex.question.answerable:
            continue
        n += 1
        if not ex.candidates:
            continue
        best = int(np.argmax(model.sentence.logit(np.stack([c.features for c in ex.candidates]))))
        sentence += bool(ex.labels[best])
        spans, x = reader.span_candidates(ex.analysed, ex.candidates[best])
        sp = answer_span(ex.analysed, ex.candidates[best], spans[int(np.argmax(model.span.logit(x * pm)))])
        text = reader.index.documents[ex.candidates[best].record.doc_id].text[sp.start : sp.end]
        em += max(compute_exact(g, text) for g in ex.question.answers)
        f1 += max(compute_f1(g, text) for g in ex.question.answers)
    return n, sentence, em, f1


def run(corpora: Path, squad_path: Path, *, embedder: Embedder, cache_dir: Path, chunking: ChunkSettings) -> list[Row]:
    sources = {
        "seeds": [SETS_DIR.parent.parent / "seeds"],
        "corpora": [corpora / "cil-handbook", corpora / "kp-digital-services"],
    }
    indexes = {
        name: cached_index(read_documents(paths), cache_dir, embedder, chunking, name, sentence_features=True)[0]
        for name, paths in sources.items()
    }
    civic: dict[tuple[str, str], tuple[list, Reader]] = {}
    for name, index in indexes.items():
        questions = load_eval_set(SETS_DIR / f"{name}-dev.jsonl")
        for reading, aliases, headings in READINGS:
            ex, readers = train_reader.collect(
                [(questions, Retriever(index, embedder))], 5, aliases=aliases, headings=headings
            )
            civic[(name, reading)] = (ex, readers[0])
    squad_examples, squad_reader = train_reader.collect_squad(squad_path, embedder, cache_dir, chunking)
    _, (questions, _) = squad.squad_index(squad_path, cache_dir, embedder, chunking)
    article = {q.qid: q.article for q in questions}
    sq_train = [e for e in squad_examples if article[e.question.id] != HOLDOUT]
    sq_val = [e for e in squad_examples if article[e.question.id] == HOLDOUT]

    keep = lambda f: False  # noqa: E731
    configs: list[tuple[str, Callable[[str], bool], Callable[[str], bool], str, bool]] = [
        ("full reader (learned)", keep, keep, "full", True)
    ]
    configs += [(f"without {g}", s, p, "full", True) for g, (s, p) in GROUPS.items()]
    configs.append(("without the heading above a section's first sentence", keep, keep, "no headings", True))
    configs.append(("without aliases (abbreviation ↔ long form)", keep, keep, "no aliases", True))
    configs.append(("hand weights (no learning), learned spans", keep, keep, "full", False))
    rows = []
    for name, drop_s, drop_p, reading, learned in configs:
        sm, pm = _mask(SENTENCE_FEATURES, drop_s), _mask(SPAN_FEATURES, drop_p)
        totals = np.zeros(4)
        for trn, tst in (("seeds", "corpora"), ("corpora", "seeds")):
            model = _train(sq_train + civic[(trn, reading)][0], sm, pm, learned)
            ex, reader = civic[(tst, reading)]
            totals += _read(model, _masked(ex, sm, pm), reader, pm)
        model = _train(sq_train + civic[("seeds", reading)][0] + civic[("corpora", reading)][0], sm, pm, learned)
        n, sent, em, _ = _read(model, _masked(sq_val, sm, pm), squad_reader, pm)
        rows.append(Row(name, 100 * totals[1] / totals[0], 100 * totals[3] / totals[0], 100 * sent / n, 100 * em / n))
        log.info("%s: %s", name, rows[-1])
    return rows


def _train(examples: Sequence[train_reader.Example], sm: np.ndarray, pm: np.ndarray, learned: bool) -> ReaderModel:
    examples = _masked(examples, sm, pm)
    sentence, span = train_reader.train(examples)
    if not learned:
        prior = np.array([train_reader.SENTENCE_PRIOR.get(f, 0.0) for f in SENTENCE_FEATURES]) * sm
        n = len(SENTENCE_FEATURES)
        sentence = Logistic(SENTENCE_FEATURES, np.zeros(n), np.ones(n), prior, 0.0)
    return ReaderModel(sentence, span, train_reader._identity_confidence(), {})


def format_rows(rows: Sequence[Row]) -> str:
    lines = [
        "| reader | civic answer-in-sentence | civic span F1 | SQuAD sentence top-1 | SQuAD span EM |",
        "|---|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r.name} | {r.civic_sentence:.1f} | {r.civic_f1:.1f} | {r.squad_sentence:.1f} | {r.squad_em:.1f} |"
        for r in rows
    ]
    return "\n".join(lines)
