"""The reader's learning curve: what each training checkpoint is measured on and how.

The yardstick is the first questions of the SQuAD 2.0 **dev** articles (never trained on), each read
against its own paragraph: span F1 and EM never abstaining, the answerable-vs-not AUC of the
answer-vs-null score, and the best-threshold overall F1.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from eval import squad
from eval.qa_data import Group, squad_groups
from eval.squad_metrics import compute_exact, compute_f1
from qa.reader_model import ReaderModel
from qa.reading import make_windows, read_windows


def curve_groups(squad2: Path | None, n: int) -> list[Group]:
    """The first ``n`` questions of the SQuAD 2.0 dev articles (never trained on), each with its own
    paragraph only: the learning curve's yardstick."""
    if squad2 is None or n <= 0:
        return []
    groups = squad_groups(squad2, rng=random.Random(0), articles=squad.DEV_TITLES, negatives=0, source="curve")
    return groups[:n]


def _squad_answers(group: Group) -> list[str]:
    c = group.contexts
    return [c[i].text[a:b] for i, a, b in group.golds]


def measure(model: ReaderModel, groups: Sequence[Group], batch: int = 16) -> dict[str, float]:
    """HasAns F1 never abstaining, NoAns AUC of the answer-vs-null score, best-threshold overall F1."""
    if not groups:
        return {}
    scores, f1s, exacts, answerable = [], [], [], []
    for i in range(0, len(groups), batch):
        part = groups[i : i + batch]
        win = make_windows(model.tokenizer, [(g.question, g.contexts) for g in part], model.settings)
        s, e = model.logits(win)
        for g, r in zip(part, read_windows(win, s, e, model.settings, len(part)), strict=True):
            golds = _squad_answers(g)
            text = "" if r is None else g.contexts[r.context].text[r.start : r.end]
            scores.append(-1e9 if r is None else r.span_logprob - r.null_logprob)
            answerable.append(bool(golds))
            f1s.append(max((compute_f1(a, text) for a in golds), default=0.0))
            exacts.append(max((compute_exact(a, text) for a in golds), default=0))
    y = np.array(answerable)
    sc = np.array(scores)
    f1 = np.array(f1s)
    out = {
        "questions": float(len(y)),
        "hasans_f1_forced": 100 * float(f1[y].mean()) if y.any() else 0.0,
        "hasans_em_forced": 100 * float(np.array(exacts)[y].mean()) if y.any() else 0.0,
    }
    if y.any() and (~y).any():
        ranks = sc.argsort().argsort()
        pos = ranks[y].astype(float)
        out["answerable_auc"] = float((pos.sum() - len(pos) * (len(pos) - 1) / 2) / (len(pos) * (~y).sum()))
        best = max(
            (float(np.where(sc > t, np.where(y, f1, 0.0), np.where(y, 0.0, 1.0)).mean()), t)
            for t in np.concatenate([[-np.inf], np.unique(sc)])
        )
        out["best_f1"] = 100 * best[0]
    return out
