"""The OpenAI error map: status table, Retry-After, context length, broken bodies."""

from __future__ import annotations

import json

import pytest

from portico import errors as e
from portico.adapters.base import UpstreamResponse
from portico.adapters.dialects.openai_chat import OpenAIChatDialect
from portico.adapters.dialects.openai_chat._wire import WireErrorBody
from portico.adapters.dialects.openai_chat.errors import map_inband_error

from ._support import fixture_bytes, recorded_error, target

DIALECT = OpenAIChatDialect()


def envelope(code: str | None = None, type_: str = "invalid_request_error") -> bytes:
    return json.dumps({"error": {"message": "boom", "type": type_, "param": None,
                                 "code": code}}).encode()


def mapped(status: int, body: bytes, headers: dict[str, str] | None = None) -> e.GatewayError:
    return DIALECT.map_error(UpstreamResponse(status, headers or {}, body), target())


STATUS_TABLE: list[tuple[int, type[e.UpstreamError], bool]] = [
    (400, e.UpstreamBadRequest, False),
    (401, e.UpstreamAuthError, False),
    (403, e.UpstreamAuthError, False),
    (404, e.UpstreamBadRequest, False),
    (408, e.UpstreamTimeout, True),
    (409, e.UpstreamBadRequest, False),
    (413, e.UpstreamBadRequest, False),
    (422, e.UpstreamBadRequest, False),
    (429, e.UpstreamRateLimited, True),
    (500, e.UpstreamUnavailable, True),
    (502, e.UpstreamUnavailable, True),
    (503, e.UpstreamUnavailable, True),
    (504, e.UpstreamUnavailable, True),
    (529, e.UpstreamUnavailable, True),
]


@pytest.mark.parametrize(("status", "cls", "retryable"), STATUS_TABLE)
@pytest.mark.parametrize("body", [envelope("some_code"), b"<html>oops</html>", b'{"error": {"me'])
def test_status_table(status: int, cls: type[e.UpstreamError], retryable: bool,
                      body: bytes) -> None:
    err = mapped(status, body)
    assert type(err) is cls
    assert err.retryable is retryable
    assert isinstance(err, e.UpstreamError) and err.upstream_status == status
    assert "<html" not in err.message


def test_429_fixture_with_retry_after_headers_and_masked_key() -> None:
    err = DIALECT.map_error(recorded_error("error_429.json"), target())
    assert isinstance(err, e.UpstreamRateLimited)
    assert err.retry_after == pytest.approx(19.5)  # retry-after-ms wins over retry-after
    assert "sk-proj-abcdefghijklmnop1234" not in err.message
    assert "[redacted]" in err.message


def test_context_length_fixture_is_decided_by_code() -> None:
    err = DIALECT.map_error(recorded_error("error_context_length.json"), target())
    assert isinstance(err, e.UpstreamContextLength)
    assert err.code == "context_length_exceeded" and err.param == "messages"


def test_message_text_alone_never_decides() -> None:
    body = json.dumps({"error": {"message": "maximum context length exceeded, rate limit",
                                 "type": "invalid_request_error", "code": None}}).encode()
    err = mapped(400, body)
    assert type(err) is e.UpstreamBadRequest


def test_html_error_page_is_sanitized() -> None:
    err = mapped(502, fixture_bytes("html_error.html"), {"retry-after": "3"})
    assert isinstance(err, e.UpstreamUnavailable)
    assert err.retry_after == 3.0
    assert "sk-leaked" not in err.message and "<" not in err.message


def test_string_error_and_numeric_code_envelopes() -> None:
    assert isinstance(mapped(400, b'{"error": "bad things"}'), e.UpstreamBadRequest)
    err = mapped(429, b'{"error": {"message": "slow down", "code": 429}}')
    assert isinstance(err, e.UpstreamRateLimited)


@pytest.mark.parametrize(("err", "cls"), [
    (WireErrorBody(message="x", type="server_error"), e.UpstreamUnavailable),
    (WireErrorBody(message="x", code="rate_limit_exceeded"), e.UpstreamRateLimited),
    (WireErrorBody(message="x", code=429), e.UpstreamRateLimited),
    (WireErrorBody(message="x", code="context_length_exceeded"), e.UpstreamContextLength),
    (WireErrorBody(message="x", type="invalid_request_error"), e.UpstreamBadRequest),
    (WireErrorBody(message="x", type="overloaded_error"), e.UpstreamUnavailable),
    (WireErrorBody(message="x"), e.UpstreamUnavailable),
])
def test_inband_error_table(err: WireErrorBody, cls: type[e.UpstreamError]) -> None:
    assert type(map_inband_error(err)) is cls
