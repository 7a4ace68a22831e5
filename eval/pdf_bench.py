"""PDF reading, measured: extraction time per page, and answers per format on the same content.

Run from a checkout (it writes its documents with ``tests/documents.py``)::

    python -m eval.pdf_bench fixtures /tmp/pdfbench      # the documents, one folder per format
    python -m eval.pdf_bench time /tmp/pdfbench/long      # ms per page of each PDF there (best of 3)
    python -m eval.pdf_bench answers /tmp/pdfbench        # an index per format folder; the questions asked

``time`` and ``answers`` only read the files, so they can be run with an older ``index`` package on the
``PYTHONPATH`` to compare (the numbers of issue 26).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

# The guide's questions (GUIDE_HTML's content: html, docx, pdf-chromium) and the handbook's (pdf-made).
GUIDE_QUESTIONS = [
    ("How much does a computerised certificate cost?", "Rs. 300"),
    ("What is the fee for late registration?", "Rs. 500"),
    ("How long does late registration take?", "7 days"),
    ("At what time does the Union Council office open?", "nine"),
    ("What do parents bring to register a birth?", "hospital birth slip"),
    ("Within how many days does the water board connect a new house?", "thirty days"),
    ("Who must do the plumbing inside the boundary?", "licensed plumber"),
]
HANDBOOK_QUESTIONS = [
    ("How much does a certificate copy cost?", "Rs. 300"),
    ("What is the fee for late registration?", "Rs. 500"),
    ("How many days does late registration take?", "7"),
    ("At what time does the Union Council office open?", "nine"),
    ("Which office issues the birth certificate?", "district government office"),
    ("Within how many days does the water board connect a new house?", "thirty days"),
    ("Whose responsibility is the plumbing inside?", "owner"),
]


def fixtures(root: Path) -> None:
    from eval.documents import GUIDE_HTML, handbook_pdf, make_docx, make_pdf

    def put(name: str, data: bytes) -> None:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)

    put("pdf-made/handbook.pdf", handbook_pdf())
    put("html/guide.html", GUIDE_HTML.encode())
    put(
        "docx/guide.docx",
        make_docx(
            [
                ("Heading 1", "Birth registration guide"),
                ("Normal", " ".join(GUIDE_HTML.split("<p>")[1].split("</p>")[0].split())),
                ("Heading 2", "Fees"),
                ("table", "Service | Fee | Time"),
                ("table", "Registration within 60 days | Free | 1 day"),
                ("table", "Late registration | Rs. 500 | 7 days"),
                ("table", "Computerised certificate | Rs. 300 | 3 days"),
                ("Heading 2", "Opening hours"),
                ("Normal", " ".join(GUIDE_HTML.split("<p>")[2].split("</p>")[0].split())),
                ("Heading 2", "Water connections"),
                ("Normal", " ".join(GUIDE_HTML.split("<p>")[3].split("</p>")[0].split())),
                ("Normal", " ".join(GUIDE_HTML.split("<p>")[4].split("</p>")[0].split())),
            ],
            title="Birth registration guide",
        ),
    )
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium:
        with tempfile.TemporaryDirectory() as tmp:
            page, out = Path(tmp) / "guide.html", Path(tmp) / "guide.pdf"
            page.write_text(GUIDE_HTML, encoding="utf-8")
            command = [chromium, "--headless", "--no-sandbox", "--disable-gpu", f"--print-to-pdf={out}", str(page)]
            subprocess.run(command, capture_output=True, timeout=120, check=False)
            if out.is_file():
                put("pdf-chromium/guide.pdf", out.read_bytes())
    put("long/handbook-51.pdf", handbook_pdf(repeat=17))
    line = "The district office keeps a register of every application it receives and answers it within a week"
    put("long/dense-50.pdf", make_pdf([[f"{line} ({i})." for i in range(48)] for _ in range(50)]))
    print(f"fixtures in {root}: {sorted(str(p.relative_to(root)) for p in root.rglob('*.*'))}")


def timing(folder: Path) -> None:
    from pypdf import PdfReader

    from index.formats import extract

    for path in sorted(folder.glob("*.pdf")):
        data = path.read_bytes()
        pages = len(PdfReader(path).pages)
        best = min(_timed(extract, path, data) for _ in range(3))
        print(f"{path.name}: {pages} pages, {best:.2f} s, {best / pages * 1000:.1f} ms per page")


def _timed(extract: Callable[[Path, bytes], object], path: Path, data: bytes) -> float:
    started = time.perf_counter()
    extract(path, data)
    return time.perf_counter() - started


def answers(root: Path) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from index.build import build
    from index.embed import Embedder
    from index.store import Index
    from qa.answer import answer
    from qa.retriever import Retriever

    embedder = Embedder()
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and p.name != "long"):
        questions = HANDBOOK_QUESTIONS if folder.name == "pdf-made" else GUIDE_QUESTIONS
        with tempfile.TemporaryDirectory() as tmp:
            build([folder], Path(tmp) / "idx", embedder=embedder)
            retriever = Retriever(Index.load(Path(tmp) / "idx"), embedder)
            results = answer([q for q, _ in questions], retriever)
        right = 0
        for (question, expected), result in zip(questions, results, strict=True):
            got = None if result.no_answer or result.answer is None else result.answer.text
            ok = got is not None and expected.casefold() in got.casefold()
            right += ok
            print(
                f"  {folder.name:13} {'right' if ok else 'wrong' if got else 'abstained':9} "
                f"{result.confidence:.2f}  {question} -> {got!r}"
            )
        print(f"{folder.name}: {right}/{len(questions)} answered right")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["fixtures", "time", "answers"])
    parser.add_argument("folder", type=Path)
    args = parser.parse_args()
    {"fixtures": fixtures, "time": timing, "answers": answers}[args.what](args.folder)


if __name__ == "__main__":
    main()
