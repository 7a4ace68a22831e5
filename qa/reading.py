"""How the trained reader sees a question and its passages, and what it reads out of them.

One question and several contexts (the retrieved passages) form a **group**. Each context is
``prefix + body``: the prefix (title and headings) gives the passage its setting but is never an
answer; the body is the passage text, character for character as it stands in the document.
Every context becomes one or more windows of ``[CLS] question [SEP] context [SEP]`` tokens (a
long context overflows into overlapping windows).

Scores are **shared-normalised** over the group (Clark & Gardner, 2018): one softmax over the
answerable positions of all its windows, plus each window's ``[CLS]`` position, which stands for
"no answer here". The start and end distributions are normalised separately, so

- ``P(span i..j) = P_start(i) · P_end(j)``, comparable across passages;
- ``P(no answer) = (Σ_w P_start(CLS_w)) · (Σ_w P_end(CLS_w))``.

Training (:mod:`eval.train_qa`) maximises the probability of the gold starts and ends (all of
them, marginalised) or, for a question the group does not answer, of the ``[CLS]`` positions.
:func:`read_group` is the one place that turns a group's logits into its best span and scores;
serving, evaluation and training all call it. Nothing here imports torch: it is tokens and numpy.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index.passages import Context

# How many retrieved passages the reader reads at most (the rest are returned as further reading): the
# number it was trained and calibrated with; reading more costs time and shifts its no-answer odds.
READ_PASSAGES = 5

NEG = -1e4  # the logit of a position that can never be the answer
# Subtracted from the start and end logits of a heading's tokens: the reader was trained to answer in passages
# only, so a heading answers when it reads clearly better. 1.0 was the best of 0-3 on seeds dev and corpora dev
# (forced answers; 0 let the heading win 8 corpora dev answers, most wrong; 2 and more lost seeds dev's heading
# answers). Only the passage's own heading is quotable: with the title and every heading, titles such as
# "Digital Services" won answers.
HEADING_PENALTY = 1.0


@dataclass(frozen=True, slots=True)
class WindowSettings:
    """How contexts are cut into windows, and how long an answer may be (in word pieces)."""

    max_length: int = 256
    stride: int = 96  # tokens shared by two consecutive windows of one long context
    max_question_tokens: int = 48
    max_answer_tokens: int = 48

    def as_dict(self) -> dict[str, int]:
        return {
            "max_length": self.max_length,
            "stride": self.stride,
            "max_question_tokens": self.max_question_tokens,
            "max_answer_tokens": self.max_answer_tokens,
        }


@dataclass(frozen=True, slots=True)
class Windows:
    """The windows of a batch of groups, padded to one length.

    ``starts``/``ends`` hold, per window and token, the character range of that token in its
    context, or -1 where the token can never be part of an answer (question, prefix, special
    tokens, padding). ``group`` and ``context`` say which group and which of its contexts each
    window reads.
    """

    input_ids: np.ndarray  # (n, length) int64
    attention_mask: np.ndarray  # (n, length) int64
    token_type_ids: np.ndarray  # (n, length) int64
    starts: np.ndarray  # (n, length) int32
    ends: np.ndarray  # (n, length) int32
    group: np.ndarray  # (n,) int32
    context: np.ndarray  # (n,) int32
    piece: np.ndarray | None = None  # (n, length) int16: which answerable piece of its context (-1: none)

    def __len__(self) -> int:
        return len(self.group)

    @property
    def answerable(self) -> np.ndarray:
        return self.starts >= 0

    def rows(self, g: int) -> np.ndarray:
        return np.flatnonzero(self.group == g)

    def padded(self, multiple: int = 32) -> Windows:
        """The same windows padded to a multiple of ``multiple`` tokens: few distinct shapes, so the
        CPU's kernels are prepared once per shape rather than once per batch."""
        extra = -self.input_ids.shape[1] % multiple
        if not extra:
            return self

        def pad(a: np.ndarray, value: int) -> np.ndarray:
            return np.pad(a, ((0, 0), (0, extra)), constant_values=value)

        return Windows(
            pad(self.input_ids, 0),
            pad(self.attention_mask, 0),
            pad(self.token_type_ids, 0),
            pad(self.starts, -1),
            pad(self.ends, -1),
            self.group,
            self.context,
            None if self.piece is None else pad(self.piece, -1),
        )


