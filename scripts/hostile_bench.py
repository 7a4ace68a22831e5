"""Memory and time of reading hostile corpora: a 50 MB file, and 10,000 tiny files.

    .venv/bin/python scripts/hostile_bench.py

Each measurement runs in its own process, so that its peak RSS (``ru_maxrss``) is its own:

* ``skip``: a folder with a 50 MB text file and three small ones, default limit (10 MB): the big
  file is refused from its ``stat()`` size and never read;
* ``read``: the same folder with the limit raised to 100 MB: the file is read, decoded and parsed;
* ``baseline``: the same imports, nothing read;
* ``tiny``: 10,000 tiny files, read and chunked (wall clock).
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from index.chunking import chunk  # noqa: E402
from index.limits import MB, ReadLimits  # noqa: E402
from index.reader import read_documents  # noqa: E402


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def make_corpus(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(3):
        (folder / f"small{i}.md").write_text(f"# Small {i}\n\nA small note number {i} about the portal.\n")
    line = b"Citizens file their complaints through the provincial portal, sentence %08d.\n"
    with open(folder / "big.md", "wb") as f:
        f.write(b"# Big\n\n")
        i = 0
        while f.tell() < 50 * MB:
            f.write(line % i)
            i += 1


def measure(mode: str, folder: Path) -> None:
    if mode == "baseline":
        say(f"baseline: peak RSS {peak_mb():.1f} MB (imports only)")
    elif mode in ("skip", "read"):
        limit = 10 * MB if mode == "skip" else 100 * MB
        started = time.perf_counter()
        docs = read_documents([folder], limits=ReadLimits(max_file_bytes=limit))
        took = time.perf_counter() - started
        say(f"{mode}: {len(docs)} documents read in {took:.2f} s, peak RSS {peak_mb():.1f} MB")
    elif mode == "tiny":
        started = time.perf_counter()
        docs = read_documents([folder])
        read_s = time.perf_counter() - started
        passages = sum(len(chunk(d)) for d in docs)
        total = time.perf_counter() - started
        say(
            f"tiny: {len(docs)} documents, {passages} passages; read {read_s:.2f} s, read + chunk {total:.2f} s, "
            f"peak RSS {peak_mb():.1f} MB"
        )


def main() -> None:
    if len(sys.argv) == 3:
        measure(sys.argv[1], Path(sys.argv[2]))
        return
    with tempfile.TemporaryDirectory() as tmp:
        big, tiny = Path(tmp) / "big", Path(tmp) / "tiny"
        make_corpus(big)
        size = (big / "big.md").stat().st_size
        say(f"corpus: {big} (big.md {size / MB:.1f} MB + 3 small files)")
        for d in range(10):
            (tiny / f"part{d}").mkdir(parents=True)
            for i in range(1000):
                (tiny / f"part{d}" / f"note{i:04d}.txt").write_text(f"Tiny note {d}-{i}, service {d * 1000 + i}.\n")
        for mode, folder in (("baseline", big), ("skip", big), ("read", big), ("tiny", tiny)):
            subprocess.run([sys.executable, __file__, mode, str(folder)], check=True)


if __name__ == "__main__":
    main()
