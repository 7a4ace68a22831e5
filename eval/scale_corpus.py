"""The passages of ``qa bench scale``: real text as far as we have it, then more made from it.

Real: the SQuAD 1.1 train and SQuAD 2.0 dev articles (one document per article, its paragraphs in
order), the SciFact abstracts and the civic corpora, read and chunked by the product's own pipeline
and embedded with its model. The vectors are cached in blocks as they are computed, so an
interrupted run resumes where it stopped.

More (documented in the benchmark's output): passage ``j`` past the real ones is made of two real
passages ``a`` and ``b`` drawn at random: its text is the first half of ``a``'s words followed by the
second half of ``b``'s, its vector the normalised ``0.5 (v_a + v_b)`` plus Gaussian noise of norm
about 0.1. The texts keep real vocabulary and lengths for BM25, the vectors stay on the manifold of
real passage embeddings (so ANN recall is not measured on easy random points), and nothing is
embedded: the encode part of a build at that size is projected from the measured rate.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from eval.retrieval_bench import beir_documents
from index.atomic import write_file
from index.build import passage_text
from index.chunking import ChunkSettings, chunk
from index.embed import Embedder
from index.errors import QAError
from index.reader import parse_document, read_documents
from index.types import Document

log = logging.getLogger(__name__)

BLOCK = 2048  # passages per cached block of vectors
MIX_NOISE = 0.1


@dataclass(frozen=True, slots=True)
class RealCorpus:
    """Real passages: texts (what gets embedded and BM25-indexed), their vectors and the encode rate."""

    texts: list[str]
    vectors: np.ndarray
    sources: dict[str, int]  # passages per source
    encode_rate: float  # passages per second, measured on this machine (the last block computed)


def real_documents(shared: Path) -> dict[str, list[Document]]:
    """Documents per source; a source whose files are missing raises naming the file."""
    out: dict[str, list[Document]] = {}
    datasets = shared / "datasets"
    for name, file in (
        ("squad1.1-train", datasets / "squad1.1-train" / "train-v1.1.json"),
        ("squad2-dev", datasets / "squad2-dev" / "dev-v2.0.json"),
    ):
        if not file.is_file():
            raise QAError(f"{file}: missing; --shared must hold datasets/ (see ../shared/datasets/README.md)")
        data = json.loads(file.read_text(encoding="utf-8"))["data"]
        out[name] = [
            parse_document(
                f"{name}/{i}",
                file,
                f"# {article['title'].replace('_', ' ')}\n\n"
                + "\n\n".join(p["context"].strip() for p in article["paragraphs"]),
            )
            for i, article in enumerate(data)
        ]
    corpus = datasets / "scifact" / "corpus.jsonl"
    if not corpus.is_file():
        raise QAError(f"{corpus}: missing; --shared must hold datasets/scifact")
    out["scifact"] = beir_documents(corpus, "scifact/")
    out["civic"] = read_documents([shared / "corpora" / "cil-handbook", shared / "corpora" / "kp-digital-services"])
    return out


def real_corpus(shared: Path, embedder: Embedder, cache_dir: Path, chunking: ChunkSettings | None = None) -> RealCorpus:
    """Chunk the real documents and embed their passages, reusing the blocks cached by earlier runs."""
    chunking = chunking or ChunkSettings()
    texts: list[str] = []
    sources: dict[str, int] = {}
    for source, documents in real_documents(shared).items():
        before = len(texts)
        for doc in documents:
            for p in chunk(doc, chunking):
                texts.append(passage_text(doc, p))
        sources[source] = len(texts) - before
    key = hashlib.sha256(json.dumps([embedder.name, chunking.as_dict(), BLOCK]).encode())
    for t in texts:
        key.update(t.encode())
    folder = cache_dir / "scale" / f"real-{key.hexdigest()[:16]}"
    folder.mkdir(parents=True, exist_ok=True)
    blocks, rate = [], 0.0
    for number, start in enumerate(range(0, len(texts), BLOCK)):
        file = folder / f"block-{number:05d}.npy"
        if file.exists():
            blocks.append(np.load(file))
            continue
        started = time.perf_counter()
        block = embedder.encode(texts[start : start + BLOCK], batch_size=64)
        rate = len(block) / max(time.perf_counter() - started, 1e-9)

        def save(f: BinaryIO, b: np.ndarray = block) -> None:
            np.save(f, b.astype(np.float32), allow_pickle=False)

        write_file(file, save)
        blocks.append(block)
        log.info("embedded block %d (%d passages at %.0f/s)", number, len(block), rate)
    rate_file = folder / "rate.json"
    if rate:
        rate_file.write_text(json.dumps({"passages_per_s": rate}), encoding="utf-8")
    elif rate_file.exists():
        rate = float(json.loads(rate_file.read_text(encoding="utf-8"))["passages_per_s"])
    vectors = np.concatenate(blocks).astype(np.float32) if blocks else np.zeros((0, embedder.dimension), np.float32)
    return RealCorpus(texts, vectors, sources, rate)


def grown(real: RealCorpus, size: int, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """``size`` passages: the real ones first, then mixtures of two real ones (see the module's docstring)."""
    n_real = len(real.texts)
    if size <= n_real:
        return real.texts[:size], real.vectors[:size]
    extra = size - n_real
    rng = np.random.default_rng(seed)
    pairs = rng.integers(0, n_real, size=(extra, 2))
    vectors = np.empty((size, real.vectors.shape[1]), np.float32)
    vectors[:n_real] = real.vectors
    dim = real.vectors.shape[1]
    for start in range(0, extra, 65536):
        a, b = pairs[start : start + 65536, 0], pairs[start : start + 65536, 1]
        mix = 0.5 * (real.vectors[a] + real.vectors[b])
        mix += rng.normal(scale=MIX_NOISE / np.sqrt(dim), size=mix.shape).astype(np.float32)
        mix /= np.linalg.norm(mix, axis=1, keepdims=True)
        vectors[n_real + start : n_real + start + len(mix)] = mix
    texts = list(real.texts) + [_mixed_text(real.texts[a], real.texts[b]) for a, b in pairs]
    return texts, vectors


def _mixed_text(a: str, b: str) -> str:
    wa, wb = a.split(), b.split()
    return " ".join(wa[: len(wa) // 2] + wb[len(wb) // 2 :])
