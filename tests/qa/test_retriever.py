from __future__ import annotations

from pathlib import Path

import pytest

from index.build import build
from index.embed import Embedder
from index.errors import InvalidQueryError
from index.store import Index
from qa.fusion import FusionSettings
from qa.retriever import Retriever
from tests.conftest import write_corpus


@pytest.fixture
def retriever(three_docs_index: Path, embedder: Embedder) -> Retriever:
    return Retriever(Index.load(three_docs_index), embedder)


@pytest.mark.parametrize("mode", ["hybrid", "bm25", "dense"])
@pytest.mark.parametrize(
    ("question", "doc_id"),
    [
        ("How long does a fellowship last?", "fellowship.txt"),
        ("Which short code can I text to reach the identity service?", "pehchaan.md"),
        ("Do hackathon winners get money?", "hackathon.md"),
    ],
)
def test_the_right_document_comes_first(retriever: Retriever, mode: str, question: str, doc_id: str) -> None:
    hits = retriever.search([question], 3, mode=mode)[0]
    assert hits[0].passage.doc_id == doc_id


def test_a_batch_equals_its_questions_one_by_one(retriever: Retriever) -> None:
    questions = ["When do applications open?", "What is Pehchaan?", "Where is the hackathon held?"]
    batch = retriever.search(questions, 4)
    single = [retriever.search([q], 4)[0] for q in questions]
    # Padding in a batched encode moves vectors by float rounding only: same passages, same order.
    assert [[h.passage for h in hits] for hits in batch] == [[h.passage for h in hits] for hits in single]
    for hits_b, hits_s in zip(batch, single, strict=True):
        assert [h.score for h in hits_b] == pytest.approx([h.score for h in hits_s], abs=1e-5)


def test_hits_carry_fused_score_and_the_evidence_behind_it(retriever: Retriever) -> None:
    rrf = Retriever(retriever.index, retriever.embedder, FusionSettings(method="rrf", rrf_k=60, bm25_weight=1.0))
    hits = rrf.search(["identity service sign in"], 5)[0]
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    top = hits[0]
    assert top.title == "Pehchaan" and top.bm25_rank == 1 and top.dense_rank is not None
    assert top.score == pytest.approx(1 / (60 + top.bm25_rank) + 1 / (60 + top.dense_rank))
    assert -1.0 <= top.dense_score <= 1.0 and top.bm25_score > 0


def test_hybrid_finds_what_only_one_retriever_sees(tmp_path: Path, embedder: Embedder) -> None:
    folder = write_corpus(
        tmp_path / "c",
        {
            "code.md": "# Form\n\nSubmit form QX-7781 at the counter.",
            "meaning.md": "# Payments\n\nCitizens can pay electricity bills on their phones.",
            "other.md": "# Parks\n\nThe city maintains green spaces for families.",
        },
    )
    build([folder], tmp_path / "idx", embedder=embedder)
    r = Retriever(Index.load(tmp_path / "idx"), embedder)
    assert r.search(["QX-7781"], 1)[0][0].passage.doc_id == "code.md"
    hits = r.search(["settle my power invoice with a mobile"], 1)[0]
    assert hits[0].passage.doc_id == "meaning.md" and hits[0].bm25_rank is None


def test_blend_fusion_is_the_default(retriever: Retriever) -> None:
    assert retriever.fusion.method == "blend"
    blend = Retriever(retriever.index, retriever.embedder, FusionSettings(method="blend", bm25_weight=0.3))
    hits = blend.search(["identity service sign in"], 3)[0]
    top_bm25 = max(h.bm25_score for h in hits)
    for h in hits:
        assert h.score == pytest.approx(0.3 * h.bm25_score / top_bm25 + h.dense_score, rel=1e-5)


@pytest.mark.parametrize("bad", ["", "   \n"])
def test_empty_queries_are_refused(retriever: Retriever, bad: str) -> None:
    with pytest.raises(InvalidQueryError, match="empty"):
        retriever.search([bad], 3)


def test_bad_k_and_mode_are_refused(retriever: Retriever) -> None:
    with pytest.raises(InvalidQueryError, match="k must be"):
        retriever.search(["x"], 0)
    with pytest.raises(InvalidQueryError, match="mode"):
        retriever.search(["x"], 1, mode="magic")
    with pytest.raises(TypeError, match="batch"):
        retriever.search("a bare string", 1)  # a str is a Sequence[str] to mypy: only the run-time check catches it


def test_a_question_with_only_stopwords_still_gets_dense_hits(retriever: Retriever) -> None:
    hits = retriever.search(["what is it?"], 2)[0]
    assert len(hits) == 2 and all(h.bm25_rank is None for h in hits)
