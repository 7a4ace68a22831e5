"""The ``qa`` command: ``index``, ``search``, ``serve`` and ``bench``.

Errors are one line naming the file or flag, with a non-zero exit; never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from qa.errors import QAError
from qa.settings import PROJECT_ROOT, Settings, get_settings

if TYPE_CHECKING:
    from index.store import Index

log = logging.getLogger("qa")

EXIT_ERROR = 1
EXIT_USAGE = 2
SHARED = PROJECT_ROOT.parent / "shared"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="qa", description="Offline question answering over civic documents.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("index", help="build or update the index (only changed documents are embedded)")
    p.add_argument("paths", nargs="*", type=Path, help="folders or .txt/.md files (default: the seeds)")
    p.add_argument("--index", type=Path, help="index folder (default: $QA_INDEX_DIR or .index)")
    p.add_argument("--rebuild", action="store_true", help="ignore the existing index and embed everything")

    p = sub.add_parser("search", help="print the passages that best match a question")
    p.add_argument("question")
    p.add_argument("--k", type=_positive_int, default=5, help="how many passages (default 5)")
    p.add_argument("--mode", choices=("hybrid", "bm25", "dense"), default="hybrid")
    p.add_argument("--json", action="store_true", help="print a JSON list")
    p.add_argument("--index", type=Path, help="index folder (default: $QA_INDEX_DIR or .index)")

    p = sub.add_parser("serve", help="start the web app, building the index first when missing or stale")
    p.add_argument("paths", nargs="*", type=Path, help="documents to serve (default: the seeds)")
    p.add_argument("--host", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=_port, help="port (default 8000)")
    p.add_argument("--index", type=Path, help="index folder (default: $QA_INDEX_DIR or .index)")

    p = sub.add_parser("ask", help="answer a question from the documents")
    p.add_argument("question")
    p.add_argument("--k", type=_positive_int, default=5, help="passages to read (default 5)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--index", type=Path, help="index folder (default: $QA_INDEX_DIR or .index)")

    p = sub.add_parser("eval", help="accuracy, abstention and latency on eval sets, baselines side by side")
    p.add_argument(
        "--set", type=Path, action="append", help="eval set JSONL, repeatable (default: the seeds dev and test sets)"
    )
    p.add_argument("--index", type=Path, help="index folder (default: $QA_INDEX_DIR or .index, built if missing)")
    p.add_argument("--k", type=_positive_int, default=5, help="passages to read (default 5)")
    p.add_argument("--product-only", action="store_true", help="skip the baselines")
    p.add_argument("--failures", action="store_true", help="list every wrong answer")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    p.add_argument("--out", type=Path, help="write report.md, metrics.json, failures.jsonl and plots here")
    p.add_argument(
        "--calibrate",
        action="store_true",
        help="first fit the confidence model on the calibration half of the civic dev sets (each on its own "
        "documents) and write it where the app reads it",
    )
    p.add_argument("--corpora", type=Path, default=SHARED / "corpora", help="folder of the civic corpora")
    p.add_argument("--squad", type=Path, help="also run the reader on this SQuAD 2.0 file's test articles")
    p.add_argument("--limit", type=_positive_int, help="at most this many SQuAD questions")

    p = sub.add_parser("bench", help="benchmarks that print figures")
    bench = p.add_subparsers(dest="bench", required=True, parser_class=_Parser)
    b = bench.add_parser("retrieval", help="BEIR SciFact: BM25, dense and hybrid side by side")
    b.add_argument(
        "--data",
        type=Path,
        default=SHARED / "datasets" / "scifact",
        help="BEIR folder with corpus.jsonl, queries.jsonl, qrels/ (default ../shared/datasets/scifact)",
    )
    b.add_argument("--split", default="test", help="qrels split to evaluate (default test)")
    b.add_argument("--json", action="store_true", help="print the figures as JSON")
    t = sub.add_parser(
        "train-reader",
        help="fine-tune MiniLM into the reader (resumable: rerun the same command to continue)",
        description="Fine-tune the bundled MiniLM as the extractive reader on SQuAD 1.1 train, the SQuAD 2.0 "
        "dev training articles and half of each civic dev set; checkpoints in --work-dir, weights to --out.",
    )
    datasets = SHARED / "datasets"
    t.add_argument("--squad-train", type=Path, default=datasets / "squad1.1-train" / "train-v1.1.json")
    t.add_argument("--squad2", type=Path, default=datasets / "squad2-dev" / "dev-v2.0.json")
    t.add_argument("--corpora", type=Path, default=SHARED / "corpora", help="folder of the civic corpora")
    t.add_argument("--work-dir", type=Path, help="checkpoints and learning curve (default: $QA_CACHE_DIR/train-reader)")
    t.add_argument("--out", type=Path, help="where the weights go (default: qa/models/reader)")
    t.add_argument("--limit", type=_positive_int, help="use this many SQuAD 1.1 questions (default: all)")
    t.add_argument("--seed", type=int, default=13)
    t.add_argument("--max-minutes", type=float, help="stop (with a checkpoint) after this long; rerun to resume")
    t.add_argument("--checkpoint-minutes", type=float, default=15.0, help="checkpoint this often (default 15)")
    t.add_argument(
        "--finish-at", type=_positive_int, help="end the schedule (learning rate 0) and training at this batch"
    )
    t.add_argument("--stop-after", type=_positive_int, help="stop after this many batches in this run (smoke tests)")
    t.add_argument("--no-civic", action="store_true", help="train on SQuAD only")
    t.add_argument("--export-only", action="store_true", help="write the last checkpoint's weights to --out")
    lat = bench.add_parser("latency", help="warm /ask latency over 100 questions on a live uvicorn")
    lat.add_argument("--index", type=Path, help="index folder (default: $QA_INDEX_DIR or .index, built from the seeds)")
    lat.add_argument("--n", type=_positive_int, default=100, help="questions to send (default 100)")
    ld = bench.add_parser("load", help="concurrent clients against a real `qa serve` on 127.0.0.1")
    ld.add_argument("--index", type=Path, help="index folder (default: $QA_INDEX_DIR or .index, built from the seeds)")
    ld.add_argument("--clients", type=_positive_int, default=20, help="concurrent clients (default 20)")
    ld.add_argument("--seconds", type=_positive_int, default=60, help="how long to run (default 60)")
    ld.add_argument("--max-requests", type=_positive_int, default=100_000, help="stop after this many requests")
    cb = bench.add_parser("confidence", help="the confidence model's inputs compared, held out on civic dev")
    cb.add_argument("--corpora", type=Path, default=SHARED / "corpora", help="folder of the civic corpora")
    rb = bench.add_parser("reader", help="the trained reader's speed-ups (precision, passages read) against accuracy")
    rb.add_argument("--corpora", type=Path, default=SHARED / "corpora", help="folder of the civic corpora")
    f = bench.add_parser("fusion", help="compare fusion settings on SciFact train and the civic dev sets")
    f.add_argument("--data", type=Path, default=SHARED / "datasets" / "scifact", help="BEIR SciFact folder")
    f.add_argument("--corpora", type=Path, default=SHARED / "corpora", help="folder of the civic corpora")
    return parser


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def _port(value: str) -> int:
    number = _positive_int(value)
    if number > 65535:
        raise argparse.ArgumentTypeError(f"must be at most 65535, got {number}")
    return number


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s" if args.verbose else "qa: %(levelname)s: %(message)s",
    )
    try:
        settings = get_settings()
    except Exception as err:  # pydantic's ValidationError: a bad QA_ variable
        print(f"qa: error: bad setting in the environment: {_first_line(err)}", file=sys.stderr)
        return EXIT_USAGE
    try:
        handler = {
            "index": cmd_index,
            "search": cmd_search,
            "ask": cmd_ask,
            "eval": cmd_eval,
            "serve": cmd_serve,
            "bench": cmd_bench,
            "train-reader": cmd_train_reader,
        }
        return handler[args.command](args, settings)
    except QAError as err:
        print(f"qa {args.command}: error: {err}", file=sys.stderr)
        return EXIT_ERROR
    except ValueError as err:
        print(f"qa {args.command}: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as err:  # builds translate theirs to IndexWriteError; this is the last line of defence
        where = f"{err.filename}: " if err.filename else ""
        print(f"qa {args.command}: error: {where}{err.strerror or err}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"qa {args.command}: interrupted", file=sys.stderr)
        return 130


def _first_line(err: Exception) -> str:
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return " ".join(lines[:3])


def _progress() -> bool:
    return sys.stderr.isatty() and not os.environ.get("CI")


def _index_dir(args: argparse.Namespace, settings: Settings) -> Path:
    return args.index or settings.index_dir


def _embedder(settings: Settings) -> Any:
    from index.embed import Embedder

    return Embedder(settings.model, settings.model_path)


def _max_file_bytes(settings: Settings) -> int:
    return int(settings.max_file_mb * 1024 * 1024)


def build_index(paths: Sequence[Path], index_dir: Path, settings: Settings, rebuild: bool = False) -> Any:
    from index.store import build

    return build(
        paths or settings.docs,
        index_dir,
        embedder=_embedder(settings),
        chunking=settings.chunk_settings(),
        index_type=settings.index_type,
        rebuild=rebuild,
        progress=_progress(),
        max_file_bytes=_max_file_bytes(settings),
    )


def cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    index_dir = _index_dir(args, settings)
    report = build_index(args.paths, index_dir, settings, args.rebuild)
    if report.up_to_date:
        print(
            f"{index_dir}: up to date ({report.documents} documents, {report.passages} passages); "
            f"checked in {report.seconds:.2f} s, nothing embedded"
        )
        return 0
    parts = [
        f"{len(report.added)} added",
        f"{len(report.changed)} changed",
        f"{len(report.removed)} removed",
        f"{report.unchanged} unchanged",
    ]
    print(
        f"{index_dir}: {report.documents} documents, {report.passages} passages "
        f"({', '.join(parts)}); embedded {report.embedded} passages; built in {report.seconds:.2f} s"
    )
    return 0


def load_retriever(index_dir: Path, settings: Settings) -> Any:
    from index.store import Index
    from qa.retriever import Retriever

    embedder = _embedder(settings)
    index = Index.load(index_dir, model_name=embedder.name)
    return Retriever(index, embedder, settings.fusion_settings())


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    if not args.question.strip():
        print("qa search: error: the question is empty; ask something in words", file=sys.stderr)
        return EXIT_USAGE
    retriever = load_retriever(_index_dir(args, settings), settings)
    hits = retriever.search([args.question], args.k, mode=args.mode)[0]
    if args.json:
        rows = [
            {
                "rank": h.rank,
                "doc_id": h.passage.doc_id,
                "title": h.title,
                "start": h.passage.start,
                "end": h.passage.end,
                "text": h.passage.text,
                "score": h.score,
                "heading_path": list(h.passage.heading_path),
                "bm25_rank": h.bm25_rank,
                "bm25_score": h.bm25_score,
                "dense_rank": h.dense_rank,
                "dense_score": h.dense_score,
            }
            for h in hits
        ]
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    if not hits:
        print("no passage matches")
    for h in hits:
        p = h.passage
        snippet = " ".join(p.text.split())
        snippet = snippet[:240] + ("…" if len(snippet) > 240 else "")
        evidence = f"bm25 #{h.bm25_rank or '-'}, dense #{h.dense_rank or '-'}"
        print(f"{h.rank}. {h.title}  [{p.doc_id} {p.start}-{p.end}]  score {h.score:.4f} ({evidence})")
        if p.heading_path:
            print(f"   § {' > '.join(p.heading_path)}")
        print(f"   {snippet}\n")
    return 0


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    from qa.answer import answer

    if not args.question.strip():
        print("qa ask: error: the question is empty; ask something in words", file=sys.stderr)
        return EXIT_USAGE
    retriever = load_retriever(_index_dir(args, settings), settings)
    reader = settings.reader(retriever.index)
    result = answer([args.question], retriever, top_k=args.k, threshold=settings.answer_threshold, reader=reader)[0]
    if args.json:
        from web.schemas import AskResponse  # the /ask shape: pydantic only, no FastAPI

        took = sum(result.timings.values())
        print(AskResponse.of(result, took, retriever.index).model_dump_json(indent=2))
        return 0
    if result.answer is None:
        print(f"These documents don't say (confidence {result.confidence:.0%}). Related passages:")
    else:
        a = result.answer
        print(f"{a.text}\n  ({a.confidence:.0%} confident; {a.title} [{a.doc_id} {a.start}-{a.end}])")
        if a.text != a.sentence.text:
            print(f"  “{' '.join(a.sentence.text.split())}”")
        print("Passages:")
    for h in result.passages:
        print(f"  {h.rank}. {h.title} [{h.passage.doc_id} {h.passage.start}-{h.passage.end}]")
    return 0


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from dataclasses import asdict

    from tqdm import tqdm

    from eval import answer_eval
    from eval.report import write_report
    from eval.sets import SETS_DIR, load_eval_set
    from qa.confidence import default_confidence

    paths = args.set or [SETS_DIR / "seeds-dev.jsonl", SETS_DIR / "seeds-test.jsonl"]
    sets = [(path.name, load_eval_set(path)) for path in paths]
    calibration = _calibrate(args, settings) if args.calibrate else None
    retriever = load_retriever(_served_index(args, settings), settings)
    reader = settings.reader(retriever.index)
    systems = answer_eval.SYSTEMS[:1] if args.product_only else answer_eval.SYSTEMS
    total = sum(len(qs) for _, qs in sets) * len(systems)
    tables, records = [], []
    with tqdm(total=total, disable=not _progress(), desc="qa eval", unit="q") as bar:
        for name, questions in sets:
            reports = [
                answer_eval.evaluate_system(
                    system,
                    questions,
                    retriever,
                    top_k=args.k,
                    threshold=settings.answer_threshold,
                    progress=bar.update,
                    reader=reader,
                )
                for system in systems
            ]
            tables.append((name, reports))
            records += reports[0].forced_records
    threshold = settings.answer_threshold if settings.answer_threshold is not None else default_confidence().threshold
    curve = answer_eval.coverage_curve(records)
    bins = answer_eval.reliability(records)
    extra: dict[str, Any] = {
        "reliability": [asdict(b) for b in bins],
        "expected_calibration_error": round(answer_eval.expected_calibration_error(bins), 4),
    }
    if calibration is not None:
        extra["calibration"] = calibration
    extra["learning_curve"] = reader.model.manifest.get("curve", [])
    if args.squad:
        extra["squad"] = _squad(args, settings, retriever)
    if args.json:
        payload = {"threshold": threshold, "sets": {n: [r.metrics() for r in rs] for n, rs in tables}, **extra}
        print(json.dumps(payload, indent=2, default=str))
    else:
        for name, reports in tables:
            print(answer_eval.format_table(name, reports))
            if args.failures:
                print(answer_eval.format_failures(reports[0]))
            print()
        if "squad" in extra:
            print(extra["squad"]["table"])
    if args.out:
        written = write_report(args.out, tables, curve, threshold, extra)
        print(f"wrote {', '.join(str(p) for p in written)}", file=sys.stderr)
    return 0


def _squad(args: argparse.Namespace, settings: Settings, retriever: Any) -> dict[str, Any]:
    """The SQuAD 2.0 benchmark of ``--squad`` (official predictions written to ``--out``)."""
    from dataclasses import asdict

    from eval import squad_eval
    from qa.reader_model import default_reader_model

    report = squad_eval.run(args.squad, default_reader_model(), limit=args.limit, progress=_progress())
    if args.out:
        squad_eval.write_official(report, args.out)
    summary = {k: v for k, v in asdict(report).items() if k not in ("predictions", "na_probs")}
    return {**summary, "table": squad_eval.format_report(report)}


def _dev_sets(corpora_dir: Path, settings: Settings) -> list[Any]:
    """(name, questions, retriever over its own documents) of each civic dev set."""
    from eval import corpora

    return corpora.retrievers(
        corpora.DEV_SETS,
        corpora_dir,
        embedder=_embedder(settings),
        cache_dir=settings.cache_dir,
        chunking=settings.chunk_settings(),
        fusion=settings.fusion_settings(),
    )


def _calibrate(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    """Fit the confidence model on the civic dev sets' calibration halves and write ``calibration.json``."""
    from eval import calibration
    from qa.confidence import CALIBRATION_PATH, write_confidence

    confidence, summary = calibration.fit(
        _dev_sets(args.corpora, settings),
        cost=settings.wrong_answer_cost,
        top_k=args.k,
        command=f"qa eval --calibrate --k {args.k}",
        readers=settings.reader,
    )
    write_confidence(confidence, CALIBRATION_PATH)
    weights = ", ".join(f"{f}={w:+.2f}" for f, w in zip(confidence.features, confidence.weights, strict=True))
    print(
        f"calibrated on {summary['questions']} civic dev questions (AUC {summary['auc_in_sample']:.3f}; "
        f"answer-vs-null alone {summary['auc_answer_vs_null_alone']:.3f}): {weights}; wrong-answer cost "
        f"{confidence.cost:g} → answer above {confidence.threshold:.2f}; wrote {CALIBRATION_PATH}",
        file=sys.stderr,
    )
    return confidence.to_json()


