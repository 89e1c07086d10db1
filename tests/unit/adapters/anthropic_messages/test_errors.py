"""Error mapping: Anthropic error bodies (and HTML or truncated ones) to typed gateway errors."""

from __future__ import annotations

import json

import pytest

from portico import errors as e
from portico.adapters.base import Target
from portico.adapters.dialects.anthropic_messages import AnthropicMessagesDialect
from portico.adapters.dialects.anthropic_messages.errors import PROMPT_TOO_LONG_TEXT

from .conftest import fixture_bytes, response


def _body(error_type: str, message: str) -> bytes:
    return json.dumps({"type": "error", "error": {"type": error_type, "message": message}}).encode()


@pytest.mark.parametrize(("status", "body", "expected"), [
    (529, fixture_bytes("error_overloaded_529.json"), e.UpstreamUnavailable),
    (500, _body("api_error", "Internal server error"), e.UpstreamUnavailable),
    (504, _body("timeout_error", "timed out"), e.UpstreamUnavailable),
    (401, _body("authentication_error", "invalid x-api-key"), e.UpstreamAuthError),
    (403, _body("permission_error", "no access"), e.UpstreamAuthError),
    (404, _body("not_found_error", "model: claude-nope"), e.UpstreamBadRequest),
    (413, _body("request_too_large", "Request exceeds the maximum size"), e.UpstreamBadRequest),
    (400, fixture_bytes("error_invalid_request.json"), e.UpstreamBadRequest),
    (408, _body("timeout_error", "request timeout"), e.UpstreamTimeout),
    (502, fixture_bytes("html_error.html"), e.UpstreamUnavailable),
    (400, fixture_bytes("truncated.json"), e.UpstreamBadRequest),
    (529, b"", e.UpstreamUnavailable),
])
def test_error_table(dialect: AnthropicMessagesDialect, target: Target, status: int,
                     body: bytes, expected: type[e.GatewayError]) -> None:
    err = dialect.map_error(response(body, status), target)
    assert type(err) is expected
    assert isinstance(err, e.UpstreamError)
    assert err.upstream_status == status


def test_overloaded_is_retryable(dialect: AnthropicMessagesDialect, target: Target) -> None:
    err = dialect.map_error(response(fixture_bytes("error_overloaded_529.json"), 529), target)
    assert err.retryable
    assert err.message == "Overloaded"


def test_rate_limit_with_retry_after(dialect: AnthropicMessagesDialect, target: Target) -> None:
    headers = json.loads(fixture_bytes("error_429.headers.json"))
    err = dialect.map_error(response(fixture_bytes("error_429.json"), 429, headers), target)
    assert type(err) is e.UpstreamRateLimited
    assert err.retry_after == 17.0
    assert "50,000 input tokens" in err.message


def test_prompt_too_long_is_context_length(dialect: AnthropicMessagesDialect,
                                           target: Target) -> None:
    err = dialect.map_error(response(fixture_bytes("error_prompt_too_long.json"), 400), target)
    assert type(err) is e.UpstreamContextLength
    assert err.code == "context_length_exceeded"


@pytest.mark.parametrize(("status", "error_type"), [
    (429, "invalid_request_error"), (400, "rate_limit_error"), (500, "api_error")])
def test_prompt_text_alone_does_not_make_context_length(
        dialect: AnthropicMessagesDialect, target: Target, status: int, error_type: str) -> None:
    err = dialect.map_error(response(_body(error_type, PROMPT_TOO_LONG_TEXT), status), target)
    assert not isinstance(err, e.UpstreamContextLength)


def test_html_page_is_not_echoed(dialect: AnthropicMessagesDialect, target: Target) -> None:
    err = dialect.map_error(response(fixture_bytes("html_error.html"), 502), target)
    assert "<" not in err.message
    assert "cloudflare" not in err.message


def test_secrets_in_messages_are_masked(dialect: AnthropicMessagesDialect,
                                        target: Target) -> None:
    err = dialect.map_error(response(
        _body("authentication_error", "bad key sk-ant-api03-abcdefghijklmnop"), 400), target)
    assert "abcdefghijklmnop" not in err.message
