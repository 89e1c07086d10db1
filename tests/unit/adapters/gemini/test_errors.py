"""Gemini error bodies -> typed errors: the status table, RetryInfo, auth and context length."""

from __future__ import annotations

import msgspec
import pytest

from portico import errors as e
from portico.adapters.dialects.gemini.errors import parse_duration
from tests.unit.adapters.gemini._support import TARGET, dialect, fixture, ok


def status_body(code: int, status: str, message: str = "m",
                details: list[dict[str, object]] | None = None) -> bytes:
    return msgspec.json.encode({"error": {"code": code, "message": message, "status": status,
                                          "details": details or []}})


def mapped(body: bytes, status: int, headers: dict[str, str] | None = None) -> e.GatewayError:
    return dialect().map_error(ok(body, status, headers), TARGET)


@pytest.mark.parametrize(("code", "status", "cls"), [
    (429, "RESOURCE_EXHAUSTED", e.UpstreamRateLimited),
    (503, "UNAVAILABLE", e.UpstreamUnavailable),
    (500, "INTERNAL", e.UpstreamUnavailable),
    (504, "DEADLINE_EXCEEDED", e.UpstreamUnavailable),
    (400, "INVALID_ARGUMENT", e.UpstreamBadRequest),
    (400, "FAILED_PRECONDITION", e.UpstreamBadRequest),
    (404, "NOT_FOUND", e.UpstreamBadRequest),
    (403, "PERMISSION_DENIED", e.UpstreamAuthError),
    (401, "UNAUTHENTICATED", e.UpstreamAuthError),
])
def test_status_table(code: int, status: str, cls: type[e.GatewayError]) -> None:
    err = mapped(status_body(code, status), code)
    assert type(err) is cls
    assert isinstance(err, e.UpstreamError) and err.upstream_status == code


def test_429_retry_delay_from_body() -> None:
    err = mapped(fixture("error_429_retryinfo.json"), 429)
    assert isinstance(err, e.UpstreamRateLimited)
    assert err.retryable
    assert err.retry_after == 13.0


def test_retry_after_header_wins_over_body() -> None:
    err = mapped(fixture("error_429_retryinfo.json"), 429, {"retry-after": "2"})
    assert err.retry_after == 2.0


@pytest.mark.parametrize(("raw", "seconds"), [
    ("13s", 13.0), ("1.5s", 1.5), ("0.250s", 0.25), ("13", None), ("s", None), ("", None),
    (None, None), ("-1s", None),
])
def test_parse_duration(raw: str | None, seconds: float | None) -> None:
    assert parse_duration(raw) == seconds


def test_fractional_retry_delay() -> None:
    body = status_body(429, "RESOURCE_EXHAUSTED", details=[
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1.5s"}])
    assert mapped(body, 429).retry_after == 1.5


def test_400_passes_sanitized_message_and_status_code() -> None:
    err = mapped(fixture("error_400.json"), 400)
    assert type(err) is e.UpstreamBadRequest
    assert err.code == "INVALID_ARGUMENT"
    assert "Unknown name" in err.message


def test_invalid_api_key_is_auth_despite_400() -> None:
    body = status_body(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.",
                       [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                         "reason": "API_KEY_INVALID", "domain": "googleapis.com"}])
    err = mapped(body, 400)
    assert type(err) is e.UpstreamAuthError
    assert err.failover and not err.retryable


def test_context_length() -> None:
    body = status_body(400, "INVALID_ARGUMENT", "The input token count (1200000) exceeds the "
                       "maximum number of tokens allowed (1048576).")
    err = mapped(body, 400)
    assert isinstance(err, e.UpstreamContextLength)
    assert err.code == "context_length_exceeded"


def test_array_form_body() -> None:
    body = b"[" + status_body(503, "UNAVAILABLE", "The model is overloaded.") + b"]"
    assert type(mapped(body, 503)) is e.UpstreamUnavailable


def test_secret_in_message_is_masked() -> None:
    body = status_body(400, "INVALID_ARGUMENT", "bad key AIzaSyA1234567890abcdefghijklmnop")
    assert "AIza" not in mapped(body, 400).message


@pytest.mark.parametrize(("name", "status", "cls"), [
    ("html_error.html", 502, e.UpstreamUnavailable),
    ("truncated.json", 500, e.UpstreamUnavailable),
    ("html_error.html", 429, e.UpstreamRateLimited),
])
def test_undecodable_bodies_fall_back_to_http_status(
        name: str, status: int, cls: type[e.GatewayError]) -> None:
    err = mapped(fixture(name), status)
    assert type(err) is cls
    assert "<" not in err.message