class WindowTokenizer:
    """The reader's word-piece tokenizer (a ``tokenizer.json``), run with the ``tokenizers`` library alone
    (no transformers import): questions on their own, and question + context pairs cut into windows.

    It yields what transformers' fast tokenizer yields for the same file with ``truncation="only_second"``,
    ``stride`` and overflowing tokens (a test checks it), in the same order: each pair's first window, then
    the windows it overflowed into.
    """

    def __init__(self, file: Path) -> None:
        from tokenizers import Tokenizer

        self.file = file
        self._single = Tokenizer.from_file(str(file))
        self._single.no_truncation()
        self._single.no_padding()
        self._pairs: dict[tuple[int, int], Any] = {}
        self._lock = threading.Lock()

    def token_id(self, token: str) -> int | None:
        """The id of ``token`` (``"[CLS]"``), or ``None`` when the vocabulary lacks it."""
        found = self._single.token_to_id(token)
        return None if found is None else int(found)

    def question_offsets(self, question: str) -> list[tuple[int, int]]:
        """The character range of each word piece of ``question`` (no special tokens)."""
        return list(self._single.encode(question, add_special_tokens=False).offsets)

    def windows(self, pairs: Sequence[tuple[str, str]], max_length: int, stride: int) -> list[tuple[int, Any]]:
        """``(pair index, encoding)`` of every window of ``pairs``; encodings have ``ids``, ``type_ids``,
        ``offsets`` and ``sequence_ids``."""
        key = (max_length, stride)
        with self._lock:
            tokenizer = self._pairs.get(key)
            if tokenizer is None:
                from tokenizers import Tokenizer

                tokenizer = Tokenizer.from_file(str(self.file))
                tokenizer.no_padding()
                tokenizer.enable_truncation(max_length, stride=stride, strategy="only_second")
                self._pairs[key] = tokenizer
        out: list[tuple[int, Any]] = []
        for i, enc in enumerate(tokenizer.encode_batch(list(pairs))):
            out.extend((i, e) for e in (enc, *enc.overflowing))
        return out


def _truncate_question(tokenizer: WindowTokenizer, question: str, limit: int) -> str:
    offsets = tokenizer.question_offsets(question)
    if len(offsets) <= limit:
        return question
    return question[: offsets[limit - 1][1]]


def make_windows(
    tokenizer: WindowTokenizer,
    groups: Sequence[tuple[str, Sequence[Context]]],
    settings: WindowSettings = WindowSettings(),
) -> Windows:
    """Tokenise ``groups`` (question, contexts) into windows; every context yields at least one."""
    questions: list[str] = []
    texts: list[str] = []
    owners: list[tuple[int, int, list[tuple[int, int]]]] = []  # (group, context, answerable pieces)
    for g, (question, contexts) in enumerate(groups):
        q = _truncate_question(tokenizer, question.strip(), settings.max_question_tokens)
        for c, ctx in enumerate(contexts):
            questions.append(q)
            texts.append(ctx.text)
            owners.append((g, c, ctx.pieces()))
    if not texts:
        raise ValueError("no context to read")
    encoded = tokenizer.windows(list(zip(questions, texts, strict=True)), settings.max_length, settings.stride)
    n = len(encoded)
    length = max(len(e.ids) for _, e in encoded)
    input_ids = np.zeros((n, length), np.int64)
    attention = np.zeros((n, length), np.int64)
    types = np.zeros((n, length), np.int64)
    starts = np.full((n, length), -1, np.int32)
    ends = np.full((n, length), -1, np.int32)
    group = np.zeros(n, np.int32)
    context = np.zeros(n, np.int32)
    piece = np.full((n, length), -1, np.int16)
    for w, (sample, enc) in enumerate(encoded):
        ids = enc.ids
        k = len(ids)
        input_ids[w, :k] = ids
        attention[w, :k] = 1
        types[w, :k] = enc.type_ids
        g, c, pieces = owners[sample]
        group[w], context[w] = g, c
        seq = np.array([s == 1 for s in enc.sequence_ids])
        offsets = np.asarray(enc.offsets, dtype=np.int64).reshape(k, 2)
        a, b = offsets[:, 0], offsets[:, 1]
        for p, (lo, hi) in enumerate(pieces):
            inside = seq & (b > a) & (a >= lo) & (b <= hi) & (piece[w, :k] < 0)
            starts[w, :k][inside], ends[w, :k][inside], piece[w, :k][inside] = a[inside], b[inside], p
    return Windows(input_ids, attention, types, starts, ends, group, context, piece)


