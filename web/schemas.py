"""Pydantic models of the HTTP edge: requests, responses and errors, as OpenAPI shows them.

The domain speaks frozen dataclasses (``index.types`` and ``qa.types``); these models exist only here, at the edge.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictInt, StringConstraints, create_model

from index.store import Index
from index.types import Document
from qa.fusion import TOP_K
from qa.language import script_of
from qa.questions import clean_question
from qa.types import Answer, Hit, Result


class ErrorOut(BaseModel):
    """Every error response: a message for people."""

    detail: str = Field(description="What is wrong and how to fix it")


class ValidationIssue(BaseModel):
    loc: list[str | int] = Field(description="Where the problem is, e.g. ['body', 'top_k']")
    msg: str
    type: str


class ValidationErrorOut(ErrorOut):
    """A request that does not validate: the message, and pydantic's findings behind it."""

    errors: list[ValidationIssue] = Field(default_factory=list)


class DocumentOut(BaseModel):
    doc_id: str
    title: str
    date: str | None
    format: str = Field(description="txt, md, html, pdf or docx")
    words: int = Field(description="Words in the document's text")
    passages: int
    href: str = Field(description="The document's page")

    @classmethod
    def of(cls, doc: Document, passages: int) -> DocumentOut:
        return cls(
            doc_id=doc.doc_id,
            title=doc.title,
            date=doc.date,
            format=str(doc.metadata.get("format") or Path(doc.path).suffix.lstrip(".").lower() or "txt"),
            words=len(doc.text[doc.body_start :].split()),
            passages=passages,
            href="/doc/" + quote(doc.doc_id),
        )


class DocumentsOut(BaseModel):
    total: int = Field(description="Documents in the index")
    offset: int
    documents: list[DocumentOut] = Field(description="In the index's order, from offset")


class SkippedOut(BaseModel):
    path: str
    problem: str = Field(description="Why the file is not indexed, and how to fix it")


class Health(BaseModel):
    status: str
    documents: int
    passages: int
    model: str = Field(description="The embedding model of the index")
    store: str = Field("flat-ip", description="Where its search structures live: flat-ip, hnsw-ip or milvus")
    lexical: Literal["local", "milvus"] = Field(
        "local", description="Where BM25 is searched: local (bm25s, the index folder) or milvus (its full-text search)"
    )
    reader: str = Field(description="The reader model and the precision it computes in")
    built_at: str
    build_seconds: float | None = Field(None, description="How long the last build of the index took")
    skipped: list[SkippedOut] = Field(default_factory=list, description="Files in the sources that failed to index")
    watching: bool = Field(False, description="Whether changed documents are indexed as they change")
    refresh_error: str | None = Field(None, description="Why the last refresh after a change failed, if it did")


class SentenceOut(BaseModel):
    text: str
    start: int = Field(description="Character offset into the document's original text")
    end: int
    kind: str = Field("text", description="text, item, row, code or heading")


class AnswerOut(BaseModel):
    text: str = Field(description="The answer, verbatim: the document's text[start:end]")
    doc_id: str
    title: str
    start: int = Field(description="Character offset into the document's original text")
    end: int
    confidence: float = Field(description="From 0 to 1")
    band: Literal["sure", "possible"] = Field(
        description="sure: answers this confident were right at least 90% of the time on the calibration "
        "questions; possible: check the source"
    )
    sentence: SentenceOut = Field(description="The sentence the answer stands in")

    @classmethod
    def of(cls, answer: Answer) -> AnswerOut:
        s = answer.sentence
        return cls(
            text=answer.text,
            doc_id=answer.doc_id,
            title=answer.title,
            start=answer.start,
            end=answer.end,
            confidence=answer.confidence,
            band="sure" if answer.band == "sure" else "possible",
            sentence=SentenceOut(text=s.text, start=s.start, end=s.end, kind=s.kind),
        )


class PassageOut(BaseModel):
    doc_id: str
    title: str
    date: str | None = Field(None, description="The document's date (YYYY-MM-DD) when it has one")
    start: int = Field(description="Character offset into the document's original text")
    end: int
    text: str = Field(description="The passage: the document's text[start:end]")
    score: float
    heading_path: list[str] = Field(default_factory=list)

    @classmethod
    def of(cls, hit: Hit, index: Index) -> PassageOut:
        p = hit.passage
        doc = index.document(p.doc_id)
        return cls(
            doc_id=p.doc_id,
            title=hit.title,
            date=doc.date if doc else None,
            start=p.start,
            end=p.end,
            text=p.text,
            score=hit.score,
            heading_path=list(p.heading_path),
        )


class AskResponse(BaseModel):
    question: str
    no_answer: bool = Field(description="True when the documents do not answer the question")
    confidence: float = Field(description="From 0 to 1")
    answer: AnswerOut | None
    passages: list[PassageOut] = Field(description="The retrieved passages, best first")
    took_ms: float = Field(description="Time spent answering, in milliseconds")
    timings: dict[str, float] = Field(default_factory=dict, description="Milliseconds per stage")
    language: str = Field(
        "en", description="The question's script: en, ur (Urdu in Arabic script) or ur-Latn (Roman Urdu)"
    )
    method: str = Field(
        "reader",
        description="How the answer was found: reader (a span read by the trained reader; confidence is its "
        "calibrated probability) or sentence (an Urdu-script question matched to an English sentence by the "
        "multilingual side; confidence is a match score: their cosine, the question's Latin-script words in the "
        "sentence and the passage's cosine, not a probability)",
    )

    @classmethod
    def of(cls, result: Result, took_ms: float, index: Index) -> AskResponse:
        return cls(
            question=result.question,
            language=script_of(result.question),
            method=result.method,
            no_answer=result.no_answer,
            confidence=result.confidence,
            answer=AnswerOut.of(result.answer) if result.answer is not None else None,
            passages=[PassageOut.of(h, index) for h in result.passages],
            took_ms=round(took_ms, 3),
            timings={k: round(v, 3) for k, v in result.timings.items()},
        )


class AskRequest(BaseModel):
    """The body of ``POST /ask``; :func:`ask_request_model` makes the one with this app's limits."""

    model_config = ConfigDict(extra="forbid")

    question: str
    top_k: int = TOP_K


def ask_request_model(max_question_chars: int, max_top_k: int) -> type[AskRequest]:
    """``AskRequest`` with the limits of these settings, so that OpenAPI states them exactly."""
    question: Any = (
        Annotated[
            str,
            # Invisible characters (zero-width spaces, BOM, NUL) go first: made only of them, a question is empty.
            BeforeValidator(lambda v: clean_question(v) if isinstance(v, str) else v),
            StringConstraints(strip_whitespace=True, min_length=1, max_length=max_question_chars),
        ],
        Field(description="A question in words", examples=["Who signed the MOU with PITB?"]),
    )
    top_k: Any = (
        Annotated[StrictInt, Field(ge=1, le=max_top_k)],
        Field(TOP_K, description="How many passages to retrieve and read"),
    )
    return create_model("AskRequest", __base__=AskRequest, question=question, top_k=top_k)
