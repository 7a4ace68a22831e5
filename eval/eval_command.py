"""The ``qa eval`` command: the civic eval sets (or any given) answered as a user would, the threshold sweep,
the calibration of the confidence (``--calibrate``) and the SQuAD 2.0 benchmark (``--squad``)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from qa import wiring
from qa.console import show_progress
from qa.settings import Settings


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from dataclasses import asdict

    from tqdm import tqdm

    from eval import answer_eval
    from eval.report import write_report
    from eval.sweep import format_sweep, plot_sweeps, sweep
    from qa.confidence import default_confidence

    calibration = _calibrate(args, settings) if args.calibrate else None
    runs = _eval_runs(args, settings)
    systems = answer_eval.SYSTEMS[:1] if args.product_only else answer_eval.SYSTEMS
    total = sum(len(qs) for _, qs, _ in runs) * len(systems)
    tables: list[tuple[str, list[answer_eval.SystemReport]]] = []
    records: list[answer_eval.Record] = []
    with tqdm(total=total, disable=not show_progress(), desc="qa eval", unit="q") as bar:
        for name, questions, retriever in runs:
            reader = wiring.reader(settings, retriever.index)
            reports = [
                answer_eval.evaluate_system(
                    system,
                    questions,
                    retriever,
                    top_k=args.k,
                    threshold=wiring.threshold(settings),
                    progress=bar.update,
                    reader=reader,
                )
                for system in systems
            ]
            tables.append((name, reports))
            records += reports[0].forced_records
    chosen = wiring.threshold(settings)
    threshold = chosen if chosen is not None else default_confidence().threshold
    curve = answer_eval.coverage_curve(records)
    bins = answer_eval.reliability(records)
    sweeps = [(name, sweep(reports[0].forced_records)) for name, reports in tables]
    extra: dict[str, Any] = {
        "reliability": [asdict(b) for b in bins],
        "expected_calibration_error": round(answer_eval.expected_calibration_error(bins), 4),
        "sweep": {name: [asdict(p) for p in points] for name, points in sweeps},
    }
    if calibration is not None:
        extra["calibration"] = calibration
    extra["learning_curve"] = wiring.reader(settings, runs[0][2].index).model.manifest.get("curve", [])
    if args.squad:
        extra["squad"] = _squad(args, settings, runs[0][2])
    if args.json:
        payload = {"threshold": threshold, "sets": {n: [r.metrics() for r in rs] for n, rs in tables}, **extra}
        print(json.dumps(payload, indent=2, default=str))
    else:
        print(f"answering when the confidence is above {threshold:.2f}\n")
        for name, reports in tables:
            print(answer_eval.format_table(name, reports))
            if args.failures:
                print(answer_eval.format_failures(reports[0]))
            print()
        for name, points in sweeps:
            print(format_sweep(name, points, threshold if any(p.threshold == threshold for p in points) else None))
            print()
        if "squad" in extra:
            print(extra["squad"]["table"])
    if args.plot:
        print(f"wrote {plot_sweeps(sweeps, args.plot, threshold)}", file=sys.stderr)
    if args.out:
        written = write_report(args.out, tables, curve, threshold, extra)
        print(f"wrote {', '.join(str(p) for p in written)}", file=sys.stderr)
    return 0


def _eval_runs(args: argparse.Namespace, settings: Settings) -> list[tuple[str, list[Any], Any]]:
    """(name, scorable questions, retriever) of each eval set asked for: ``--civic`` runs every civic set on
    its own documents (indexes cached); otherwise ``--set`` files (default: the seeds sets) on the served index.
    Review cases are left out unless ``--include-review`` (and those without a gold answer always are)."""
    from eval import corpora
    from eval.sets import SETS_DIR, load_eval_set, scorable

    if args.civic:
        named = corpora.retrievers(
            [*corpora.ALL_SETS, *corpora.PEOPLE_SETS, *corpora.URDU_SETS],
            args.corpora,
            embedder=wiring.embedder(settings),
            cache_dir=settings.cache_dir,
            chunking=wiring.chunking(settings),
            fusion=wiring.fusion(settings),
        )
        loaded = [(f"{name}.jsonl", questions, retriever) for name, questions, retriever in named]
    else:
        paths = args.set or [SETS_DIR / "seeds-dev.jsonl", SETS_DIR / "seeds-test.jsonl"]
        sets = [(path.name, load_eval_set(path)) for path in paths]
        retriever = wiring.retriever(settings, served_index(args, settings))
        loaded = [(name, questions, retriever) for name, questions in sets]
    runs = []
    for name, questions, retriever in loaded:
        kept, skipped = scorable(list(questions), args.include_review)
        if skipped:
            why = "without a gold answer" if args.include_review else "marked for review (--include-review takes them)"
            print(f"qa eval: {name}: left out {skipped} case(s) {why}", file=sys.stderr)
        if kept:
            runs.append((name, kept, retriever))
    if not runs:
        raise ValueError("no question to evaluate: every case is marked for review (add --include-review)")
    return runs


def _squad(args: argparse.Namespace, settings: Settings, retriever: Any) -> dict[str, Any]:
    """The SQuAD 2.0 benchmark of ``--squad`` (official predictions written to ``--out``)."""
    from dataclasses import asdict

    from eval import squad_eval
    from qa.reader_model import default_reader_model

    report = squad_eval.run(args.squad, default_reader_model(), limit=args.limit, progress=show_progress())
    if args.out:
        squad_eval.write_official(report, args.out)
    summary = {k: v for k, v in asdict(report).items() if k not in ("predictions", "na_probs")}
    return {**summary, "table": squad_eval.format_report(report)}


def _calibrate(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    """Fit the confidence model and write ``calibration.json``: on the first civic dev sets' calibration
    halves, the people's-words calibration set and any ``--cases`` (on the served index); the operating point
    on the people's-words dev set and the first dev sets' calibration halves."""
    from eval import calibration, corpora
    from eval.sets import load_eval_set, scorable
    from qa.confidence import CALIBRATION_PATH, write_confidence

    named = corpora.retrievers(
        [*corpora.DEV_SETS, "people-calibration", "people-dev", "people-roman-dev"],
        args.corpora,
        embedder=wiring.embedder(settings),
        cache_dir=settings.cache_dir,
        chunking=wiring.chunking(settings),
        fusion=wiring.fusion(settings),
    )
    choosing = ("people-dev", "people-roman-dev")  # dev sets: they choose operating points, they fit nothing
    fitting = [(n, calibration.calibration_questions(n, qs), r) for n, qs, r in named if n not in choosing]
    sources = [f"eval/sets/{n}.jsonl" + (" (calibration half)" if n in corpora.DEV_SETS else "") for n, _, _ in fitting]
    for path in args.cases or []:
        cases, _ = scorable(load_eval_set(path), args.include_review)
        fitting.append((path.name, cases, wiring.retriever(settings, served_index(args, settings))))
        sources.append(f"{path.name} (exported cases, on the served index)")
    dev = [
        (n, calibration.calibration_questions(n, qs), r) for n, qs, r in named if n in (*corpora.DEV_SETS, "people-dev")
    ]
    dev_sources = [f"eval/sets/{n}.jsonl" + (" (calibration half)" if n in corpora.DEV_SETS else "") for n, _, _ in dev]
    script_dev = [(n, qs, r) for n, qs, r in named if n == "people-roman-dev"]
    dev_sources += [f"eval/sets/{n}.jsonl (the Roman-Urdu operating point)" for n, _, _ in script_dev]
    confidence, summary = calibration.fit(
        calibration.examples(fitting, top_k=args.k, readers=wiring.readers(settings)),
        calibration.examples(dev, top_k=args.k, readers=wiring.readers(settings)),
        script_dev=calibration.examples(script_dev, top_k=args.k, readers=wiring.readers(settings)),
        cost=settings.wrong_answer_cost or 1.0,
        command=f"qa eval --calibrate --k {args.k}",
        sources=sources,
        dev_sources=dev_sources,
    )
    write_confidence(confidence, CALIBRATION_PATH)
    print(
        f"calibrated on {summary['questions']} questions (AUC {summary['auc_in_sample']:.3f}; answer-vs-null alone "
        f"{summary['auc_answer_vs_null_alone']:.3f}); operating point {confidence.threshold:.2f} (on "
        f"{summary['dev_questions']} dev questions: unanswerable abstained {summary['dev_unanswerable_abstained']}, "
        f"answerable wrongly abstained {summary['dev_wrongly_abstained']}; by script "
        f"{summary['by_script']}); sure from {summary['sure_from']} "
        f"({summary['sure_answers']} answers, span right {summary['sure_span_right']}); wrote {CALIBRATION_PATH}",
        file=sys.stderr,
    )
    return confidence.to_json()


def served_index(args: argparse.Namespace, settings: Settings) -> Path:
    """``--index`` as given, else the default index, built from the default corpus when missing or stale."""
    from index.errors import SourcesGoneError
    from index.sources import sources_for

    if args.index is not None:
        return Path(args.index)
    try:  # a no-op when up to date
        wiring.build_index(sources_for([], settings.index_dir, settings.docs), settings.index_dir, settings)
    except SourcesGoneError as err:
        print(f"qa {args.command}: warning: {err}; using the index as it is", file=sys.stderr)
    return Path(settings.index_dir)