@dataclass(frozen=True, slots=True)
class GroupReading:
    """What the reader read in one group: its best span and the probabilities behind the decision.

    ``context`` is the index of the context holding the span, ``start``/``end`` its character
    range in that context's text. ``span_logprob`` is log P(span); ``null_logprob`` log P(no answer);
    ``best_other`` log P of the best span in any other context (``-inf`` with one context).
    ``context_mass`` is the share of the start probability (spans only) that falls in the chosen
    context.
    """

    context: int
    start: int
    end: int
    span_logprob: float
    null_logprob: float
    best_other: float
    context_mass: float

    @property
    def features(self) -> dict[str, float]:
        """The reader's scores by name (:data:`READER_SCORES`), which the confidence model reads."""
        other = max(self.best_other, self.span_logprob - 20.0)
        return {
            "span_logprob": self.span_logprob,
            "null_logprob": self.null_logprob,
            "answer_vs_null": self.span_logprob - self.null_logprob,
            "margin": self.span_logprob - other,
            "context_mass": self.context_mass,
            "rank": float(self.context + 1),
        }


READER_SCORES = ("span_logprob", "null_logprob", "answer_vs_null", "margin", "context_mass", "rank")


def allowed_positions(starts: np.ndarray) -> np.ndarray:
    """Where a window's probability may fall: its answerable tokens, and its [CLS] ("no answer here")."""
    allowed = starts >= 0
    allowed[:, 0] = True
    return allowed


def _log_softmax_over(x: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    z = np.where(allowed, x, -np.inf)
    m = z.max()
    log_probs: np.ndarray = z - (m + np.log(np.exp(z - m).sum()))
    return log_probs


def read_group(
    start_logits: np.ndarray,
    end_logits: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    contexts: np.ndarray,
    max_answer_tokens: int,
    pieces: np.ndarray | None = None,
) -> GroupReading | None:
    """The best span of one group and its shared-normalised probabilities (None: nothing answerable).

    Arguments are the rows of :class:`Windows` (and the model's logits) for this group's windows; a span
    starts and ends in one piece (``pieces``: the passage, or one heading of its prefix).
    """
    answerable = starts >= 0
    if not answerable.any():
        return None
    allowed = allowed_positions(starts)
    start_logits, end_logits = start_logits.astype(np.float64), end_logits.astype(np.float64)
    if pieces is not None and HEADING_PENALTY and (pieces > 0).any():
        # The reader was trained to answer in passages only: a heading must read clearly better to be chosen.
        heading = pieces > 0
        start_logits = start_logits - HEADING_PENALTY * heading
        end_logits = end_logits - HEADING_PENALTY * heading
    ls = _log_softmax_over(start_logits, allowed)
    le = _log_softmax_over(end_logits, allowed)
    null = float(np.logaddexp.reduce(ls[:, 0]) + np.logaddexp.reduce(le[:, 0]))
    span_ls = np.where(answerable, ls, -np.inf)
    span_le = np.where(answerable, le, -np.inf)
    length = starts.shape[1]
    i = np.arange(length)
    band = (i[None, :] >= i[:, None]) & (i[None, :] < i[:, None] + max_answer_tokens)
    best_w, best = -1, (-np.inf, 0, 0)
    per_context: dict[int, float] = {}
    for w in range(len(starts)):
        allowed_span = band
        if pieces is not None and (pieces[w] > 0).any():  # a heading in this window: spans stay in one piece
            allowed_span = band & (pieces[w][:, None] == pieces[w][None, :])
        scores = np.where(allowed_span, span_ls[w][:, None] + span_le[w][None, :], -np.inf)
        flat = int(np.argmax(scores))
        a, b = divmod(flat, length)
        value = float(scores[a, b])
        c = int(contexts[w])
        per_context[c] = max(per_context.get(c, -np.inf), value)
        if value > best[0]:
            best_w, best = w, (value, a, b)
    value, a, b = best
    c = int(contexts[best_w])
    others = [v for k, v in per_context.items() if k != c]
    mass = np.exp(np.where(answerable, ls, -np.inf))
    in_context = float(mass[contexts == c].sum())
    total = float(mass.sum())
    return GroupReading(
        context=c,
        start=int(starts[best_w, a]),
        end=int(ends[best_w, b]),
        span_logprob=value,
        null_logprob=null,
        best_other=max(others) if others else -np.inf,
        context_mass=in_context / total if total > 0 else 0.0,
    )


def read_windows(
    windows: Windows, start_logits: np.ndarray, end_logits: np.ndarray, settings: WindowSettings, groups: int
) -> list[GroupReading | None]:
    """:func:`read_group` for each of the ``groups`` groups of a batch, in group order."""
    out: list[GroupReading | None] = []
    for g in range(groups):
        rows = windows.rows(g)
        out.append(
            read_group(
                start_logits[rows],
                end_logits[rows],
                windows.starts[rows],
                windows.ends[rows],
                windows.context[rows],
                settings.max_answer_tokens,
                None if windows.piece is None else windows.piece[rows],
            )
            if len(rows)
            else None
        )
    return out
