"""What reading one document may cost: the limits every file is read under.

A document is untrusted input: a 4 MB Word file can unpack to a gigabyte of XML, 100,000 nested
``<div>`` elements take the HTML parser minutes, a PDF can claim a million pages. Each limit below
bounds one thing a file can grow, is checked before the work it bounds (sizes from the zip's
directory, nesting from a linear scan, pages from the PDF's page tree), and names the setting that
raises it. Whatever a parsing library still does past these checks, it does in a separate worker
process under an address-space and CPU-time limit (:mod:`index.sandbox`), so that neither a build
nor the serving process can be taken down by a file.
"""

from __future__ import annotations

from dataclasses import dataclass

MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ReadLimits:
    """Limits on reading one document; the defaults suit a laptop and documents people write.

    ``max_file_bytes``: the file's size (from ``stat``, before anything is read; ``QA_MAX_FILE_MB``).
    ``max_unpacked_bytes``: what any member of a Word file unpacks to, and all of them together
    (``QA_MAX_UNPACKED_MB``). ``max_chars``: the characters a document's text may hold, extracted or
    not (``QA_MAX_DOCUMENT_CHARS``). ``max_html_depth``: how deep HTML elements may nest (a real page
    nests a few dozen deep; the parser's time grows with the square of the depth). ``max_pdf_pages``:
    pages of a PDF (``QA_MAX_PDF_PAGES``). ``memory_bytes`` and ``cpu_seconds``: what the extraction
    worker may use for one file (``QA_EXTRACT_MEMORY_MB``, ``QA_EXTRACT_SECONDS``); ``sandbox`` False
    extracts in the calling process, with the checks above but without those two limits.
    """

    max_file_bytes: int = 10 * MB
    max_unpacked_bytes: int = 50 * MB
    max_chars: int = 10_000_000
    max_html_depth: int = 1_000
    max_pdf_pages: int = 2_000
    memory_bytes: int = 1024 * MB
    cpu_seconds: float = 120.0  # a dense 2,000-page PDF takes about 50 s with the layout reader
    sandbox: bool = True

    def __post_init__(self) -> None:
        for name in self.__slots__:
            value = getattr(self, name)
            if not isinstance(value, bool) and value <= 0:
                raise ValueError(f"ReadLimits.{name} must be positive, got {value}")


def mb(size: int) -> str:
    """A size as people read it: ``120 KB``, ``2.5 MB``, ``60 MB``."""
    if size < MB // 10:
        return f"{size / 1024:.0f} KB"
    return f"{size / MB:.1f} MB" if size < 10 * MB and size % MB else f"{size / MB:.0f} MB"
