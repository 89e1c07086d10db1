"""Shared upstream error helpers: Retry-After forms, the status table and sanitizing."""

from __future__ import annotations

import pytest

from portico import errors as e
from portico.adapters._errors import (
    MAX_MESSAGE,
    error_for_status,
    parse_retry_after,
    sanitize_message,
)


@pytest.mark.parametrize(("headers", "expected"), [
    ({"retry-after": "20"}, 20.0),
    ({"retry-after": " 1.5 "}, 1.5),
    ({"retry-after": "0"}, 0.0),
    ({"retry-after-ms": "250"}, 0.25),
    ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
    ({"retry-after-ms": "soon", "retry-after": "9"}, 9.0),
    ({"retry-after-ms": "-5", "retry-after": "9"}, 9.0),
    ({"retry-after": "-3"}, None),
    ({"retry-after": "garbage"}, None),
    ({"retry-after": ""}, None),
    ({}, None),
])
def test_retry_after_seconds_and_ms(headers: dict[str, str], expected: float | None) -> None:
    assert parse_retry_after(headers) == expected


def test_http_date_is_measured_against_the_date_header() -> None:
    headers = {"retry-after": "Wed, 21 Oct 2015 07:28:30 GMT",
               "date": "Wed, 21 Oct 2015 07:28:00 GMT"}
    assert parse_retry_after(headers) == pytest.approx(30.0)
    past = {"retry-after": "Wed, 21 Oct 2015 07:27:00 GMT",
            "date": "Wed, 21 Oct 2015 07:28:00 GMT"}
    assert parse_retry_after(past) == 0.0


def test_http_date_without_date_header_uses_now() -> None:
    # A date long past: zero wait, whatever the wall clock says.
    assert parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0
    garbage_date = {"retry-after": "Wed, 21 Oct 2015 07:28:30 GMT", "date": "not a date"}
    assert parse_retry_after(garbage_date) == 0.0


@pytest.mark.parametrize("secret", [
    "sk-proj-abcdefghijklmnop", "sk-ant-api03-abcdefghijk", "AIzaSyA1234567890abcdefghijk",
    "gsk_abcdefghijkl", "pk_live_abcdefghij",
])
def test_sanitize_masks_key_shapes(secret: str) -> None:
    out = sanitize_message(f"Incorrect API key provided: {secret}. Check it.")
    assert secret not in out and "[redacted]" in out


def test_sanitize_masks_bearer_tokens_and_html_and_caps_length() -> None:
    assert "abc.def-ghi" not in sanitize_message("Authorization: Bearer abc.def-ghi123")
    html = sanitize_message("<!DOCTYPE html><html><body>502 sk-abcdefghijkl</body></html>")
    assert "<" not in html and "sk-" not in html
    long = sanitize_message("x " * 1000)
    assert len(long) <= MAX_MESSAGE + 1 and long.endswith("…")
    assert sanitize_message("a\n\n  b\t c") == "a b c"


def test_error_for_status_defaults_and_context_length() -> None:
    err = error_for_status(500, "")
    assert isinstance(err, e.UpstreamUnavailable) and "500" in err.message
    ctx = error_for_status(400, "too long", context_length=True)
    assert isinstance(ctx, e.UpstreamContextLength) and ctx.param == "messages"
    auth = error_for_status(401, "bad key sk-abcdefghijklmnop")
    assert "sk-" not in auth.message
    rl = error_for_status(429, "slow", retry_after=2.0)
    assert isinstance(rl, e.UpstreamRateLimited) and rl.retry_after == 2.0
    odd = error_for_status(302, "redirect")
    assert isinstance(odd, e.UpstreamBadResponse)
