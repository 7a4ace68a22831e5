"""The assistant, built from settings: DrQA's pipeline object in our terms.

:class:`Assistant` holds what answering needs — the embedder, the index, the retriever over them, the
reader (with its confidence model) and the decision threshold — and answers batches of questions. The
functions here are the one place that turns ``QA_*`` settings (:class:`qa.settings.Settings`, plain data)
into the library's objects; the ``qa`` command, the web app and the evaluation all build through them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from index.chunking import ChunkSettings
from index.dense import StoreSpec
from index.limits import MB, ReadLimits
from qa.fusion import TOP_K, FusionSettings
from qa.settings import Settings

if TYPE_CHECKING:
    from index.build import BuildReport
    from index.embed import Embedder
    from index.reader import ReadMemory
    from index.store import Index
    from qa.answer import Reader
    from qa.multilingual import SentenceRoute
    from qa.retriever import Retriever
    from qa.types import Result


def chunking(settings: Settings) -> ChunkSettings:
    return ChunkSettings(settings.target_chars, settings.overlap_chars)


def read_limits(settings: Settings) -> ReadLimits:
    return ReadLimits(
        max_file_bytes=int(settings.max_file_mb * MB),
        max_unpacked_bytes=int(settings.max_unpacked_mb * MB),
        max_chars=settings.max_document_chars,
        max_html_depth=settings.max_html_depth,
        max_pdf_pages=settings.max_pdf_pages,
        memory_bytes=int(settings.extract_memory_mb * MB),
        cpu_seconds=settings.extract_seconds,
    )


def store_spec(settings: Settings) -> StoreSpec:
    return StoreSpec.parse(settings.store)


def fusion(settings: Settings) -> FusionSettings:
    return FusionSettings(
        settings.fusion, settings.rrf_k, settings.bm25_weight, settings.dense_weight, settings.candidates
    )


def threshold(settings: Settings) -> float | None:
    """The threshold the settings ask for: ``QA_ANSWER_THRESHOLD``, else ``QA_WRONG_ANSWER_COST``'s break-even,
    else None (the operating point stored with the calibration)."""
    if settings.answer_threshold is not None:
        return settings.answer_threshold
    if settings.wrong_answer_cost is not None:
        return settings.wrong_answer_cost / (1.0 + settings.wrong_answer_cost)
    return None


def embedder(settings: Settings, engine: str = "torch") -> Embedder:
    from index.embed import Embedder

    return Embedder(settings.model, settings.model_path, engine=engine)


def reader(settings: Settings, index: Index, precision: str | None = None) -> Reader:
    """The shipped reader of ``index`` at the settings' precision (or ``precision``) and passage count, kept per
    process (:func:`qa.answer.reader_for`)."""
    from qa.answer import reader_for

    return reader_for(index, precision or settings.reader_precision, settings.reader_passages)


def readers(settings: Settings) -> Callable[[Index], Reader]:
    """``index -> reader`` with these settings, for evaluation code that builds one index per eval set."""
    return lambda index: reader(settings, index)


def build_index(
    sources: Sequence[Path],
    index_dir: Path,
    settings: Settings,
    *,
    rebuild: bool = False,
    memory: ReadMemory | None = None,
    progress: bool = False,
    on_stage: Callable[[str], None] | None = None,
    model: Embedder | None = None,
    multilingual: bool = False,
    ray: str | None = None,
) -> BuildReport:
    """Build or refresh ``index_dir`` from ``sources`` (files and folders) with the settings' model, chunking,
    store and read limits; ``model`` shares an embedder already loaded. With ``multilingual`` (or
    ``QA_MULTILINGUAL``) the multilingual side is built too when missing or stale (:mod:`qa.multilingual`); ``ray``
    (a Ray address) spreads the embedding over a Ray cluster (:mod:`index.spread`)."""
    from index.build import build
    from index.spread import Spread

    report = build(
        sources,
        index_dir,
        embedder=model or embedder(settings),
        chunking=chunking(settings),
        store=store_spec(settings),
        rebuild=rebuild,
        progress=progress,
        limits=read_limits(settings),
        memory=memory,
        on_stage=on_stage,
        spread=Spread(ray) if ray else None,
    )
    if multilingual or settings.multilingual:
        build_side(index_dir, on_stage)
    return report


def build_side(index_dir: Path, on_stage: Callable[[str], None] | None = None) -> None:
    """The multilingual side of the index in ``index_dir``, built when missing or stale."""
    import time

    from index.store import Index
    from qa.multilingual import MultilingualEncoder, ensure_side

    started = time.perf_counter()
    index = Index.load(index_dir, search=False)
    side, built = ensure_side(index, MultilingualEncoder())
    if built and on_stage is not None:
        rows = len(side.sentence_rows)
        on_stage(
            f"built the multilingual side ({len(index.passages)} passages, {rows} sentences) in "
            f"{time.perf_counter() - started:.1f} s"
        )


@dataclass(frozen=True, slots=True, eq=False)
class Assistant:
    """Retrieve, read, decide: the whole pipeline over one index."""

    retriever: Retriever
    reader: Reader
    threshold: float | None = None  # None: the confidence model's operating point (per script)
    route: SentenceRoute | None = None  # Urdu-script questions, when the index has a multilingual side

    @property
    def index(self) -> Index:
        return self.retriever.index

    @property
    def embedder(self) -> Embedder:
        return self.retriever.embedder

    def ask(self, questions: Sequence[str], top_k: int = TOP_K) -> list[Result]:
        """Answer a batch of questions (see :func:`qa.answer.answer`)."""
        from qa.answer import answer
        from qa.multilingual import route_of

        def read(asked: Sequence[str]) -> list[Result]:
            return answer(asked, self.retriever, top_k=top_k, threshold=self.threshold, reader=self.reader)

        urdu = [i for i, q in enumerate(questions) if self.route is not None and route_of(q, True) == "sentence"]
        if self.route is None or not urdu:
            return read(questions)
        others = [i for i in range(len(questions)) if i not in set(urdu)]
        found = dict(zip(others, read([questions[i] for i in others]) if others else [], strict=True))
        found |= dict(zip(urdu, self.route.answer([questions[i] for i in urdu], self.retriever, top_k), strict=True))
        return [found[i] for i in range(len(questions))]

    def on(self, index: Index, settings: Settings) -> Assistant:
        """The same assistant over another index (a reload): the embedder, the fusion and the multilingual encoder
        are kept; the sentence route follows the new index's side."""
        from qa.multilingual import SentenceRoute
        from qa.retriever import Retriever

        encoder = self.route.encoder if self.route is not None else None
        route = SentenceRoute.of(index, encoder) if settings.multilingual else None
        found = Retriever(index, self.embedder, self.retriever.fusion)
        return Assistant(found, reader(settings, index), self.threshold, route)


