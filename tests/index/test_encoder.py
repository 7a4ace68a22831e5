"""The NumPy BERT computes what transformers' BERT computes, on the shipped weights."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from index.embed import _bundled_path
from index.encoder import NumpyBert, _gelu
from qa.reader_model import READER_DIR

TEXTS = ["Who signed the MOU with PITB?", "Pehchaan is the digital identity service of the province. " * 12, "x"]


def _batch(folder: Path) -> dict[str, np.ndarray]:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    return dict(tokenizer(TEXTS, padding=True, truncation=True, max_length=128, return_tensors="np"))


def test_the_embedders_network_matches_transformers() -> None:
    import torch
    from transformers import AutoModel

    folder = Path(_bundled_path("sentence-transformers/all-MiniLM-L6-v2"))
    batch = _batch(folder)
    ours = NumpyBert(folder).hidden(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"])
    with torch.inference_mode():
        theirs = AutoModel.from_pretrained(str(folder)).eval()(**{k: torch.from_numpy(v) for k, v in batch.items()})
    real = batch["attention_mask"][..., None] > 0  # padded positions are never read
    assert np.abs((ours - theirs.last_hidden_state.numpy()) * real).max() < 1e-4


def test_the_readers_network_matches_transformers() -> None:
    import torch
    from safetensors.torch import load_file
    from transformers import BertConfig, BertForQuestionAnswering

    batch = _batch(Path(_bundled_path("sentence-transformers/all-MiniLM-L6-v2")))
    net = BertForQuestionAnswering(BertConfig.from_json_file(str(READER_DIR / "config.json")))
    net.load_state_dict({k: v.float() for k, v in load_file(str(READER_DIR / "model.safetensors")).items()})
    with torch.inference_mode():
        theirs = net.eval()(**{k: torch.from_numpy(v) for k, v in batch.items()})
    ours = NumpyBert(READER_DIR, prefix="bert.", head="qa_outputs").head_logits(
        batch["input_ids"], batch["attention_mask"], batch["token_type_ids"]
    )
    real = batch["attention_mask"] > 0
    assert np.abs((ours[..., 0] - theirs.start_logits.numpy()) * real).max() < 1e-4
    assert np.abs((ours[..., 1] - theirs.end_logits.numpy()) * real).max() < 1e-4


def test_gelu_is_the_exact_one() -> None:
    x = np.linspace(-8, 8, 2001, dtype=np.float32)
    exact = np.array([v * 0.5 * (1 + math.erf(v / math.sqrt(2))) for v in x.astype(np.float64)])
    assert np.abs(_gelu(x) - exact).max() < 1e-6


def test_a_folder_that_is_not_bert_is_refused(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text('{"model_type": "gpt2", "hidden_act": "gelu_new"}')
    with pytest.raises(ValueError, match="not a BERT model"):
        NumpyBert(tmp_path)