def _check_index(index_dir: Path, paths: Sequence[Path]) -> tuple[str | None, Index | None]:
    """The error line for an existing index with a damaged file (else ``None``), and the index when it loaded.

    A missing index, or one built with other settings or another format version, is rebuilt
    by ``serve`` as before; a damaged one is left alone for the user to look at and rebuild.
    """
    from index.store import Index
    from qa.errors import IndexCorruptError, IndexMismatchError, IndexNotFoundError

    try:
        return None, Index.load(index_dir)
    except (IndexNotFoundError, IndexMismatchError):
        return None, None
    except IndexCorruptError as err:
        rebuild = " ".join(["qa index", *map(str, paths), "--index", str(index_dir), "--rebuild"])
        return f"{err.path}: {err.problem}; not serving it nor building over it: rebuild it with `{rebuild}`", None


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from index.store import status

    index_dir = _index_dir(args, settings)
    paths = args.paths or settings.docs
    broken, loaded = _check_index(index_dir, args.paths)
    if broken:
        print(f"qa serve: error: {broken}", file=sys.stderr)
        return EXIT_ERROR
    state = status(
        paths,
        index_dir,
        model_name=settings.model,
        chunking=settings.chunk_settings(),
        index_type=settings.index_type,
        max_file_bytes=_max_file_bytes(settings),
    )
    if state != "fresh":
        print(f"{index_dir}: index {state}; building it from {', '.join(map(str, paths))}", file=sys.stderr)
        started = time.perf_counter()
        report = build_index(paths, index_dir, settings)
        loaded = None  # the app loads what was just built
        print(
            f"{index_dir}: {report.passages} passages, built in {time.perf_counter() - started:.1f} s", file=sys.stderr
        )
    import uvicorn

    from web.app import create_app

    app = create_app(settings.model_copy(update={"index_dir": index_dir}), index=loaded)
    # uvicorn's own access log prints query strings (the questions of GET /?q=...): ours replaces it.
    uvicorn.run(
        app, host=args.host or settings.host, port=args.port or settings.port, log_level="info", access_log=False
    )
    return 0


