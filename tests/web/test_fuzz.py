"""The API fuzzed from its own OpenAPI schema with schemathesis, in-process over ASGI, lifespan included.

Every generated request, valid or not, must get an answer that is not a 5xx and that conforms to the
schema the app publishes (status code declared, body of the declared model, content type).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode, checks
from schemathesis.python import asgi

from index.embed import Embedder
from qa.settings import Settings
from web.app import create_app

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


@pytest.fixture(scope="module")
def api_schema(web_index: Path, embedder: Embedder) -> Iterator[Any]:
    # schemathesis names the app "testserver": a host name allowed only by the setting.
    app = create_app(Settings(index_dir=web_index, allowed_hosts=["testserver"]), embedder=embedder)
    # schemathesis starts the app's lifespan (which loads the index) before its first request.
    yield schemathesis.openapi.from_asgi("/openapi.json", app)
    asgi.shutdown_lifespans()


# schemathesis's own pytest integration (``from_fixture``) fails on this pytest (it reads a private
# attribute pytest 9 dropped), so each operation's strategy drives a plain hypothesis test.
OPERATIONS = [("POST", "/ask"), ("GET", "/search"), ("GET", "/documents"), ("GET", "/healthz")]
MODES = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]


def test_every_operation_is_fuzzed(api_schema: Any) -> None:
    found = {(op.ok().method.upper(), op.ok().path) for op in api_schema.get_all_operations()}
    assert found == set(OPERATIONS)


# Negative cases need something to get wrong: /healthz takes no input at all.
CASES = [(m, p, mode) for m, p in OPERATIONS for mode in MODES if p != "/healthz" or mode is GenerationMode.POSITIVE]


@pytest.mark.parametrize(("method", "path", "mode"), CASES, ids=[f"{m} {p} {mode.value}" for m, p, mode in CASES])
def test_api_conforms_to_its_schema(api_schema: Any, method: str, path: str, mode: GenerationMode) -> None:
    operation = api_schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=30,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(case: Any) -> None:
        case.call_and_validate(checks=CHECKS)

    fuzz()
