from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from eval.answer_eval import SYSTEMS
from qa.cli import main
from qa.settings import get_settings
from tests.conftest import ROOT, one_line_error, write_corpus


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QA_INDEX_DIR", str(tmp_path / "default-index"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_index_then_search(corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    idx = tmp_path / "idx"
    assert main(["index", str(corpus), "--index", str(idx)]) == 0
    out = capsys.readouterr().out
    assert "3 documents" in out and "3 added" in out and "built in" in out
    assert main(["index", str(corpus), "--index", str(idx)]) == 0
    assert "up to date" in capsys.readouterr().out

    assert main(["search", "short code for the identity service", "--index", str(idx), "--k", "2"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("1. Pehchaan  [pehchaan.md ") and "8070" in out

    assert main(["search", "fellowship length", "--index", str(idx), "--json", "--k", "3"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 3 and rows[0]["doc_id"] == "fellowship.txt"
    assert {"doc_id", "title", "start", "end", "text", "score"} <= set(rows[0])
    text = (corpus / rows[0]["doc_id"]).read_text()
    assert text[rows[0]["start"] : rows[0]["end"]] == rows[0]["text"]


def test_qa_index_dir_setting_is_the_default(corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["index", str(corpus)]) == 0
    assert (tmp_path / "default-index" / "manifest.json").exists()
    assert main(["search", "hackathon prizes", "--k", "1"]) == 0
    assert "hackathon.md" in capsys.readouterr().out


def test_missing_path_is_a_one_line_error_naming_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["index", str(tmp_path / "nope"), "--index", str(tmp_path / "idx")]) == 1
    assert str(tmp_path / "nope") in one_line_error(capsys)


def test_bad_explicit_file_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = write_corpus(tmp_path / "c", {"bad.txt": b"\xff\xfe broken"})
    assert main(["index", str(folder / "bad.txt"), "--index", str(tmp_path / "idx")]) == 1
    line = one_line_error(capsys)
    assert "bad.txt" in line and "not UTF-8" in line


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["search", "q", "--k", "0"], "--k"),
        (["search", "q", "--k", "many"], "--k"),
        (["serve", "--port", "70000"], "--port"),
    ],
)
def test_bad_flags_name_the_flag(argv: list[str], flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert flag in one_line_error(capsys)


def test_search_without_an_index_says_how_to_build_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "anything", "--index", str(tmp_path / "none")]) == 1
    line = one_line_error(capsys)
    assert str(tmp_path / "none") in line and "qa index" in line


def test_search_on_a_corrupt_index_names_the_file(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    idx = tmp_path / "idx"
    assert main(["index", str(corpus), "--index", str(idx)]) == 0
    (idx / "dense.faiss").write_bytes(b"garbage")
    capsys.readouterr()
    assert main(["search", "anything", "--index", str(idx)]) == 1
    assert "dense.faiss" in one_line_error(capsys)


def test_empty_question_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "   ", "--index", str(tmp_path)]) == 2
    assert "empty" in one_line_error(capsys)


