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


def _all_documents(shared: Path) -> dict[str, str]:
    docs = {p.name: p.read_text(encoding="utf-8") for p in (ROOT / "seeds").iterdir()}
    return docs | {
        p.name: p.read_text(encoding="utf-8") for c in CORPORA for p in (shared / "corpora" / c).glob("*.md")
    }


def test_people_sets_stand_verbatim_split_by_document_and_in_other_words(shared: Path) -> None:
    """The people's-words sets: every gold verbatim in its document, no document in two splits, 300 questions or
    more, about a fifth unanswerable, and a median lexical overlap of at most 0.40 in each split."""
    from eval.overlap import set_overlap

    docs = _all_documents(shared)
    splits = {
        name: load_eval_set(SETS_DIR / f"{name}.jsonl") for name in ("people-dev", "people-calibration", "people-test")
    }
    for questions in splits.values():
        _check(questions, docs)
    owners = {name: {q.doc for q in qs if q.doc} for name, qs in splits.items()}
    names = list(owners)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert not owners[a] & owners[b], f"{a} and {b} share documents {owners[a] & owners[b]}"
    every = [q for qs in splits.values() for q in qs]
    assert len(every) >= 300
    assert 0.15 <= sum(not q.answerable for q in every) / len(every) <= 0.3
    for name, qs in splits.items():
        overlap = set_overlap(qs, docs)
        assert overlap is not None and overlap <= 0.40, f"{name}: median overlap {overlap:.2f}"


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
        (
            '{"id": "a", "question": "q?", "answers": [], "doc": null, "review": "yes"}',
            "'review' must be true or false",
        ),
    ],
)
def test_bad_lines_are_reported_with_their_number(tmp_path: Path, line: str, problem: str) -> None:
    path = tmp_path / "set.jsonl"
    path.write_text('{"id": "ok", "question": "fine?", "answers": [], "doc": null}\n' + line + "\n")
    with pytest.raises(EvalSetError, match=f"set.jsonl:2: {problem}"):
        load_eval_set(path)


def test_review_cases_are_left_out_unless_asked_and_never_scored_as_unanswerable(tmp_path: Path) -> None:
    from eval.sets import scorable

    path = tmp_path / "cases.jsonl"
    path.write_text(
        '{"id": "1", "question": "q1?", "answers": [], "doc": null}\n'
        '{"id": "2", "question": "q2?", "answers": [], "doc": null, "review": true}\n'
        '{"id": "3", "question": "q3?", "answers": ["July"], "doc": null, "review": true}\n'
    )
    questions = load_eval_set(path)
    assert [q.review for q in questions] == [False, True, True]
    kept, skipped = scorable(questions)
    assert [q.id for q in kept] == ["1"] and skipped == 2
    kept, skipped = scorable(questions, include_review=True)
    assert [q.id for q in kept] == ["1", "3"] and skipped == 1 and kept[1].answerable


def test_urdu_sets_stand_verbatim_and_keep_the_people_sets_test_documents(shared: Path) -> None:
    """The Urdu-script and Roman-Urdu sets (groundwork for the Urdu questions issue): English gold spans verbatim,
    80 or more questions per script, about a fifth unanswerable, and their test split on people-test's documents."""
    docs = _all_documents(shared)
    test_docs = {q.doc for q in load_eval_set(SETS_DIR / "people-test.jsonl") if q.doc}
    for script in ("ur", "roman"):
        dev = load_eval_set(SETS_DIR / f"people-{script}-dev.jsonl")
        test = load_eval_set(SETS_DIR / f"people-{script}-test.jsonl")
        for questions in (dev, test):
            _check(questions, docs)
        assert {q.doc for q in test if q.doc} <= test_docs and not {q.doc for q in dev if q.doc} & test_docs
        every = dev + test
        assert len(every) >= 80 and 0.15 <= sum(not q.answerable for q in every) / len(every) <= 0.3
