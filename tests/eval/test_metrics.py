from __future__ import annotations

import math

import pytest

from eval.metrics import hit_at_k, mrr_at_k, ndcg_at_k, percentile, recall_at_k, unique_docs


def test_ndcg_by_hand() -> None:
    # Relevant a (rank 1) and c (rank 3); ideal puts both at ranks 1, 2.
    dcg = 1 / math.log2(2) + 1 / math.log2(4)
    idcg = 1 / math.log2(2) + 1 / math.log2(3)
    assert ndcg_at_k(["a", "b", "c"], {"a": 1, "c": 1}, 10) == pytest.approx(dcg / idcg)
    assert ndcg_at_k(["b", "a"], {"a": 1}, 1) == 0.0
    assert ndcg_at_k(["a"], {}, 10) == 0.0
    assert ndcg_at_k(["x", "a"], {"a": 2, "b": 1}, 10) == pytest.approx((2 / math.log2(3)) / (2 + 1 / math.log2(3)))


def test_recall_mrr_hit() -> None:
    assert recall_at_k(["a", "b", "c"], {"a": 1, "z": 1}, 2) == 0.5
    assert mrr_at_k(["b", "c", "a"], {"a": 1}, 10) == pytest.approx(1 / 3)
    assert mrr_at_k(["b", "c", "a"], {"a": 1}, 2) == 0.0
    assert hit_at_k(["b", "a"], "a", 1) == 0.0 and hit_at_k(["b", "a"], "a", 2) == 1.0


def test_percentile_and_unique_docs() -> None:
    assert percentile([4, 1, 3, 2], 50) == 2.5
    assert percentile([10.0], 95) == 10.0
    assert unique_docs(["a", "b", "a", "c", "b"]) == ["a", "b", "c"]
