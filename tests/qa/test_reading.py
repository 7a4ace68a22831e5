"""Windows and the shared-normalised reading of a group: offsets, the no-answer option, comparability."""

from __future__ import annotations

import math

import numpy as np
import pytest

from index.passages import Context, passage_context
from index.types import Passage
from qa.reader_model import ReaderModel
from qa.reading import NEG, WindowSettings, allowed_positions, make_windows, read_group, read_windows


def test_context_prefix_is_never_answerable_and_body_offsets_are_characters(reader_model: ReaderModel) -> None:
    ctx = Context.of("Fellowship > Eligibility", "Applicants must be under 30. Applications close in May.")
    assert ctx.text[ctx.body_start :] == "Applicants must be under 30. Applications close in May."
    w = make_windows(reader_model.tokenizer, [("Who can apply?", [ctx])], reader_model.settings)
    assert len(w) == 1
    starts, ends = w.starts[0], w.ends[0]
    tokens = [ctx.text[a:b] for a, b in zip(starts, ends, strict=True) if a >= 0]
    assert tokens[0] == "Applicants" and tokens[-1] == "."  # question and prefix tokens are excluded
    assert all(a >= ctx.body_start for a in starts if a >= 0)
    assert (w.input_ids[0, 0], starts[0]) == (reader_model.tokenizer.token_id("[CLS]"), -1)


def test_a_long_context_overflows_into_overlapping_windows_of_one_group(reader_model: ReaderModel) -> None:
    body = " ".join(f"Sentence number {i} mentions the office in district {i}." for i in range(60))
    settings = WindowSettings(max_length=96, stride=32)
    w = make_windows(
        reader_model.tokenizer, [("Which district?", [Context.of("", body)]), ("Q2", [Context("x")])], settings
    )
    first = w.rows(0)
    assert len(first) > 3 and set(w.context[first]) == {0} and list(w.rows(1)) == [len(first)]
    assert w.input_ids.shape[1] <= 96
    covered = set()
    for r in first:  # together the windows cover every character token of the body
        covered |= {(a, b) for a, b in zip(w.starts[r], w.ends[r], strict=True) if a >= 0}
    assert max(b for _, b in covered) == len(body)
    assert len(w.padded(64).input_ids[0]) % 64 == 0


def _logits(n: int, length: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    starts = np.tile(np.arange(length, dtype=np.int32) * 10, (n, 1))
    starts[:, :3] = -1  # [CLS], a question token, [SEP]
    return np.full((n, length), NEG, np.float32), np.full((n, length), NEG, np.float32), starts, starts + 5


def test_the_best_span_of_all_passages_wins_and_its_offsets_are_its_passages() -> None:
    s, e, starts, ends = _logits(3, 8)
    s[:, 3:], e[:, 3:] = 0.0, 0.0
    s[2, 5], e[2, 6] = 6.0, 6.0  # passage 2 holds the answer, tokens 5..6
    s[0, 4], e[0, 4] = 4.0, 4.0
    r = read_group(s, e, starts, ends, np.array([0, 1, 2]), max_answer_tokens=10)
    assert (r.context, r.start, r.end) == (2, 50, 65)
    assert r.best_other == pytest.approx(r.span_logprob - 4.0, abs=1e-4)  # comparable across passages
    assert r.features["margin"] == pytest.approx(4.0, abs=1e-4)


def test_no_answer_is_the_mass_on_every_windows_cls() -> None:
    s, e, starts, ends = _logits(2, 6)
    s[:, 3:], e[:, 3:] = 0.0, 0.0
    s[:, 0], e[:, 0] = 5.0, 5.0
    r = read_group(s, e, starts, ends, np.array([0, 1]), max_answer_tokens=4)
    z = 2 * math.exp(5.0) + 6  # two [CLS] and six body tokens
    assert r.null_logprob == pytest.approx(2 * math.log(2 * math.exp(5.0) / z), abs=1e-5)
    assert r.span_logprob == pytest.approx(2 * math.log(1 / z), abs=1e-5)
    assert r.features["answer_vs_null"] < 0


def test_answers_longer_than_the_limit_or_backwards_are_never_read() -> None:
    s, e, starts, ends = _logits(1, 10)
    s[0, 3:], e[0, 3:] = 0.0, 0.0
    s[0, 8], e[0, 3] = 9.0, 9.0  # an end before its start
    r = read_group(s, e, starts, ends, np.array([0]), max_answer_tokens=2)
    assert r.start <= r.end and (r.end - r.start) <= 2 * 10 + 5
    assert read_group(s, e, np.full_like(starts, -1), ends, np.array([0]), 2) is None


def test_allowed_positions_are_body_tokens_and_cls() -> None:
    starts = np.array([[-1, -1, 0, 4, -1]])
    assert allowed_positions(starts).tolist() == [[True, False, True, True, False]]


def test_read_windows_reads_each_group_of_a_batch(reader_model: ReaderModel) -> None:
    passage = Passage("d", 0, 40, "The helpdesk in Peshawar opened in 2020.")
    groups = [("When did the helpdesk open?", [passage_context("Board", passage)]), ("Where is it?", [])]
    w = make_windows(reader_model.tokenizer, groups, reader_model.settings)
    s, e = reader_model.logits(w)
    first, second = read_windows(w, s, e, reader_model.settings, 2)
    assert second is None and first is not None
    ctx = passage_context("Board", passage)
    assert ctx.text[first.start : first.end] == "2020"


def test_windows_are_what_transformers_fast_tokenizer_makes(reader_model: ReaderModel) -> None:
    """The reader tokenises with the `tokenizers` library alone; transformers' fast tokenizer on the same file
    (what the reader was trained with before) makes the same windows: ids, types, offsets, overflow order."""
    from transformers import PreTrainedTokenizerFast

    from qa.reader_model import TOKENIZER_SETTINGS

    hf = PreTrainedTokenizerFast(tokenizer_file=str(reader_model.path / "tokenizer.json"), **TOKENIZER_SETTINGS)
    questions = ["Who runs the Ünïcode café in Peshawar?", "   What is 数字 Pakistan?  " + "why " * 60]
    texts = ["Short passage.", "Long passage about Pehchaan and the portal, ٹیکس and taxes. " * 40]
    pairs = [(q, t) for q in questions for t in texts]
    ours = reader_model.tokenizer.windows(pairs, max_length=128, stride=32)
    theirs = hf(
        [p[0] for p in pairs],
        [p[1] for p in pairs],
        truncation="only_second",
        max_length=128,
        stride=32,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        return_token_type_ids=True,
    )
    assert len(ours) == len(theirs["input_ids"]) > len(pairs)
    for w, (sample, enc) in enumerate(ours):
        assert sample == theirs["overflow_to_sample_mapping"][w]
        assert enc.ids == theirs["input_ids"][w] and enc.type_ids == theirs["token_type_ids"][w]
        assert [tuple(o) for o in enc.offsets] == [tuple(o) for o in theirs["offset_mapping"][w]]
        assert enc.sequence_ids == theirs.sequence_ids(w)
    assert reader_model.tokenizer.question_offsets("why " * 3) == [(0, 3), (4, 7), (8, 11)]