def cmd_train_reader(args: argparse.Namespace, settings: Settings) -> int:
    from eval import corpora, train_qa
    from eval.sets import SETS_DIR
    from qa.reader_model import READER_DIR, sha256_file

    for path in (args.squad_train, args.squad2):
        if not path.is_file():
            print(f"qa train-reader: error: {path}: no such file", file=sys.stderr)
            return EXIT_USAGE
    civic, civic_sources = [], {}
    if not args.no_civic:
        sets = _dev_sets(args.corpora, settings)
        civic = train_qa.collect_civic(sets, top_k=5)
        civic_sources = {f"eval/sets/{n}.jsonl": sha256_file(SETS_DIR / f"{n}.jsonl") for n in corpora.DEV_SETS}
    data = train_qa.TrainData(args.squad_train, args.squad2, civic, civic_sources)
    trainer = train_qa.Trainer(
        data,
        train_qa.TrainSettings(seed=args.seed, limit=args.limit),
        args.work_dir or settings.cache_dir / "train-reader",
        progress=_progress(),
        log_line=lambda line: print(line, file=sys.stderr, flush=True),
    )
    out = args.out or READER_DIR
    if not args.export_only:
        state = trainer.run(
            max_minutes=args.max_minutes,
            checkpoint_minutes=args.checkpoint_minutes,
            stop_after=args.stop_after,
            finish_at=args.finish_at,
        )
        if not state["complete"]:
            print(
                f"stopped at batch {state['batch']:,} of {state['end']:,}; rerun the same command to resume "
                "(or add --export-only to write these weights now)"
            )
            return 0
    manifest = trainer.export(out)
    print(f"wrote {out} ({manifest['progress']['windows_seen']:,} windows seen); now run `qa eval --calibrate`")
    return 0


