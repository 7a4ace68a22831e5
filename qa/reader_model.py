"""The trained reader's weights: load them offline (checked), run them on windows, save them.

A reader model is a folder (``qa/models/reader/`` ships with the project)::

    manifest.json       recipe, data hashes, steps, metrics, window settings, sha256 of every file
    config.json         the BERT configuration (MiniLM, 6 layers, 384 wide)
    model.safetensors   the weights in float16
    tokenizer.json      the word-piece tokenizer (uncased)

:func:`load_reader_model` refuses a folder whose files are missing or whose hashes differ from
the manifest's, with a message that says how to get a good copy. Inference runs in bfloat16
autocast where the CPU has native bfloat16 (AVX-512 BF16 or AMX), else in float32
(``precision`` overrides the choice; ``int8`` quantises the linear layers dynamically; ``numpy`` runs the
same float32 network in NumPy, :mod:`index.encoder`, without importing torch: a cold start in a second
instead of several, for ``qa ask`` in a terminal).
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np

from index.atomic import fsync_tree, swap_folder, temp_path
from index.errors import ReaderModelError
from qa.reading import Windows, WindowSettings, WindowTokenizer

log = logging.getLogger(__name__)

READER_DIR = Path(__file__).resolve().parent / "models" / "reader"
MANIFEST = "manifest.json"
WEIGHTS = "model.safetensors"
FILES = ("config.json", WEIGHTS, "tokenizer.json")
# How the reader computes: auto = bf16 where the CPU has it, else fp32; int8 is quantised; numpy is fp32 without torch.
Precision = Literal["auto", "bf16", "fp32", "int8", "numpy"]
PRECISIONS: tuple[str, ...] = get_args(Precision)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cpu_has_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX-512 BF16 or AMX), where autocast pays."""
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="ignore")
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def _torch() -> Any:
    import torch

    return torch


@dataclass
class ReaderModel:
    """A loaded reader: the network, its tokenizer, its window settings and its manifest."""

    path: Path
    network: Any  # transformers BertForQuestionAnswering in eval mode, or a NumpyBert with its head
    tokenizer: WindowTokenizer
    settings: WindowSettings
    manifest: dict[str, Any]
    precision: str = "fp32"  # "bf16", "fp32", "int8" or "numpy"
    batch_size: int = 32

    @property
    def name(self) -> str:
        return str(self.manifest.get("name", self.path.name))

    def logits(self, windows: Windows) -> tuple[np.ndarray, np.ndarray]:
        """Start and end logits (float32, ``(n, length)``) of every window, in batches."""
        if self.precision == "numpy":
            return self._numpy_logits(windows)
        torch = _torch()
        starts, ends = [], []
        with torch.inference_mode():
            for i in range(0, len(windows), self.batch_size):
                sl = slice(i, i + self.batch_size)
                mask = windows.attention_mask[sl]
                width = int(mask.sum(axis=1).max())
                batch = {
                    "input_ids": torch.from_numpy(windows.input_ids[sl, :width]),
                    "attention_mask": torch.from_numpy(mask[:, :width]),
                    "token_type_ids": torch.from_numpy(windows.token_type_ids[sl, :width]),
                }
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.precision == "bf16"):
                    out = self.network(**batch)
                s = np.full((len(mask), windows.input_ids.shape[1]), -1e4, np.float32)
                e = s.copy()
                s[:, :width] = out.start_logits.float().numpy()
                e[:, :width] = out.end_logits.float().numpy()
                starts.append(s)
                ends.append(e)
        return np.concatenate(starts), np.concatenate(ends)

    def _numpy_logits(self, windows: Windows) -> tuple[np.ndarray, np.ndarray]:
        starts = np.full(windows.input_ids.shape, -1e4, np.float32)
        ends = starts.copy()
        for i in range(0, len(windows), 8):  # small batches: NumPy's attention is memory-bound
            sl = slice(i, i + 8)
            mask = windows.attention_mask[sl]
            width = int(mask.sum(axis=1).max())
            out = self.network.head_logits(
                windows.input_ids[sl, :width], mask[:, :width], windows.token_type_ids[sl, :width]
            )
            starts[sl, :width] = out[..., 0]
            ends[sl, :width] = out[..., 1]
        return starts, ends


