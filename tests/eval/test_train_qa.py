"""`qa train-reader`: gold positions, the shared-normalised loss, and a smoke run of the training loop."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from eval.qa_data import Group, civic_groups, civic_part, squad_groups
from eval.sets import EvalQuestion
from eval.train_qa import (
    CHECKPOINT,
    TrainData,
    Trainer,
    TrainSettings,
    gold_masks,
    learning_rate,
    load_tokenizer,
    shared_norm_loss,
)
from index.errors import QAError
from index.passages import Context
from qa.reader_model import load_reader_model
from qa.reading import WindowSettings, allowed_positions, make_windows, read_group

PARAGRAPHS = [
    "The Kestrel Point lighthouse was built in 1872 by the engineer Margaret Fell. Its lamp was converted "
    "to electricity in 1931.",
    "The last keeper, Thomas Grey, left in 1968 when the light became automatic. Visitors climb 112 steps.",
    "Halden Bakery opened on Mill Street in 1990. It sells about 400 loaves every morning.",
]
QUESTIONS = [
    (0, "Who built the lighthouse?", "Margaret Fell"),
    (0, "When was the lamp converted to electricity?", "1931"),
    (1, "Who was the last keeper?", "Thomas Grey"),
    (1, "How many steps do visitors climb?", "112"),
    (2, "Where did Halden Bakery open?", "Mill Street"),
    (2, "How many loaves does it sell?", "about 400"),
]


def _squad_file(tmp_path: Path) -> Path:
    qas: list[list[dict]] = [[] for _ in PARAGRAPHS]
    for n, (p, q, a) in enumerate(QUESTIONS):
        qas[p].append({"id": f"q{n}", "question": q, "answers": [{"text": a, "answer_start": PARAGRAPHS[p].index(a)}]})
    data = {
        "data": [
            {
                "title": "Kestrel_Point",
                "paragraphs": [{"context": c, "qas": q} for c, q in zip(PARAGRAPHS, qas, strict=True)],
            }
        ]
    }
    path = tmp_path / "train.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_squad_groups_pair_each_question_with_a_paragraph_that_lacks_its_answer(tmp_path: Path) -> None:
    groups = squad_groups(_squad_file(tmp_path), rng=random.Random(0), negatives=1)
    assert len(groups) == len(QUESTIONS)
    for g, (_, _, answer) in zip(groups, QUESTIONS, strict=True):
        assert len(g.contexts) == 2 and len(g.golds) == 1
        c, a, b = g.golds[0]
        assert g.contexts[c].text[a:b] == answer and g.contexts[c].text.startswith("Kestrel Point\n")
        other = g.contexts[1 - c]
        assert answer not in other.text
    asked_elsewhere = squad_groups(_squad_file(tmp_path), rng=random.Random(0), null_share=1.0)
    assert all(not g.golds and len(g.contexts) == 2 for g in asked_elsewhere)


def test_civic_groups_find_gold_answers_in_any_case_and_split_dev_sets_in_half() -> None:
    questions = [EvalQuestion("a", "Where?", ("Mill street",), "d"), EvalQuestion("b", "Who?", (), None)]
    contexts = [Context.of("Bakery", "It opened on Mill Street. Mill Street is busy.")]
    g1, g2 = civic_groups(questions, [[], []], lambda hits: contexts)
    assert [g1.contexts[0].text[a:b] for _, a, b in g1.golds] == ["Mill Street", "Mill Street"]
    assert g2.golds == ()
    parts = [civic_part(f"corpora-dev-{i:03d}") for i in range(200)]
    assert 70 < parts.count("reader") < 130 and parts == [civic_part(f"corpora-dev-{i:03d}") for i in range(200)]


def _group(answer: bool) -> Group:
    ctx = Context.of("Kestrel Point", PARAGRAPHS[0])
    a = ctx.text.index("Margaret Fell")
    golds = ((1, a, a + len("Margaret Fell")),) if answer else ()
    return Group("g", "Who built the lighthouse?", (Context.of("Kestrel Point", PARAGRAPHS[2]), ctx), golds, "squad1")


def test_gold_masks_mark_the_answer_tokens_or_every_cls() -> None:
    tokenizer = load_tokenizer()
    answered, unanswered = _group(True), _group(False)
    w = make_windows(tokenizer, [(g.question, g.contexts) for g in (answered, unanswered)], WindowSettings())
    gs, ge = gold_masks(w, [answered, unanswered])
    (row,) = np.flatnonzero(gs.any(axis=1) & ~gs[:, 0])
    ctx = answered.contexts[1]
    assert w.context[row] == 1 and w.group[row] == 0
    assert ctx.text[w.starts[row][gs[row]][0] : w.ends[row][ge[row]][0]] == "Margaret Fell"
    assert gs[w.rows(1), 0].all() and ge[w.rows(1), 0].all() and gs[w.rows(1), 1:].sum() == 0


def test_the_loss_is_minus_the_log_probability_the_reader_reads() -> None:
    """Training and reading normalise alike: with one gold start and end, the loss of a group is
    -log P(span) as :func:`qa.reading.read_group` computes it."""
    tokenizer = load_tokenizer()
    g = _group(True)
    w = make_windows(tokenizer, [(g.question, g.contexts)], WindowSettings())
    gs, ge = gold_masks(w, [g])
    rng = np.random.default_rng(0)
    s = rng.normal(size=w.starts.shape).astype(np.float32)
    e = rng.normal(size=w.starts.shape).astype(np.float32)
    s[gs], e[ge] = 9.0, 9.0  # the gold span is the best one
    loss = shared_norm_loss(
        torch.from_numpy(s),
        torch.from_numpy(e),
        torch.from_numpy(allowed_positions(w.starts)),
        torch.from_numpy(gs),
        torch.from_numpy(ge),
        torch.from_numpy(w.group),
    )
    r = read_group(s, e, w.starts, w.ends, w.context, max_answer_tokens=48)
    assert g.contexts[r.context].text[r.start : r.end] == "Margaret Fell"
    assert float(loss) == pytest.approx(-r.span_logprob, rel=1e-4)


def test_learning_rate_warms_up_then_decays_to_zero_at_the_end() -> None:
    s = TrainSettings(lr=1.0, warmup=0.1)
    rates = [learning_rate(b, 100, 100, s) for b in range(100)]
    assert rates[0] == pytest.approx(0.1) and rates[9] == pytest.approx(1.0) and rates[-1] < 0.02
    assert learning_rate(50, 100, 60, s) < learning_rate(50, 100, 100, s)  # finishing early decays faster


@pytest.mark.slow
def test_training_smoke_runs_resumes_and_exports_a_loadable_model(tmp_path: Path) -> None:
    data = TrainData(_squad_file(tmp_path))
    settings = TrainSettings(groups_per_batch=2, curve_questions=0, null_share=0.3)
    work = tmp_path / "work"
    first = Trainer(data, settings, work).run(stop_after=1, checkpoint_minutes=0)
    assert first["batch"] == 1 and (work / CHECKPOINT).is_file() and not first["complete"]
    second = Trainer(data, settings, work).run()
    assert second["batch"] == 3 and second["complete"] and len(second["curve"]) >= 2
    manifest = Trainer(data, settings, work).export(tmp_path / "reader")
    assert manifest["progress"]["batches"] == 3 and manifest["recipe"]["groups_per_batch"] == 2
    model = load_reader_model(tmp_path / "reader", precision="fp32")
    w = make_windows(model.tokenizer, [("Who built it?", [Context(PARAGRAPHS[0])])], model.settings)
    assert model.logits(w)[0].shape == w.input_ids.shape
    with pytest.raises(QAError, match="another training plan"):
        Trainer(data, TrainSettings(groups_per_batch=2, curve_questions=0, seed=1), work).run()


def test_manifest_names_data_files_without_this_machines_paths(tmp_path: Path) -> None:
    """Regression: the shipped manifest recorded /work/shared/... absolute paths."""
    data = TrainData(_squad_file(tmp_path))
    settings = TrainSettings(groups_per_batch=2, curve_questions=0)
    work = tmp_path / "work"
    Trainer(data, settings, work).run(stop_after=1, checkpoint_minutes=0)
    manifest = Trainer(data, settings, work).export(tmp_path / "reader")
    name = manifest["data"]["squad1.1-train"]
    assert name == f"{data.squad_train.parent.name}/{data.squad_train.name}" and str(tmp_path) not in name
    assert len(manifest["data"]["squad1.1-train sha256"]) == 64


@pytest.mark.slow
def test_training_continues_from_exported_weights_when_the_checkpoint_is_gone(tmp_path: Path) -> None:
    """A new machine has the shipped weights but not the checkpoint: the plan goes on from them."""
    data = TrainData(_squad_file(tmp_path))
    settings = TrainSettings(groups_per_batch=2, curve_questions=0, null_share=0.3)
    Trainer(data, settings, tmp_path / "a").run(stop_after=1, checkpoint_minutes=0)
    Trainer(data, settings, tmp_path / "a").export(tmp_path / "reader")
    state = Trainer(data, settings, tmp_path / "b", from_weights=tmp_path / "reader").run()
    assert state["complete"] and state["batch"] == 3 and state["restarted_at"] == 1
    assert len(state["curve"]) == 2  # the exported point, then this run's
    with pytest.raises(QAError, match="another training plan"):
        Trainer(
            data, TrainSettings(groups_per_batch=3, curve_questions=0), tmp_path / "c", from_weights=tmp_path / "reader"
        ).run()
