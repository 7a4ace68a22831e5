"""The ``qa`` command: ``index``, ``search``, ``ask`` and ``serve`` here; ``eval``, ``bench`` and
``train-reader`` in :mod:`eval.commands`.

Errors are one line naming the file or flag, with a non-zero exit; never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from eval.commands import register
from index.errors import QAError
from qa import wiring
from qa.console import EXIT_ERROR, EXIT_USAGE, Parser, port, positive_int, ray_address, show_progress
from qa.fusion import TOP_K
from qa.settings import Settings, get_settings

if TYPE_CHECKING:
    from index.build import BuildReport
    from index.reader import ReadMemory
    from index.store import Index

log = logging.getLogger("qa")


def _parser() -> argparse.ArgumentParser:
    parser = Parser(prog="qa", description="Offline question answering over civic documents.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    p = sub.add_parser("index", help="build or update the index (only changed documents are embedded)")
    p.add_argument(
        "paths",
        nargs="*",
        type=Path,
        help="folders or .txt/.md/.html/.pdf/.docx files (default: the index's own sources, else the seeds)",
    )
    p.add_argument("--index", type=Path, help="index folder (default: $QA_INDEX_DIR or .index)")
    p.add_argument("--rebuild", action="store_true", help="ignore the existing index and embed everything")
    p.add_argument(
        "--multilingual",
        action="store_true",
        help="also build the multilingual side (Urdu-script questions; needs the `multilingual` extra; "
        "QA_MULTILINGUAL=true serves it)",
    )
    p.add_argument(
        "--ray",
        metavar="ADDRESS",
        type=ray_address,
        help="embed on a Ray cluster: local[:N] (N workers here), auto (the cluster `ray start` joined) or its "
        "head node's address (head:6379); needs the `ray` extra",
    )
    p.set_defaults(handler=cmd_index)

    p = sub.add_parser("search", help="print the passages that best match a question")
    p.set_defaults(handler=cmd_search)
    p.add_argument("question")
    p.add_argument("--k", type=positive_int, default=TOP_K, help=f"how many passages (default {TOP_K})")
    p.add_argument("--mode", choices=("hybrid", "bm25", "dense"), default="hybrid")
    p.add_argument("--json", action="store_true", help="print a JSON list")
    p.add_argument("--index", type=Path, help="index folder (default: $QA_INDEX_DIR or .index)")

    p = sub.add_parser("serve", help="start the web app, building the index first when missing or stale")
    p.set_defaults(handler=cmd_serve)
    p.add_argument(
        "paths", nargs="*", type=Path, help="documents to serve (default: the index's own sources, else the seeds)"
    )
    p.add_argument("--host", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=port, help="port (default 8000)")
    p.add_argument("--index", type=Path, help="index folder (default: $QA_INDEX_DIR or .index)")
    p.add_argument("--watch", action="store_true", help="re-index added, changed and deleted documents as they change")

    p = sub.add_parser("ask", help="answer a question from the documents")
    p.set_defaults(handler=cmd_ask)
    p.add_argument("question")
    p.add_argument("--k", type=positive_int, default=TOP_K, help=f"passages to read (default {TOP_K})")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--index", type=Path, help="index folder (default: $QA_INDEX_DIR or .index)")

    p = sub.add_parser("feedback", help="readers' Right/Wrong feedback on answers")
    fb = p.add_subparsers(dest="feedback", required=True, parser_class=Parser)
    e = fb.add_parser("export", help="write the feedback as eval-set JSONL, the wrong answers marked for review")
    e.set_defaults(handler=cmd_feedback)
    e.add_argument(
        "--index", type=Path, help="index folder whose feedback to export (default: $QA_INDEX_DIR or .index)"
    )
    e.add_argument("--out", type=Path, help="write here (default: print the lines)")

    register(sub)  # eval, bench, train-reader: the one entry point into eval/
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    level = logging.INFO if args.verbose else logging.WARNING
    logging.basicConfig(
        level=level,
        format="%(levelname)s %(name)s: %(message)s" if args.verbose else "qa: %(levelname)s: %(message)s",
    )
    for handler in logging.getLogger().handlers:  # a library that sets its own logger to DEBUG (bm25s does, at
        handler.setLevel(level)  # import) still prints nothing below the level asked for
    try:
        settings = get_settings()
    except Exception as err:  # pydantic's ValidationError: a bad QA_ variable
        print(f"qa: error: bad setting in the environment: {_first_line(err)}", file=sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.handler(args, settings))
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


def _index_dir(args: argparse.Namespace, settings: Settings) -> Path:
    return args.index or settings.index_dir


def build_index(
    paths: Sequence[Path],
    index_dir: Path,
    settings: Settings,
    rebuild: bool = False,
    memory: ReadMemory | None = None,
    multilingual: bool = False,
    ray: str | None = None,
) -> BuildReport:
    """Build or refresh ``index_dir`` from ``paths``; with none, from the sources the index was built from
    (the default corpus only for a new index). Raises ``SourcesGoneError`` when those are gone."""
    from index.sources import sources_for

    return wiring.build_index(
        sources_for(paths, index_dir, settings.docs),
        index_dir,
        settings,
        rebuild=rebuild,
        memory=memory,
        multilingual=multilingual,
        ray=ray,
        progress=show_progress(),
        on_stage=lambda line: print(f"  {line}", file=sys.stderr, flush=True),
    )


def cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    index_dir = _index_dir(args, settings)
    report = build_index(args.paths, index_dir, settings, args.rebuild, multilingual=args.multilingual, ray=args.ray)
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


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    from qa.questions import clean_question

    args.question = clean_question(args.question)
    if not args.question:
        print("qa search: error: the question is empty; ask something in words", file=sys.stderr)
        return EXIT_USAGE
    retriever = wiring.retriever(settings, _index_dir(args, settings), engine="numpy")  # one query: start fast
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
    from qa.questions import clean_question

    args.question = clean_question(args.question)
    if not args.question:
        print("qa ask: error: the question is empty; ask something in words", file=sys.stderr)
        return EXIT_USAGE
    # One question from a terminal: "auto" runs the networks in NumPy, which starts in a second where
    # importing torch takes several (same weights, float32); a precision set explicitly is honoured.
    precision = "numpy" if settings.reader_precision == "auto" else settings.reader_precision
    engine = "numpy" if precision == "numpy" else "torch"
    qa = wiring.assistant(settings, _index_dir(args, settings), engine=engine, precision=precision)
    result = qa.ask([args.question], top_k=args.k)[0]
    if args.json:
        from web.schemas import AskResponse  # the /ask shape: pydantic only, no FastAPI

        took = sum(result.timings.values())
        print(AskResponse.of(result, took, qa.index).model_dump_json(indent=2))
        return 0
    if result.answer is None:
        print(f"These documents don't say (confidence {result.confidence:.0%}). Related passages:")
    else:
        a = result.answer
        if a.band != "sure":
            print("Possible answer — check the source:")
        print(f"{a.text}\n  ({a.confidence:.0%} confident; {a.title} [{a.doc_id} {a.start}-{a.end}])")
        if a.text != a.sentence.text:
            print(f"  “{' '.join(a.sentence.text.split())}”")
        print("Passages:")
    for h in result.passages:
        print(f"  {h.rank}. {h.title} [{h.passage.doc_id} {h.passage.start}-{h.passage.end}]")
    return 0


def check_port_free(host: str, port: int) -> None:
    """Raise ``ValueError`` saying how to choose another port when ``host:port`` cannot be listened on."""
    import errno
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as err:
        raise ValueError(f"cannot listen on {host!r}: {err.strerror}; give an address with --host or QA_HOST") from err
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: TIME_WAIT is no conflict
        try:
            probe.bind(address)
        except OSError as err:
            if err.errno == errno.EADDRINUSE:
                raise ValueError(
                    f"port {port} on {host} is already in use (another `qa serve`?); choose another with "
                    f"--port {port + 1} or QA_PORT={port + 1}"
                ) from err
            raise ValueError(
                f"cannot listen on {host}:{port} ({err.strerror}); choose another --port or --host"
            ) from err


def prepare_serve(paths: Sequence[Path], index_dir: Path, settings: Settings) -> tuple[Index | None, list[Path]]:
    """Make ``index_dir`` ready to serve (:func:`index.health.readiness` decides); return it when it was loaded
    as it stands (else the app loads it), and the sources it is kept fresh from (none when they are gone)."""
    from index.health import readiness
    from index.reader import ReadMemory

    memory = ReadMemory()  # the freshness check's reading of PDF, HTML and Word files serves the build too
    ready = readiness(
        paths,
        index_dir,
        default=settings.docs,
        model_name=settings.model,
        chunking=wiring.chunking(settings),
        store=wiring.store_spec(settings),
        limits=wiring.read_limits(settings),
        memory=memory,
    )
    if ready.warning:
        print(f"qa serve: warning: {ready.warning}", file=sys.stderr)
    if ready.state in ("fresh", "sources-gone"):
        return ready.loaded, ready.sources
    print(f"{index_dir}: index {ready.state}; building it from {', '.join(map(str, ready.sources))}", file=sys.stderr)
    started = time.perf_counter()
    report = build_index(ready.sources, index_dir, settings, memory=memory)
    print(f"{index_dir}: {report.passages} passages, built in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return None, ready.sources  # the app loads what was just built


def cmd_feedback(args: argparse.Namespace, settings: Settings) -> int:
    """``qa feedback export``: the feedback stored beside the index, as eval-set lines for ``qa eval --set``."""
    from qa.feedback import FeedbackStore, export_cases, feedback_path

    store = FeedbackStore(feedback_path(_index_dir(args, settings)))
    cases = export_cases(store.rows())
    lines = "".join(json.dumps(c, ensure_ascii=False) + "\n" for c in cases)
    review = sum(1 for c in cases if c.get("review"))
    if args.out:
        from index.atomic import write_file

        write_file(args.out, lines)
    else:
        sys.stdout.write(lines)
    where = f" to {args.out}" if args.out else ""
    print(f"{len(cases)} cases from {store.path}{where} ({review} marked for review)", file=sys.stderr)
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    index_dir = _index_dir(args, settings)
    host, port = args.host or settings.host, args.port or settings.port
    if args.index is not None and not args.paths and not (index_dir.exists() and any(index_dir.iterdir())):
        # A mistyped --index must not quietly become a new index of the seeds.
        raise ValueError(
            f"{index_dir}: no index there; build one with `qa index PATHS --index {index_dir}`, or serve documents "
            f"with `qa serve PATHS --index {index_dir}`"
        )
    check_port_free(host, port)  # before minutes of loading and building, not after
    loaded, sources = prepare_serve(args.paths, index_dir, settings)
    import uvicorn

    from web.app import create_app
    from web.server import server_options

    watch = sources if (args.watch or settings.watch) and sources else None
    if watch:
        logging.getLogger("web.watch").setLevel(logging.INFO)  # one line per refresh, even without -v
        print(f"watching {', '.join(map(str, watch))}: changes are indexed and served as they happen", file=sys.stderr)
    app = create_app(settings.model_copy(update={"index_dir": index_dir, "host": host}), index=loaded, watch=watch)
    uvicorn.run(app, host=host, port=port, log_level="info", **server_options(settings))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
