"""``qa bench scale``: what an index costs as it grows, for FAISS flat, FAISS HNSW and Milvus Lite side by side.

At each size (10k, 100k, 1M passages by default) and for each store, one fresh process writes the index
folder (:func:`index.build.write_index`: documents, passages, vectors, search structures) and another loads
it and serves questions, so that the RSS reported is a serving process's. Passages are real text as far as
we have it and made from it beyond (:mod:`eval.scale_corpus`); the encode part of a build is projected
from the embedding rate measured on this machine. Questions are SQuAD 2.0 dev questions (their articles
are among the real passages), embedded once; latency is one question at a time with its vector given
(embedding a question is the same at every size), recall@10 is the store's dense top 10 against exact
search over the same vectors.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from eval.metrics import percentile
from eval.scale_corpus import MIX_NOISE, RealCorpus, grown, real_corpus
from index.embed import Embedder

log = logging.getLogger(__name__)

SIZES = (10_000, 100_000, 1_000_000)
STORES = ("flat-ip", "hnsw-ip", "milvus")
PER_DOC = 10  # passages per made-up document
RATE_SAMPLE = 512  # real passages embedded to measure the encode rate
# Milvus Lite (pure Python, in the serving process) measured 1.7 GB RSS and 368 ms a hybrid query at 100k
# passages, growing linearly: a million would need ~17 GB of this 24 GB machine. Past this size the row is
# not run; a Milvus server is the way there.
MILVUS_LITE_MAX = 200_000
WORKER_TIMEOUT = 3 * 3600


@dataclass(frozen=True, slots=True)
class ScaleRow:
    size: int
    store: str
    real: int  # passages of real text among them
    write_s: float  # measured: everything a build does but embedding
    encode_s: float  # projected from the measured embedding rate
    disk_mb: float
    build_peak_mb: float
    load_s: float
    rss_mb: float  # the serving process after loading and answering
    p50_ms: float  # hybrid retrieval, one question at a time
    p95_ms: float
    dense_p50_ms: float
    recall10: float
    error: str | None = None


@dataclass(frozen=True, slots=True)
class ScaleReport:
    rows: tuple[ScaleRow, ...]
    real: dict[str, int]
    encode_rate: float
    queries: int
    load: str


def run(
    shared: Path,
    *,
    embedder: Embedder,
    cache_dir: Path,
    work_dir: Path,
    sizes: Sequence[int] = SIZES,
    stores: Sequence[str] = STORES,
    queries: int = 200,
    keep: bool = False,
    on_row: Callable[[ScaleRow], None] | None = None,
    timeout_s: float = WORKER_TIMEOUT,
) -> ScaleReport:
    """Measure every (size, store) on the real passages under ``shared`` and more made from them; rows are
    also passed to ``on_row`` as they are done. ``timeout_s`` bounds each build and each serving run."""
    real = real_corpus(shared, embedder, cache_dir)
    started = time.perf_counter()  # the rate now, on this machine as it is (the cached blocks' may be old)
    embedder.encode(real.texts[:RATE_SAMPLE], batch_size=64)
    real = replace(real, encode_rate=min(RATE_SAMPLE, len(real.texts)) / (time.perf_counter() - started))
    questions = _questions(shared, queries)
    return measure(
        real, questions, embedder, work_dir, sizes=sizes, stores=stores, keep=keep, on_row=on_row, timeout_s=timeout_s
    )


def measure(
    real: RealCorpus,
    questions: Sequence[str],
    embedder: Embedder,
    work_dir: Path,
    *,
    sizes: Sequence[int],
    stores: Sequence[str],
    keep: bool = False,
    on_row: Callable[[ScaleRow], None] | None = None,
    timeout_s: float = WORKER_TIMEOUT,
) -> ScaleReport:
    """:func:`run` for a corpus and questions at hand (tests use a small one)."""
    work_dir.mkdir(parents=True, exist_ok=True)
    qv = embedder.encode(list(questions))
    np.save(work_dir / "queries.npy", qv)
    (work_dir / "questions.json").write_text(json.dumps(questions), encoding="utf-8")
    rows = []
    for size in sizes:
        data = work_dir / f"data-{size}"
        texts, vectors = grown(real, size)
        _save_data(data, texts, vectors, embedder.name)
        exact = _exact_top10(vectors, qv)
        del texts, vectors
        for store in stores:
            row = _measure(size, store, data, work_dir, real, exact, keep, timeout_s)
            rows.append(row)
            if on_row is not None:
                on_row(row)
        if not keep:
            shutil.rmtree(data, ignore_errors=True)
    return ScaleReport(tuple(rows), real.sources, real.encode_rate, len(questions), _load())


def _measure(
    size: int, store: str, data: Path, work_dir: Path, real: RealCorpus, exact: np.ndarray, keep: bool, timeout_s: float
) -> ScaleRow:
    folder = work_dir / f"index-{size}-{store}"
    uri = work_dir / f"milvus-{size}.db"
    spec = f"milvus:{uri}" if store == "milvus" else store
    for leftover in (folder, uri):
        shutil.rmtree(leftover, ignore_errors=True)
    encode_s = size / real.encode_rate if real.encode_rate else float("nan")
    base: dict[str, Any] = {"size": size, "store": store, "real": min(size, len(real.texts)), "encode_s": encode_s}
    empty: dict[str, Any] = {
        "write_s": 0,
        "disk_mb": 0,
        "build_peak_mb": 0,
        "load_s": 0,
        "rss_mb": 0,
        "p50_ms": 0,
        "p95_ms": 0,
    }
    if store == "milvus" and size > MILVUS_LITE_MAX:
        why = f"not run: Milvus Lite keeps everything in the serving process (over {MILVUS_LITE_MAX:,} passages)"
        return ScaleRow(**base, **empty, dense_p50_ms=0, recall10=0, error=why)
    try:
        built = _worker(timeout_s, "build", str(data), str(folder), spec)
        served = _worker(timeout_s, "serve", str(folder), str(work_dir))
    except RuntimeError as err:
        log.warning("%s at %d passages: %s", store, size, err)
        return ScaleRow(**base, **empty, dense_p50_ms=0, recall10=0, error=f"failed: {err}")
    finally:
        disk = _du(folder) + (_du(uri) if store == "milvus" else 0)
        if not keep:
            for leftover in (folder, uri):
                shutil.rmtree(leftover, ignore_errors=True)
    found = np.asarray(served["top10"])
    recall = float(np.mean([len(set(found[i]) & set(exact[i])) / 10 for i in range(len(exact))]))
    return ScaleRow(
        **base,
        write_s=built["seconds"],
        disk_mb=disk / 2**20,
        build_peak_mb=built["peak_mb"],
        load_s=served["load_s"],
        rss_mb=served["rss_mb"],
        p50_ms=served["p50_ms"],
        p95_ms=served["p95_ms"],
        dense_p50_ms=served["dense_p50_ms"],
        recall10=recall,
    )


def _worker(timeout_s: float, *args: str) -> dict[str, Any]:
    """Run a worker in a fresh process: its last stdout line is its JSON result."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "eval.scale_bench", *args],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            env={**os.environ, "HF_HUB_OFFLINE": "1"},
        )
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"{args[0]} took over {timeout_s / 60:.0f} min; stopped") from None
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise RuntimeError(f"{args[0]} failed: {tail[:300]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _questions(shared: Path, n: int) -> list[str]:
    file = shared / "datasets" / "squad2-dev" / "dev-v2.0.json"
    data = json.loads(file.read_text(encoding="utf-8"))["data"]
    asked = [q["question"] for a in data for p in a["paragraphs"] for q in p["qas"] if q["answers"]]
    step = max(1, len(asked) // n)
    return asked[::step][:n]


def _save_data(folder: Path, texts: Sequence[str], vectors: np.ndarray, model: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "texts.jsonl", "w", encoding="utf-8") as f:
        for t in texts:
            f.write(json.dumps(t, ensure_ascii=False) + "\n")
    np.save(folder / "vectors.npy", vectors)
    (folder / "model.json").write_text(json.dumps({"model": model}), encoding="utf-8")


def _exact_top10(vectors: np.ndarray, queries: np.ndarray) -> np.ndarray:
    import faiss

    flat = faiss.IndexFlatIP(vectors.shape[1])
    for start in range(0, len(vectors), 65536):
        flat.add(np.ascontiguousarray(vectors[start : start + 65536]))
    return flat.search(queries, 10)[1]


def _du(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3]) if Path("/proc/loadavg").exists() else "?"


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


# ---------------------------------------------------------------- workers (fresh processes)


def _documents(texts: Sequence[str]) -> list[tuple[Any, list[Any]]]:
    """Made-up documents of :data:`PER_DOC` passages each, the passages' offsets true to the documents."""
    import hashlib

    from index.types import Document, Passage, Sentence

    out = []
    for d, start in enumerate(range(0, len(texts), PER_DOC)):
        parts, passages, at = [], [], 0
        doc_id = f"scale-{d}"
        for t in texts[start : start + PER_DOC]:
            passages.append(Passage(doc_id, at, at + len(t), t, sentences=(Sentence(at, at + len(t), t),)))
            parts.append(t)
            at += len(t) + 2
        text = "\n\n".join(parts)
        sha = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        out.append((Document(doc_id, "scale", text, f"Passages {start}-{start + len(parts) - 1}", sha), passages))
    return out


def _build_worker(data: Path, folder: Path, spec: str) -> dict[str, Any]:
    from index.build import write_index
    from index.dense import StoreSpec

    with open(data / "texts.jsonl", encoding="utf-8") as f:
        texts = [json.loads(line) for line in f]
    vectors = np.load(data / "vectors.npy", mmap_mode="r")
    model = json.loads((data / "model.json").read_text(encoding="utf-8"))["model"]
    documents = _documents(texts)
    del texts
    started = time.perf_counter()
    write_index(folder, documents, vectors, model_name=model, store=StoreSpec.parse(spec))
    return {"seconds": time.perf_counter() - started, "peak_mb": _status_mb("VmHWM")}


def _serve_worker(folder: Path, work_dir: Path) -> dict[str, Any]:
    from index.store import Index
    from qa.retriever import Retriever

    qv = np.load(work_dir / "queries.npy")
    questions = json.loads((work_dir / "questions.json").read_text(encoding="utf-8"))
    started = time.perf_counter()
    index = Index.load(folder)
    load_s = time.perf_counter() - started
    retriever = Retriever(index, Embedder(index.model_name))  # vectors are given: the model is never loaded
    for i in range(min(5, len(questions))):  # warm up
        retriever.search([questions[i]], 10, vectors=qv[i : i + 1])
    hybrid, dense, top10 = [], [], []
    for i, question in enumerate(questions):
        began = time.perf_counter()
        retriever.search([question], 10, vectors=qv[i : i + 1])
        hybrid.append(1000 * (time.perf_counter() - began))
        began = time.perf_counter()
        (found,) = index.search.candidates([question], qv[i : i + 1], 10, lexical=False)
        dense.append(1000 * (time.perf_counter() - began))
        assert found.dense is not None
        top10.append([int(r) for r in found.rows[np.argsort(-found.dense, kind="stable")][:10]])
    return {
        "load_s": load_s,
        "rss_mb": _status_mb("VmRSS"),
        "p50_ms": percentile(hybrid, 50),
        "p95_ms": percentile(hybrid, 95),
        "dense_p50_ms": percentile(dense, 50),
        "top10": top10,
    }


# ---------------------------------------------------------------- report


def format_report(report: ScaleReport) -> str:
    real = sum(report.real.values())
    lines = [
        f"qa bench scale: {report.queries} SQuAD 2.0 dev questions, one at a time (load {report.load})",
        f"real passages: {real:,} ({', '.join(f'{k} {v:,}' for k, v in report.real.items())}); beyond them, "
        f"each passage is the first half of one real passage's words and the second half of another's, its vector "
        f"the normalised mean of theirs plus noise of norm {MIX_NOISE} (eval/scale_corpus.py)",
        f"encode: projected at {report.encode_rate:.1f} passages/s, the rate measured embedding the real passages "
        "on this machine",
        "",
        "| passages | store | write s | encode s (projected) | disk MB | build peak MB | load s | serving RSS MB "
        "| hybrid p50 ms | hybrid p95 ms | dense p50 ms | recall@10 |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [format_row(r) for r in report.rows]
    return "\n".join(lines)


def format_row(r: ScaleRow) -> str:
    if r.error:
        return f"| {r.size:,} | {r.store} | {r.error} |||||||||"
    return (
        f"| {r.size:,} | {r.store} | {r.write_s:.1f} | {r.encode_s:,.0f} | {r.disk_mb:,.0f} "
        f"| {r.build_peak_mb:,.0f} | {r.load_s:.1f} | {r.rss_mb:,.0f} | {r.p50_ms:.1f} | {r.p95_ms:.1f} "
        f"| {r.dense_p50_ms:.2f} | {r.recall10:.3f} |"
    )


def plot(report: ScaleReport, path: Path) -> Path:
    """Serving RSS, hybrid p50 and build time (write + projected encode) against size, one line per store."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    panels: tuple[tuple[str, Callable[[ScaleRow], float]], ...] = (
        ("serving RSS (GB)", lambda r: r.rss_mb / 1024),
        ("hybrid retrieval p50 (ms)", lambda r: r.p50_ms),
        ("build: write + projected encode (h)", lambda r: (r.write_s + r.encode_s) / 3600),
    )
    for ax, (title, value) in zip(axes, panels, strict=True):
        for store in dict.fromkeys(r.store for r in report.rows if not r.error):
            rows = [r for r in report.rows if r.store == store and not r.error]
            ax.plot([r.size for r in rows], [value(r) for r in rows], marker="o", label=store)
        ax.set_xscale("log")
        ax.set_title(title)
        ax.set_xlabel("passages")
        ax.grid(alpha=0.3)
    axes[0].legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def to_json(report: ScaleReport) -> str:
    return json.dumps(asdict(report), indent=2)


def _main(argv: Sequence[str]) -> int:
    """The workers' entry point: ``build DATA FOLDER STORE`` or ``serve FOLDER WORK_DIR``."""
    logging.basicConfig(level=logging.WARNING)
    if argv[0] == "build":
        result = _build_worker(Path(argv[1]), Path(argv[2]), argv[3])
    elif argv[0] == "serve":
        result = _serve_worker(Path(argv[1]), Path(argv[2]))
    else:
        raise SystemExit(f"unknown worker {argv[0]!r}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
