"""Schemathesis against Portico's own OpenAPI document, with the master key, a virtual key and
no key: no 5xx, and every response matches the published schema, status and content type."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.security._threaded import ThreadedGateway
from tests.support.gateway import Running

CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance,
          content_type_conformance, response_headers_conformance]
MAX_EXAMPLES = 12


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    host = ThreadedGateway(Path(tmp_path_factory.mktemp("st")))
    try:
        yield host.start()
    finally:
        host.stop()


def _exercise(operation: schemathesis.APIOperation[Any, Any, Any, Any], gateway: Running,
              statuses: list[int]) -> None:
    @given(case=operation.as_strategy())
    @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    def check(case: schemathesis.Case[Any]) -> None:
        for key in (gateway.master_key, gateway.key, None):
            headers = {"Authorization": f"Bearer {key}"} if key else {}
            response = case.call(headers=headers, timeout=30)
            statuses.append(response.status_code)
            case.validate_response(response, checks=CHECKS)

    check()


def test_api_conforms(gateway: Running) -> None:
    schema = schemathesis.openapi.from_url(gateway.root_url + "/openapi.json")
    failures: list[str] = []
    statuses: list[int] = []
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 16
    for operation in operations:
        try:
            _exercise(operation, gateway, statuses)
        except AssertionError as exc:      # schemathesis' check failures are assertions
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)
    # The run really exercised the API: many calls, successes and refusals alike.
    assert len(statuses) > 200
    assert {200, 401}.issubset(statuses) and any(s in (400, 403, 404) for s in statuses)
