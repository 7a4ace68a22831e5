"""A BERT encoder in NumPy: the embedder's and the reader's network run without importing torch.

Importing torch (and transformers' model classes) takes 2-4 s before anything is computed; a terminal
``qa ask`` pays it on every call. This module computes exactly what ``transformers``' ``BertModel``
computes in float32 (post-norm layers, exact GELU, absolute positions) from the same safetensors
weights, read with ``safetensors.numpy``. Tests check it against transformers on the shipped weights.
Serving and builds still use torch (faster on long batches, bfloat16 where the CPU has it).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

WEIGHTS = "model.safetensors"


@dataclass(frozen=True, slots=True)
class _Layer:
    qkv_w: np.ndarray  # (hidden, 3 * hidden), transposed for x @ w
    qkv_b: np.ndarray
    out_w: np.ndarray
    out_b: np.ndarray
    norm1: tuple[np.ndarray, np.ndarray]
    up_w: np.ndarray
    up_b: np.ndarray
    down_w: np.ndarray
    down_b: np.ndarray
    norm2: tuple[np.ndarray, np.ndarray]


class NumpyBert:
    """The encoder of a BERT checkpoint (``prefix`` ``"bert."`` in a task model, ``""`` in a bare one),
    with an optional linear head (``head``, e.g. ``"qa_outputs"``)."""

    def __init__(self, folder: Path, prefix: str = "", head: str | None = None) -> None:
        from safetensors.numpy import load_file

        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        if config.get("model_type") != "bert" or config.get("hidden_act") != "gelu":
            raise ValueError(f"{folder}: not a BERT model with exact GELU; load it with transformers")
        if config.get("position_embedding_type", "absolute") != "absolute":
            raise ValueError(f"{folder}: only absolute position embeddings are supported")
        raw = load_file(str(folder / WEIGHTS))
        w = {k: v.astype(np.float32) for k, v in raw.items()}

        def get(name: str) -> np.ndarray:
            return w[prefix + name]

        self.heads = int(config["num_attention_heads"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.word = get("embeddings.word_embeddings.weight")
        self.position = get("embeddings.position_embeddings.weight")
        self.token_type = get("embeddings.token_type_embeddings.weight")
        self.norm0 = (get("embeddings.LayerNorm.weight"), get("embeddings.LayerNorm.bias"))
        self.layers: list[_Layer] = []
        for i in range(int(config["num_hidden_layers"])):
            p = f"encoder.layer.{i}."
            parts = ("query", "key", "value")
            self.layers.append(
                _Layer(
                    qkv_w=np.ascontiguousarray(np.concatenate([get(f"{p}attention.self.{n}.weight") for n in parts]).T),
                    qkv_b=np.concatenate([get(f"{p}attention.self.{n}.bias") for n in parts]),
                    out_w=np.ascontiguousarray(get(f"{p}attention.output.dense.weight").T),
                    out_b=get(f"{p}attention.output.dense.bias"),
                    norm1=(get(f"{p}attention.output.LayerNorm.weight"), get(f"{p}attention.output.LayerNorm.bias")),
                    up_w=np.ascontiguousarray(get(f"{p}intermediate.dense.weight").T),
                    up_b=get(f"{p}intermediate.dense.bias"),
                    down_w=np.ascontiguousarray(get(f"{p}output.dense.weight").T),
                    down_b=get(f"{p}output.dense.bias"),
                    norm2=(get(f"{p}output.LayerNorm.weight"), get(f"{p}output.LayerNorm.bias")),
                )
            )
        self.head = (np.ascontiguousarray(w[f"{head}.weight"].T), w[f"{head}.bias"]) if head else None

    @property
    def hidden_size(self) -> int:
        return int(self.word.shape[1])

    def hidden(self, input_ids: np.ndarray, attention_mask: np.ndarray, token_type_ids: np.ndarray) -> np.ndarray:
        """The last layer's states, ``(n, length, hidden)`` float32."""
        n, length = input_ids.shape
        x = self.word[input_ids] + self.position[:length][None] + self.token_type[token_type_ids]
        x = self._norm(x, self.norm0)
        # Masked keys get float32's minimum added to their scores, as transformers does.
        bias = np.where(attention_mask[:, None, None, :] > 0, 0.0, np.finfo(np.float32).min).astype(np.float32)
        heads, size = self.heads, self.hidden_size // self.heads
        scale = 1.0 / math.sqrt(size)
        for layer in self.layers:
            qkv = x @ layer.qkv_w + layer.qkv_b
            q, k, v = (
                qkv[..., i * self.hidden_size : (i + 1) * self.hidden_size]
                .reshape(n, length, heads, size)
                .transpose(0, 2, 1, 3)
                for i in range(3)
            )
            scores = (q @ k.transpose(0, 1, 3, 2)) * scale + bias
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(n, length, self.hidden_size)
            x = self._norm(x + context @ layer.out_w + layer.out_b, layer.norm1)
            up = _gelu(x @ layer.up_w + layer.up_b)
            x = self._norm(x + up @ layer.down_w + layer.down_b, layer.norm2)
        return x

    def head_logits(self, input_ids: np.ndarray, attention_mask: np.ndarray, token_type_ids: np.ndarray) -> np.ndarray:
        """The head's outputs per token, ``(n, length, outputs)``."""
        if self.head is None:
            raise ValueError("this encoder was loaded without a head")
        weight, bias = self.head
        logits: np.ndarray = self.hidden(input_ids, attention_mask, token_type_ids) @ weight + bias
        return logits

    def _norm(self, x: np.ndarray, params: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        mean = x.mean(axis=-1, keepdims=True)
        centred = x - mean
        var = (centred * centred).mean(axis=-1, keepdims=True)
        normed: np.ndarray = centred / np.sqrt(var + self.eps) * params[0] + params[1]
        return normed


def _gelu(x: np.ndarray) -> np.ndarray:
    """Exact GELU, ``x * Φ(x)``, with erf from Abramowitz & Stegun 7.1.26 (error below 1.5e-7, under float32's
    resolution of the result)."""
    z = x * np.float32(1 / math.sqrt(2))
    a = np.abs(z)
    t = 1.0 / (1.0 + np.float32(0.3275911) * a)
    poly = t * (
        np.float32(0.254829592)
        + t
        * (
            np.float32(-0.284496736)
            + t * (np.float32(1.421413741) + t * (np.float32(-1.453152027) + t * np.float32(1.061405429)))
        )
    )
    erf = np.sign(z) * (1.0 - poly * np.exp(-a * a))
    out: np.ndarray = x * np.float32(0.5) * (1.0 + erf)
    return out