def _served_index(args: argparse.Namespace, settings: Settings) -> Path:
    """``--index`` as given, else the default index, built from the default corpus when missing or stale."""
    if args.index is not None:
        return Path(args.index)
    build_index([], settings.index_dir, settings)  # a no-op when up to date
    return Path(settings.index_dir)


def cmd_bench(args: argparse.Namespace, settings: Settings) -> int:
    from eval import fusion_study, retrieval_bench

    if args.bench == "latency":
        from eval import latency_bench

        index_dir = _served_index(args, settings)
        report = latency_bench.run(
            settings.model_copy(update={"index_dir": index_dir}), latency_bench.default_questions(args.n)
        )
        print(latency_bench.format_report(report, index_dir))
        return 0
    if args.bench == "load":
        from eval import latency_bench, load_bench

        index_dir = _served_index(args, settings)
        report = load_bench.run(
            index_dir,
            latency_bench.default_questions(100),
            clients=args.clients,
            seconds=args.seconds,
            max_requests=args.max_requests,
        )
        print(load_bench.format_report(report))
        return 0 if report.errors == 0 else 1
    if args.bench == "confidence":
        from eval import calibration

        sets = _dev_sets(args.corpora, settings)
        x, y, ids = calibration.examples(sets, readers=settings.reader)
        rows = calibration.compare(x, y, cost=settings.wrong_answer_cost)
        print(calibration.format_comparison(rows, len(ids)))
        return 0
    if args.bench == "reader":
        from eval import reader_bench

        sets = _dev_sets(args.corpora, settings)
        print(reader_bench.format_rows(reader_bench.run(sets)))
        return 0
    if args.bench == "fusion":
        rows = fusion_study.run(
            args.data,
            args.corpora,
            embedder=_embedder(settings),
            cache_dir=settings.cache_dir,
            chunking=settings.chunk_settings(),
        )
        print(fusion_study.format_rows(rows))
        return 0

    result = retrieval_bench.run(
        args.data,
        embedder=_embedder(settings),
        cache_dir=settings.cache_dir,
        split=args.split,
        chunking=settings.chunk_settings(),
        fusion=settings.fusion_settings(),
    )
    if args.json:
        from dataclasses import asdict

        print(json.dumps(asdict(result), indent=2))
    else:
        print(retrieval_bench.format_table(result))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
