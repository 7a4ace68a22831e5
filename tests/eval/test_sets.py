from __future__ import annotations

from pathlib import Path

import pytest

from eval.sets import SETS_DIR, EvalSetError, load_eval_set
from tests.conftest import ROOT

CORPORA = ("cil-handbook", "kp-digital-services")


def _check(questions: list, docs: dict[str, str]) -> None:
    for q in questions:
        if q.answerable:
            assert q.doc in docs, f"{q.id}: unknown doc {q.doc}"
            for answer in q.answers:
                assert answer in docs[q.doc], f"{q.id}: {answer!r} is not verbatim in {q.doc}"
        else:
            assert q.doc is None


@pytest.mark.parametrize("split", ["dev", "test"])
def test_seed_answers_stand_verbatim_in_their_documents(split: str) -> None:
    docs = {p.name: p.read_text(encoding="utf-8") for p in (ROOT / "seeds").iterdir()}
    questions = load_eval_set(SETS_DIR / f"seeds-{split}.jsonl")
    _check(questions, docs)


@pytest.mark.parametrize("split", ["dev", "test"])
def test_corpora_answers_stand_verbatim_in_their_documents(split: str, shared: Path) -> None:
    docs = {p.name: p.read_text(encoding="utf-8") for c in CORPORA for p in (shared / "corpora" / c).glob("*.md")}
    _check(load_eval_set(SETS_DIR / f"corpora-{split}.jsonl"), docs)


def test_sets_are_big_enough_and_ids_unique() -> None:
    sets = {p.stem: load_eval_set(p) for p in SETS_DIR.glob("*.jsonl")}
    seeds = sets["seeds-dev"] + sets["seeds-test"]
    corpora = sets["corpora-dev"] + sets["corpora-test"]
    assert len(seeds) >= 80 and sum(not q.answerable for q in seeds) >= 20 and len(corpora) >= 60
    ids = [q.id for qs in sets.values() for q in qs]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("not json", "not JSON"),
        ('{"id": "a", "question": "q?", "answers": "x", "doc": null}', "'answers' must be a list"),
        ('{"id": "a", "question": "q?", "answers": ["x"], "doc": null}', "an answerable question needs its 'doc'"),
        ('{"id": "a", "question": " ", "answers": [], "doc": null}', "'question' is empty"),
    ],
)
def test_bad_lines_are_reported_with_their_number(tmp_path: Path, line: str, problem: str) -> None:
    path = tmp_path / "set.jsonl"
    path.write_text('{"id": "ok", "question": "fine?", "answers": [], "doc": null}\n' + line + "\n")
    with pytest.raises(EvalSetError, match=f"set.jsonl:2: {problem}"):
        load_eval_set(path)