def test_console_script_runs(tmp_path: Path) -> None:
    qa = Path(sys.executable).with_name("qa")
    if not qa.exists():
        pytest.skip("the qa console script is not installed in this environment")
    result = subprocess.run([str(qa), "index", str(tmp_path / "nope")], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "nope" in result.stderr and "Traceback" not in result.stderr


def test_eval_writes_a_report(corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    idx = tmp_path / "idx"
    assert main(["index", str(corpus), "--index", str(idx)]) == 0
    qset = tmp_path / "mine.jsonl"
    qset.write_text(
        '{"id": "1", "question": "Which SMS short code reaches Pehchaan?", "answers": ["8070"], "doc": "pehchaan.md"}\n'
        '{"id": "2", "question": "How much did the World Bank pay the hackathon?", "answers": [], "doc": null}\n'
    )
    out = tmp_path / "report"
    assert (
        main(["eval", "--set", str(qset), "--index", str(idx), "--out", str(out), "--plot", str(tmp_path / "s.png")])
        == 0
    )
    printed = capsys.readouterr().out
    assert "mine.jsonl: 2 questions (1 unanswerable); lexical overlap" in printed
    assert "| system | span right | answer or sentence right |" in printed
    for system in SYSTEMS:
        assert f"| {system} |" in printed
    # The threshold sweep: one row per threshold, right / wrongly abstained / unanswerable abstained.
    sweep = printed[printed.index("mine.jsonl: threshold sweep") :]
    rows = [line for line in sweep.splitlines() if re.match(r"\| \d\.\d\d", line)]
    assert len(rows) == 20 and rows[0].startswith("| 0.00 |")
    wrongly = [float(r.split("|")[4].strip(" %")) for r in rows]
    assert wrongly == sorted(wrongly)  # a higher threshold never abstains on fewer answerable questions
    assert (tmp_path / "s.png").stat().st_size > 0
    names = {p.name for p in out.iterdir()}
    assert {"report.md", "metrics.json", "failures.jsonl", "coverage_accuracy.png", "latency.png"} <= names
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["sets"]["mine.jsonl"]) == set(SYSTEMS)


def test_eval_leaves_out_review_cases_unless_asked_and_never_as_unanswerable(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    idx = tmp_path / "idx"
    assert main(["index", str(corpus), "--index", str(idx)]) == 0
    qset = tmp_path / "cases.jsonl"
    qset.write_text(
        '{"id": "1", "question": "Which SMS short code reaches Pehchaan?", "answers": ["8070"], "doc": "pehchaan.md"}\n'
        '{"id": "2", "question": "When does the cohort start?", "answers": [], "doc": null, "review": true}\n'
        '{"id": "3", "question": "When does the cohort start?", "answers": ["July"], "doc": null, "review": true}\n'
    )
    capsys.readouterr()
    assert main(["eval", "--set", str(qset), "--index", str(idx), "--product-only"]) == 0
    out, err = capsys.readouterr()
    assert "cases.jsonl: 1 questions (0 unanswerable)" in out and "left out 2 case(s) marked for review" in err
    assert main(["eval", "--set", str(qset), "--index", str(idx), "--product-only", "--include-review"]) == 0
    out, err = capsys.readouterr()
    assert "cases.jsonl: 2 questions (0 unanswerable)" in out and "left out 1 case(s) without a gold answer" in err


def test_eval_names_a_bad_line(corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    idx = tmp_path / "idx"
    assert main(["index", str(corpus), "--index", str(idx)]) == 0
    capsys.readouterr()
    qset = tmp_path / "bad.jsonl"
    qset.write_text('{"id": "1", "question": "q?", "answers": [], "doc": null}\n{oops\n')
    assert main(["eval", "--set", str(qset), "--index", str(idx)]) == 1
    assert "bad.jsonl:2: not JSON" in one_line_error(capsys)


def test_index_without_paths_refreshes_from_the_recorded_sources(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    idx = tmp_path / "idx"
    assert main(["index", str(corpus), "--index", str(idx)]) == 0
    (corpus / "hackathon.md").unlink()
    capsys.readouterr()
    assert main(["index", "--index", str(idx)]) == 0
    out = capsys.readouterr().out
    assert "2 documents" in out and "1 removed" in out
    assert sorted(json.loads((idx / "manifest.json").read_text())["documents"]) == ["fellowship.txt", "pehchaan.md"]


def test_ask_starts_without_torch_and_answers_as_the_torch_reader_does(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A terminal `qa ask` took 6-9 s, most of it importing torch and transformers: it now runs the same
    networks in NumPy (float32) and answers as the float32 torch reader does."""
    idx = tmp_path / "idx"
    assert main(["index", str(corpus), "--index", str(idx)]) == 0
    question = "When does the fellowship cohort start?"
    code = (
        "import sys; from qa.cli import main; rc = main(sys.argv[1:]); "
        "print(sorted(m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules), "
        "file=sys.stderr); sys.exit(rc)"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, "ask", question, "--json", "--index", str(idx)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert run.stderr.strip().splitlines()[-1] == "[]"
    light = json.loads(run.stdout)["answer"]
    capsys.readouterr()
    monkeypatch.setenv("QA_READER_PRECISION", "fp32")
    get_settings.cache_clear()
    assert main(["ask", question, "--json", "--index", str(idx)]) == 0
    full = json.loads(capsys.readouterr().out)["answer"]
    assert light is not None and full is not None and light["text"] == "July"
    assert (light["doc_id"], light["start"], light["end"]) == (full["doc_id"], full["start"], full["end"])
    assert abs(light["confidence"] - full["confidence"]) < 1e-3


@pytest.mark.slow
def test_regression_milvus_store_output_is_clean(corpus: Path, tmp_path: Path) -> None:
    """With QA_STORE=milvus:..., grpc printed a traceback ("Method not implemented": pymilvus asks Milvus Lite
    for a timestamp it does not implement) and keepalive notices into `qa index` / `qa search` output."""
    env = {**__import__("os").environ, "QA_STORE": f"milvus:{tmp_path / 'milvus.db'}"}
    idx = str(tmp_path / "idx")
    for args in (["index", str(corpus), "--index", idx], ["search", "fellowship length", "--index", idx, "--k", "2"]):
        run = subprocess.run(
            [sys.executable, "-m", "qa.cli", *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=300
        )
        assert run.returncode == 0, run.stderr
        assert "Traceback" not in run.stderr and "not implemented" not in run.stderr, run.stderr
    assert "fellowship.txt" in run.stdout
    assert json.loads((tmp_path / "idx" / "manifest.json").read_text())["index_type"] == "milvus"


def test_regression_qa_index_prints_no_debug_lines(corpus: Path, tmp_path: Path) -> None:
    """bm25s sets its own logger to DEBUG when imported: `qa index` printed "qa: DEBUG: Building index from
    tokens" between its stage lines, and `qa index -v` did too."""
    for verbose in ([], ["-v"]):
        idx = str(tmp_path / f"idx{len(verbose)}")
        run = subprocess.run(
            [sys.executable, "-m", "qa.cli", *verbose, "index", str(corpus), "--index", idx],
            capture_output=True, text=True, cwd=ROOT, timeout=300,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr
        assert "3 documents" in run.stdout and "DEBUG" not in run.stderr, run.stderr


def test_a_bad_store_setting_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch) -> None:
    monkeypatch.setenv("QA_STORE", "milvus")
    get_settings.cache_clear()
    assert main(["index", "--index", str(tmp_path / "idx")]) == 2
    assert "milvus:" in one_line_error(capsys)