def retriever(
    settings: Settings,
    index_dir: Path | None = None,
    *,
    engine: str = "torch",
    model: Embedder | None = None,
    index: Index | None = None,
) -> Retriever:
    """The retriever over ``index_dir`` (default ``settings.index_dir``): ``model`` and ``index`` share what a
    caller loaded already (the index is used when it is that folder's and was embedded with that model)."""
    from index.store import Index
    from qa.retriever import Retriever

    model = model or embedder(settings, engine)
    folder = Path(index_dir or settings.index_dir)
    if index is None or index.path.resolve() != folder.resolve() or index.model_name != model.name:
        index = Index.load(folder, model_name=model.name)
    return Retriever(index, model, fusion(settings))


def assistant(
    settings: Settings,
    index_dir: Path | None = None,
    *,
    engine: str = "torch",
    precision: str | None = None,
    model: Embedder | None = None,
    index: Index | None = None,
) -> Assistant:
    """The assistant over ``index_dir`` (see :func:`retriever`), reading at the settings' precision (or
    ``precision``)."""
    found = retriever(settings, index_dir, engine=engine, model=model, index=index)
    route = None
    if settings.multilingual:
        from qa.multilingual import SentenceRoute

        route = SentenceRoute.of(found.index)
    return Assistant(found, reader(settings, found.index, precision), threshold(settings), route)
