"""The evaluation side of the ``qa`` command: ``eval`` (its handler in :mod:`eval.eval_command`), ``bench`` and
``train-reader``.

``qa.cli`` owns the parser and the everyday commands (index, search, ask, serve); these add their
sub-commands to it and use its helpers. Errors are one line, as there.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from eval.eval_command import cmd_eval, served_index
from index.dense import INDEX_TYPES, StoreSpec
from qa import wiring
from qa.console import EXIT_USAGE, Parser, positive_int, ray_address, show_progress
from qa.fusion import TOP_K
from qa.settings import PROJECT_ROOT, Settings

SHARED = PROJECT_ROOT.parent / "shared"


SERVED_INDEX = "index folder (default: $QA_INDEX_DIR or .index, built from the seeds)"


def register(sub: Any) -> None:
    """The one entry point ``qa.cli`` uses: add ``eval``, ``bench`` (and its benchmarks) and ``train-reader``
    to the sub-parsers ``sub``, each with its handler (``args.handler(args, settings)``)."""
    p = sub.add_parser("eval", help="accuracy, abstention and latency on eval sets, baselines side by side")
    p.set_defaults(handler=cmd_eval)
    p.add_argument(
        "--set", type=Path, action="append", help="eval set JSONL, repeatable (default: the seeds dev and test sets)"
    )
    p.add_argument("--index", type=Path, help="index folder (default: $QA_INDEX_DIR or .index, built if missing)")
    p.add_argument("--k", type=positive_int, default=TOP_K, help=f"passages to read (default {TOP_K})")
    p.add_argument("--product-only", action="store_true", help="skip the baselines")
    p.add_argument("--failures", action="store_true", help="list every wrong answer")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    p.add_argument("--out", type=Path, help="write report.md, metrics.json, failures.jsonl and plots here")
    p.add_argument(
        "--calibrate",
        action="store_true",
        help="first fit the confidence model (civic calibration questions, each on its own documents), choose "
        "its operating point on the civic dev questions, and write it where the app reads it",
    )
    p.add_argument(
        "--civic",
        action="store_true",
        help="run every civic eval set (seeds, corpora, people's words) on its own documents from --corpora",
    )
    p.add_argument(
        "--cases",
        type=Path,
        action="append",
        help="with --calibrate: also fit on these exported feedback cases (`qa feedback export`), repeatable",
    )
    p.add_argument(
        "--include-review", action="store_true", help="also score cases marked for review that have a gold answer"
    )
    p.add_argument("--plot", type=Path, help="draw the threshold sweep of each set to this PNG")
    p.add_argument("--corpora", type=Path, default=SHARED / "corpora", help="folder of the civic corpora")
    p.add_argument("--squad", type=Path, help="also run the reader on this SQuAD 2.0 file's test articles")
    p.add_argument("--limit", type=positive_int, help="at most this many SQuAD questions")

    p = sub.add_parser("bench", help="benchmarks that print figures")
    bench = p.add_subparsers(dest="bench", required=True, parser_class=Parser)
    b = bench.add_parser("retrieval", help="BEIR SciFact: BM25, dense and hybrid side by side")
    b.set_defaults(handler=_bench_retrieval)
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
    t.set_defaults(handler=cmd_train_reader)
    datasets = SHARED / "datasets"
    t.add_argument("--squad-train", type=Path, default=datasets / "squad1.1-train" / "train-v1.1.json")
    t.add_argument("--squad2", type=Path, default=datasets / "squad2-dev" / "dev-v2.0.json")
    t.add_argument("--corpora", type=Path, default=SHARED / "corpora", help="folder of the civic corpora")
    t.add_argument("--work-dir", type=Path, help="checkpoints and learning curve (default: $QA_CACHE_DIR/train-reader)")
    t.add_argument("--out", type=Path, help="where the weights go (default: qa/models/reader)")
    t.add_argument("--limit", type=positive_int, help="use this many SQuAD 1.1 questions (default: all)")
    t.add_argument("--seed", type=int, default=13)
    t.add_argument("--max-minutes", type=float, help="stop (with a checkpoint) after this long; rerun to resume")
    t.add_argument("--checkpoint-minutes", type=float, default=15.0, help="checkpoint this often (default 15)")
    t.add_argument(
        "--finish-at", type=positive_int, help="end the schedule (learning rate 0) and training at this batch"
    )
    t.add_argument("--stop-after", type=positive_int, help="stop after this many batches in this run (smoke tests)")
    t.add_argument("--no-civic", action="store_true", help="train on SQuAD only")
    t.add_argument("--export-only", action="store_true", help="write the last checkpoint's weights to --out")
    t.add_argument(
        "--from-weights",
        type=Path,
        help="with no checkpoint in --work-dir, continue the plan from these exported weights (e.g. qa/models/reader)",
    )
    lat = bench.add_parser("latency", help="warm /ask latency over 100 questions on a live uvicorn")
    lat.set_defaults(handler=_bench_latency)
    lat.add_argument("--index", type=Path, help=SERVED_INDEX)
    lat.add_argument("--n", type=positive_int, default=100, help="questions to send (default 100)")
    ld = bench.add_parser("load", help="concurrent clients against a real `qa serve` on 127.0.0.1")
    ld.set_defaults(handler=_bench_load)
    ld.add_argument("--index", type=Path, help=SERVED_INDEX)
    ld.add_argument("--clients", type=positive_int, default=20, help="concurrent clients (default 20)")
    ld.add_argument("--seconds", type=positive_int, default=60, help="how long to run (default 60)")
    ld.add_argument("--max-requests", type=positive_int, default=100_000, help="stop after this many requests")
    ho = bench.add_parser("hostile", help="hostile documents against `qa index` and `qa serve --watch`: time, memory")
    ho.set_defaults(handler=_bench_hostile)
    ho.add_argument("--no-watch", action="store_true", help="only the `qa index` rows")
    cold = bench.add_parser("cold", help="a terminal `qa ask` from a fresh process, per engine")
    cold.set_defaults(handler=_bench_cold)
    cold.add_argument("--index", type=Path, help=SERVED_INDEX)
    cold.add_argument("--runs", type=positive_int, default=5, help="processes per engine (default 5)")
    cb = bench.add_parser("confidence", help="the confidence model's inputs compared, held out on civic dev")
    cb.set_defaults(handler=_bench_confidence)
    cb.add_argument("--corpora", type=Path, default=SHARED / "corpora", help="folder of the civic corpora")
    rb = bench.add_parser("reader", help="the trained reader's speed-ups (precision, passages read) against accuracy")
    rb.set_defaults(handler=_bench_reader)
    rb.add_argument("--corpora", type=Path, default=SHARED / "corpora", help="folder of the civic corpora")
    f = bench.add_parser("fusion", help="compare fusion settings on SciFact train and the civic dev sets")
    f.set_defaults(handler=_bench_fusion)
    f.add_argument("--data", type=Path, default=SHARED / "datasets" / "scifact", help="BEIR SciFact folder")
    f.add_argument("--corpora", type=Path, default=SHARED / "corpora", help="folder of the civic corpora")
    sc = bench.add_parser(
        "scale",
        help="build time, disk, serving RSS, latency and ANN recall from 10k to 1M passages, per store",
    )
    sc.set_defaults(handler=_bench_scale)
    sc.add_argument("--shared", type=Path, default=SHARED, help="folder holding datasets/ and corpora/ (../shared)")
    sc.add_argument("--sizes", type=_sizes, default=(10_000, 100_000, 1_000_000), help="comma-separated passage counts")
    sc.add_argument("--stores", type=_stores, default=INDEX_TYPES, help="comma-separated stores (default: all three)")
    sc.add_argument("--queries", type=positive_int, default=200, help="questions to time (default 200)")
    sc.add_argument("--work-dir", type=Path, help="where the indexes are built (default: $QA_CACHE_DIR/scale/work)")
    sc.add_argument("--keep", action="store_true", help="keep the indexes built (several GB at 1M)")
    sc.add_argument("--timeout-minutes", type=float, default=180.0, help="bound on each build and serving run")
    sc.add_argument("--plot", type=Path, help="write the cost-against-size plot here (PNG)")
    sc.add_argument("--json", action="store_true", help="print the figures as JSON")
    sc.add_argument(
        "--ray",
        metavar="ADDRESS",
        type=ray_address,
        help="instead: the embedding rate per Ray worker (local[:N], auto or the cluster's address) and the "
        "projection for N machines",
    )
    sc.add_argument("--ray-passages", type=positive_int, default=2048, help="real passages to embed (default 2048)")
    at = bench.add_parser("answer-types", help="the answer-kind check on SQuAD: right spans kept, wrong ones caught")
    at.set_defaults(handler=_bench_answer_types)
    at.add_argument("--squad", type=Path, default=SHARED / "datasets" / "squad2-dev" / "dev-v2.0.json")
    at.add_argument("--part", choices=("train", "dev", "test"), default="test", help="SQuAD articles (default test)")
    pb = bench.add_parser("parity", help="the civic eval sets answered through Milvus Lite and through FAISS")
    pb.set_defaults(handler=_bench_parity)
    pb.add_argument("--corpora", type=Path, default=SHARED / "corpora", help="folder of the civic corpora")
    pb.add_argument("--uri", help="Milvus URI (default: a Milvus Lite file in $QA_CACHE_DIR)")
    pb.add_argument("--store", help="the Milvus side as QA_STORE writes it (milvus:http://host:19530); as --uri")
    pb.add_argument(
        "--server",
        action="store_true",
        help="start a Milvus standalone server here for the run (the `server` extra; its data in a temporary folder)",
    )


def _sizes(value: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(v.replace("_", "")) for v in value.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated whole numbers, got {value!r}") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"sizes must be at least 1, got {value!r}")
    return sizes


def _stores(value: str) -> tuple[str, ...]:
    stores = tuple(v.strip() for v in value.split(",") if v.strip())
    if not stores or any(s not in INDEX_TYPES for s in stores):
        raise argparse.ArgumentTypeError(f"choose from {', '.join(INDEX_TYPES)}; got {value!r}")
    return stores


def _dev_sets(corpora_dir: Path, settings: Settings) -> list[Any]:
    """(name, questions, retriever over its own documents) of each civic dev set."""
    from eval import corpora

    return corpora.retrievers(
        corpora.DEV_SETS,
        corpora_dir,
        embedder=wiring.embedder(settings),
        cache_dir=settings.cache_dir,
        chunking=wiring.chunking(settings),
        fusion=wiring.fusion(settings),
    )


def cmd_train_reader(args: argparse.Namespace, settings: Settings) -> int:
    from eval import corpora, train_qa
    from eval.qa_data import collect_civic
    from eval.sets import SETS_DIR
    from qa.reader_model import READER_DIR, sha256_file

    for path in (args.squad_train, args.squad2):
        if not path.is_file():
            print(f"qa train-reader: error: {path}: no such file", file=sys.stderr)
            return EXIT_USAGE
    civic, civic_sources = [], {}
    if not args.no_civic:
        sets = _dev_sets(args.corpora, settings)
        civic = collect_civic(sets, top_k=TOP_K)
        civic_sources = {f"eval/sets/{n}.jsonl": sha256_file(SETS_DIR / f"{n}.jsonl") for n in corpora.DEV_SETS}
    data = train_qa.TrainData(args.squad_train, args.squad2, civic, civic_sources)
    trainer = train_qa.Trainer(
        data,
        train_qa.TrainSettings(seed=args.seed, limit=args.limit),
        args.work_dir or settings.cache_dir / "train-reader",
        progress=show_progress(),
        log_line=lambda line: print(line, file=sys.stderr, flush=True),
        from_weights=args.from_weights,
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


def _bench_scale(args: argparse.Namespace, settings: Settings) -> int:
    from eval import scale_bench

    if not (args.shared / "datasets").is_dir():
        print(f"qa bench scale: error: {args.shared / 'datasets'}: no such folder (give --shared)", file=sys.stderr)
        return EXIT_USAGE
    if args.ray:
        from eval import spread_bench

        texts = spread_bench.real_texts(args.shared, args.ray_passages, wiring.chunking(settings))
        bench = spread_bench.run(texts, wiring.embedder(settings), args.ray)
        print(spread_bench.format_report(bench, spread_bench.SERIAL_1M_S))
        return 0
    report = scale_bench.run(
        args.shared,
        embedder=wiring.embedder(settings),
        cache_dir=settings.cache_dir,
        work_dir=args.work_dir or settings.cache_dir / "scale" / "work",
        sizes=args.sizes,
        stores=args.stores,
        queries=args.queries,
        keep=args.keep,
        timeout_s=args.timeout_minutes * 60,
        on_row=lambda r: print(f"  {scale_bench.format_row(r)}", file=sys.stderr, flush=True),
    )
    print(scale_bench.to_json(report) if args.json else scale_bench.format_report(report))
    if args.plot:
        print(f"wrote {scale_bench.plot(report, args.plot)}", file=sys.stderr)
    return 0 if not any(r.error and r.error.startswith("failed") for r in report.rows) else 1


def _bench_latency(args: argparse.Namespace, settings: Settings) -> int:
    from eval import latency_bench

    index_dir = served_index(args, settings)
    report = latency_bench.run(
        settings.model_copy(update={"index_dir": index_dir}), latency_bench.default_questions(args.n)
    )
    print(latency_bench.format_report(report, index_dir))
    return 0


def _bench_load(args: argparse.Namespace, settings: Settings) -> int:
    from eval import latency_bench, load_bench

    index_dir = served_index(args, settings)
    report = load_bench.run(
        index_dir,
        latency_bench.default_questions(100),
        clients=args.clients,
        seconds=args.seconds,
        max_requests=args.max_requests,
    )
    print(load_bench.format_report(report))
    return 0 if report.errors == 0 else 1


def _bench_hostile(args: argparse.Namespace, settings: Settings) -> int:
    from eval import hostile_bench

    rows, watched = hostile_bench.run(watch=not args.no_watch)
    print(hostile_bench.format_report(rows, watched))
    ok = all(r.exit_code == 0 and r.documents >= 1 for r in rows) and all(w.failed == 0 for w in watched)
    return 0 if ok else 1


def _bench_cold(args: argparse.Namespace, settings: Settings) -> int:
    from eval import cold_bench

    index_dir = served_index(args, settings)
    rows = cold_bench.run(index_dir, args.runs)
    print(cold_bench.format_rows(rows, index_dir))
    return 0 if all(r.answered for r in rows) else 1


def _bench_confidence(args: argparse.Namespace, settings: Settings) -> int:
    from eval import calibration

    sets = [(n, calibration.calibration_questions(n, qs), r) for n, qs, r in _dev_sets(args.corpora, settings)]
    data = calibration.examples(sets, readers=wiring.readers(settings))
    rows = calibration.compare(data.x, data.right, cost=settings.wrong_answer_cost or 1.0)
    print(calibration.format_comparison(rows, len(data.ids)))
    return 0


def _bench_reader(args: argparse.Namespace, settings: Settings) -> int:
    from eval import reader_bench

    sets = _dev_sets(args.corpora, settings)
    print(reader_bench.format_rows(reader_bench.run(sets)))
    return 0


def _bench_answer_types(args: argparse.Namespace, settings: Settings) -> int:
    from eval import answer_type_bench

    print(answer_type_bench.format_rows(answer_type_bench.run(args.squad, args.part), args.squad, args.part))
    return 0


def _bench_parity(args: argparse.Namespace, settings: Settings) -> int:
    from eval import parity_bench

    uri = args.uri or str(settings.cache_dir / "parity-milvus.db")
    if args.store:
        spec = StoreSpec.parse(args.store)  # a bad one: ValueError, one line from main
        if spec.uri is None:
            raise ValueError(f"--store {args.store}: the parity bench compares FAISS with milvus:<uri>")
        uri = spec.uri
    with parity_bench.server(args.server) as started:
        report = parity_bench.run(
            args.corpora,
            embedder=wiring.embedder(settings),
            cache_dir=settings.cache_dir,
            uri=started or uri,
            chunking=wiring.chunking(settings),
            fusion=wiring.fusion(settings),
            readers=wiring.readers(settings),
            threshold=wiring.threshold(settings),
        )
    print(parity_bench.format_report(report))
    return 0


def _bench_fusion(args: argparse.Namespace, settings: Settings) -> int:
    from eval import fusion_study

    rows = fusion_study.run(
        args.data,
        args.corpora,
        embedder=wiring.embedder(settings),
        cache_dir=settings.cache_dir,
        chunking=wiring.chunking(settings),
    )
    print(fusion_study.format_rows(rows))
    return 0


def _bench_retrieval(args: argparse.Namespace, settings: Settings) -> int:
    from eval import retrieval_bench

    result = retrieval_bench.run(
        args.data,
        embedder=wiring.embedder(settings),
        cache_dir=settings.cache_dir,
        split=args.split,
        chunking=wiring.chunking(settings),
        fusion=wiring.fusion(settings),
    )
    if args.json:
        from dataclasses import asdict

        print(json.dumps(asdict(result), indent=2))
    else:
        print(retrieval_bench.format_table(result))
    return 0
