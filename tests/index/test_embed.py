"""The embedder: the bundled MiniLM run with transformers alone gives sentence-transformers' vectors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from index.embed import Embedder, _bundled_path, _plain_spec

TEXTS = [
    "Who signed the MOU with PITB?",
    "x",
    "   leading and trailing spaces   ",
    "Pehchaan is the digital identity service of Khyber Pakhtunkhwa. " * 40,  # past 256 tokens: truncated
    "- mobile app\n- web portal\n| CNIC | 400 |",
    "Ünïcödé, اردو, and 数字 in one passage.",
]


def test_the_bundled_model_runs_without_sentence_transformers(embedder: Embedder) -> None:
    assert type(embedder.model).__name__ == "_PlainEncoder"
    vectors = embedder.encode(TEXTS, batch_size=4)
    assert vectors.shape == (len(TEXTS), 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_its_vectors_are_sentence_transformers_vectors(embedder: Embedder) -> None:
    """Indexes built before keep working: the same vectors, in any batch order."""
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(_bundled_path(embedder.name), device="cpu").encode(
        TEXTS, normalize_embeddings=True, convert_to_numpy=True
    )
    ours = embedder.encode(TEXTS, batch_size=4)
    assert np.abs(ours - reference).max() < 1e-5
    alone = np.stack([embedder.encode([t])[0] for t in TEXTS])  # no padding at all
    assert np.abs(alone - reference).max() < 1e-5


def test_other_model_folders_go_through_sentence_transformers(tmp_path: Path) -> None:
    bundled = Path(_bundled_path("sentence-transformers/all-MiniLM-L6-v2"))
    assert _plain_spec(bundled) is not None
    folder = tmp_path / "model"
    shutil.copytree(bundled, folder)
    modules = json.loads((folder / "modules.json").read_text())
    (folder / "modules.json").write_text(
        json.dumps([*modules, {"idx": 3, "name": "3", "path": "3_Dense", "type": "sentence_transformers.models.Dense"}])
    )
    assert _plain_spec(folder) is None  # a dense layer: not ours to run
    (folder / "modules.json").write_text(json.dumps(modules))
    (folder / "config_sentence_transformers.json").write_text(json.dumps({"prompts": {"query": "query: "}}))
    assert _plain_spec(folder) is None  # prompts: sentence-transformers adds them
    (folder / "config_sentence_transformers.json").unlink()
    assert _plain_spec(folder) is not None
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "model_type": "xlm-roberta"}))
    assert _plain_spec(folder) is None  # not the BERT that index.encoder runs
    (folder / "config.json").write_text(json.dumps(config))
    model = Embedder("copy", str(folder))
    (folder / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode_cls_token": True}))
    assert type(model.model).__name__ == "_PlainEncoder" and model.model.spec.pooling == "cls"


def test_asking_a_question_does_not_import_sentence_transformers(tmp_path: Path) -> None:
    """It took half of a cold `qa ask`."""
    code = (
        "import sys; from index.embed import Embedder; Embedder().encode(['a question']); "
        "print('sentence_transformers' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("broken", ["{", "[]", '[{"type": "x"}]'])
def test_a_damaged_modules_file_falls_back(tmp_path: Path, broken: str) -> None:
    (tmp_path / "modules.json").write_text(broken)
    assert _plain_spec(tmp_path) is None


def test_the_numpy_engine_gives_the_same_vectors_without_torch(embedder: Embedder) -> None:
    light = Embedder(engine="numpy")
    assert np.abs(light.encode(TEXTS, batch_size=4) - embedder.encode(TEXTS, batch_size=4)).max() < 1e-5
    code = (
        "import sys; from index.embed import Embedder; Embedder(engine='numpy').encode(['a question']); "
        "print(sorted(m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300)
    assert out.stdout.strip() == "[]"


def test_an_unknown_engine_is_refused() -> None:
    with pytest.raises(ValueError, match="engine"):
        Embedder(engine="onnx")


@pytest.mark.parametrize("engine", ["torch", "numpy"])
def test_regression_loading_the_model_prints_nothing(engine: str) -> None:
    """The torch engine printed transformers' "Loading weights" bar into `qa index` and `qa eval` output."""
    # transformers imported first (as `qa eval` does through the reader): its own progress settings apply
    code = f"import transformers; from index.embed import Embedder; Embedder(engine={engine!r}).encode(['a question'])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300)
    assert out.stdout == "" and "Loading weights" not in out.stderr