def check_folder(path: Path) -> dict[str, Any]:
    """The manifest of the reader folder ``path``, after checking every file against its sha256."""
    how = "restore it with `git checkout -- qa/models/reader` or retrain it with `qa train-reader`"
    manifest_path = path / MANIFEST
    try:
        manifest: dict[str, Any] = json.loads(manifest_path.read_text(encoding="utf-8"))
        hashes = manifest["sha256"]
    except FileNotFoundError as err:
        raise ReaderModelError(path, f"no reader model here ({MANIFEST} is missing); {how}") from err
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ReaderModelError(path, f"{MANIFEST} is unreadable ({err}); {how}") from err
    for name in FILES:
        file = path / name
        if not file.is_file():
            raise ReaderModelError(path, f"{name} is missing; {how}")
        if name not in hashes:
            raise ReaderModelError(path, f"{MANIFEST} has no sha256 for {name}; {how}")
        found = sha256_file(file)
        if found != hashes[name]:
            raise ReaderModelError(
                path, f"{name} is corrupt (sha256 {found[:12]}…, the manifest says {hashes[name][:12]}…); {how}"
            )
    return manifest


def load_reader_model(path: Path = READER_DIR, precision: str = "auto", threads: int | None = None) -> ReaderModel:
    """Load and check the reader folder ``path`` (nothing is downloaded)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    manifest = check_folder(path)
    try:
        tokenizer = WindowTokenizer(path / "tokenizer.json")
        settings = WindowSettings(**manifest["windows"])
        if precision == "numpy":
            from index.encoder import NumpyBert

            numpy_network = NumpyBert(path, prefix="bert.", head="qa_outputs")
            log.info("reader model %s loaded from %s (numpy)", manifest.get("name", path.name), path)
            return ReaderModel(path, numpy_network, tokenizer, settings, manifest, "numpy")
    except Exception as err:  # tokenizers raises a bare Exception for a damaged tokenizer.json
        raise ReaderModelError(path, f"cannot be loaded ({err}); retrain it with `qa train-reader`") from err
    torch = _torch()
    from safetensors.torch import load_file
    from transformers import BertConfig, BertForQuestionAnswering
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    if threads:
        torch.set_num_threads(threads)
    try:
        config = BertConfig.from_json_file(str(path / "config.json"))
        network = BertForQuestionAnswering(config)
        state = {k: v.float() for k, v in load_file(str(path / WEIGHTS)).items()}
        missing, unexpected = network.load_state_dict(state, strict=False)
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as err:
        raise ReaderModelError(path, f"cannot be loaded ({err}); retrain it with `qa train-reader`") from err
    if missing or unexpected:
        raise ReaderModelError(
            path, f"weights do not fit the configuration (missing {missing}, unexpected {unexpected})"
        )
    network.eval()
    chosen = precision if precision != "auto" else ("bf16" if cpu_has_bf16() else "fp32")
    if chosen == "int8":  # dynamic quantisation of the linear layers (weights int8, activations per batch)
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            network = torch.ao.quantization.quantize_dynamic(network, {torch.nn.Linear}, dtype=torch.qint8)
    log.info("reader model %s loaded from %s (%s)", manifest.get("name", path.name), path, chosen)
    return ReaderModel(path, network, tokenizer, settings, manifest, chosen)


@lru_cache(maxsize=2)
def default_reader_model(precision: str = "auto") -> ReaderModel:
    """The shipped reader, loaded once per process."""
    return load_reader_model(READER_DIR, precision)


TOKENIZER_SETTINGS = {
    "unk_token": "[UNK]",
    "sep_token": "[SEP]",
    "pad_token": "[PAD]",
    "cls_token": "[CLS]",
    "mask_token": "[MASK]",
    "do_lower_case": True,
    "model_max_length": 512,
}


def save_reader_model(
    network: Any, tokenizer_file: Path, settings: WindowSettings, manifest: dict[str, Any], out: Path
) -> dict[str, Any]:
    """Write ``network`` (as float16) with its tokenizer and manifest into ``out``, atomically."""
    torch = _torch()
    from safetensors.torch import save_file

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(out)
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    state = {k: v.detach().to("cpu", torch.float16).contiguous() for k, v in network.state_dict().items()}
    save_file(state, str(tmp / WEIGHTS))
    network.config.to_json_file(str(tmp / "config.json"))
    (tmp / "tokenizer.json").write_bytes(tokenizer_file.read_bytes())
    full = {
        **manifest,
        "windows": settings.as_dict(),
        "tokenizer": TOKENIZER_SETTINGS,
        "sha256": {name: sha256_file(tmp / name) for name in FILES},
        "bytes": {name: (tmp / name).stat().st_size for name in FILES},
    }
    (tmp / MANIFEST).write_text(json.dumps(full, indent=2) + "\n", encoding="utf-8")
    tmp.chmod(0o755)
    for file in tmp.iterdir():
        file.chmod(0o644)
    fsync_tree(tmp)
    swap_folder(tmp, out)
    return full
