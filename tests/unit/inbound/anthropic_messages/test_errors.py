"""Gateway errors as Anthropic error bodies, read back by the anthropic SDK."""

from __future__ import annotations

import json

import anthropic
import httpx2
import pytest

from portico import errors as e
from portico.inbound.anthropic_messages.errors import anthropic_error_type, error_body

from ._support import sdk_client


@pytest.mark.parametrize(("err", "expected"), [
    (e.InvalidRequest("bad"), "invalid_request_error"),
    (e.ContextLengthExceeded("long"), "invalid_request_error"),
    (e.PayloadTooLarge("big"), "request_too_large"),
    (e.AuthError("who"), "authentication_error"),
    (e.PermissionDenied("no"), "permission_error"),
    (e.PolicyViolation("policy"), "permission_error"),
    (e.ModelNotFound("which"), "not_found_error"),
    (e.RateLimited("slow"), "rate_limit_error"),
    (e.BudgetExceeded("spent"), "rate_limit_error"),
    (e.UpstreamRateLimited("slow"), "rate_limit_error"),
    (e.GatewayUnavailable("down"), "overloaded_error"),
    (e.UpstreamUnavailable("down", upstream_status=529), "overloaded_error"),
    (e.UpstreamTimeout("late"), "timeout_error"),
    (e.UpstreamBadResponse("junk"), "api_error"),
    (e.UpstreamConnectError("reset"), "api_error"),
    (e.UpstreamBadRequest("nope"), "invalid_request_error"),
    (e.InternalError("oops"), "api_error"),
    (e.AllTargetsFailed(e.UpstreamRateLimited("slow"), ()), "rate_limit_error"),
])
def test_error_type_map(err: e.GatewayError, expected: str) -> None:
    body = json.loads(error_body(err, "req_1"))
    assert body["type"] == "error" and body["request_id"] == "req_1"
    assert body["error"]["type"] == expected


def test_type_fallback_without_status() -> None:
    assert anthropic_error_type(None, "service_unavailable") == "overloaded_error"
    assert anthropic_error_type(None, "something_new") == "api_error"
    assert anthropic_error_type(418) == "invalid_request_error"


def test_messages_pass_the_client_envelope_redaction() -> None:
    leaky = e.UpstreamUnavailable("Traceback ... sk-ant-abcdefghijklmnop", upstream_status=503)
    message = json.loads(error_body(leaky, "req_1"))["error"]["message"]
    assert message == "the upstream provider failed (HTTP 503)"
    bad = e.InvalidRequest("key sk-abcdefghijklmnopqrstu is wrong")
    assert "sk-abcdefghijklmnopqrstu" not in json.loads(error_body(bad, "r"))["error"]["message"]


@pytest.mark.parametrize(("err", "exc"), [
    (e.InvalidRequest("messages.0: Field required"), anthropic.BadRequestError),
    (e.AuthError("invalid key"), anthropic.AuthenticationError),
    (e.PermissionDenied("no"), anthropic.PermissionDeniedError),
    (e.ModelNotFound("no such model"), anthropic.NotFoundError),
    (e.RateLimited("slow down"), anthropic.RateLimitError),
    (e.InternalError("oops"), anthropic.InternalServerError),
])
def test_the_sdk_raises_its_own_exception_class(err: e.GatewayError,
                                                exc: type[anthropic.APIStatusError]) -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(err.status, content=error_body(err, "req_9"),
                               headers={"content-type": "application/json"})

    with pytest.raises(exc) as info:
        sdk_client(handler).messages.create(model="m", max_tokens=5,
                                            messages=[{"role": "user", "content": "hi"}])
    assert info.value.body == json.loads(error_body(err, "req_9"))
