"""Redaction: key shapes, credential headers, literal secrets in every encoding, PII on demand."""

from __future__ import annotations

import base64
from urllib.parse import quote

import pytest

from portico.observability.redact import (
    REDACTED,
    Redactor,
    client_safe_message,
    scrub_shapes,
)

SECRET = "canary-Zq8/x+Y=w9_secret"


@pytest.mark.parametrize("text", [
    "key sk-proj-abcdefghijklmnop leaked", "sk-ant-api03-abcdefghijklmnopqrst",
    "sk-pt-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789", "AIzaSyA1234567890abcdefghijklmnop",
    "gsk_abcdefghijkl1234", "xai_abcdefghijkl", "AKIAABCDEFGHIJKLMNOP", "ghp_" + "a" * 36,
    "Authorization: Bearer abc.def-ghi123", "authorization: Basic dXNlcjpwYXNz",
    "x-api-key: plainvalue42", "api-key=plainvalue42", "x-goog-api-key: plainvalue42",
    "Cookie: session=plainvalue42; other=1", "set-cookie: sid=plainvalue42; HttpOnly",
    "{\"api_key\": \"plainvalue42\"}", "{'authorization': 'Bearer plainvalue42'}",
    "GET /v1beta/models?key=plainvalue42&alt=sse", "eyJhbGciOiJIUzI1.eyJzdWIiOiIxMjM0.abcdefghij",
])
def test_shapes_and_headers_are_masked(text: str) -> None:
    out = scrub_shapes(text)
    assert REDACTED in out
    for secret in ("abcdefghijkl", "plainvalue42", "abc.def-ghi123", "dXNlcjpwYXNz",
                   "AbCdEfGhIj", "ABCDEFGHIJKLMNOP", "a" * 36):
        assert secret not in out


def test_quoted_values_stay_quoted() -> None:
    assert scrub_shapes('{"authorization": "Bearer x1234567"}') == \
        '{"authorization": "[redacted]"}'


def test_literal_secrets_in_every_encoding() -> None:
    r = Redactor([SECRET])
    raw = SECRET.encode()
    forms = [SECRET, quote(SECRET, safe=""), base64.b64encode(raw).decode(),
             base64.urlsafe_b64encode(raw).decode(), base64.b64encode(b"u:" + raw).decode()]
    for prefix in (b"", b"a", b"ab", b"user:"):
        forms.append(base64.b64encode(prefix + raw + b"tail").decode())
    for form in forms:
        out = r.scrub(f"value={form}!")
        assert form not in out, form
    assert r.scrub("nothing here") == "nothing here"


def test_short_secrets_are_not_registered() -> None:
    assert Redactor(["abc"]).scrub("abc abc") == "abc abc"


def test_pii_only_when_enabled() -> None:
    text = "mail jane.doe@example.com card 4111 1111 1111 1111 ssn 123-45-6789 +1 415 555 0100"
    plain = Redactor().scrub(text)
    assert "jane.doe@example.com" in plain
    masked = Redactor(pii=True).scrub(text)
    for value in ("jane.doe@example.com", "4111 1111 1111 1111", "123-45-6789", "555 0100"):
        assert value not in masked


@pytest.mark.parametrize("body,expect", [
    ("<!DOCTYPE html><html><body>nginx sk-abcdefghijkl</body></html>", "HTML page"),
    ('Traceback (most recent call last):\n  File "/app/x.py", line 3, in f\nKeyError', "withheld"),
    ("java.lang.NullPointerException\n\tat com.x.Foo.bar(Foo.java:42)", "withheld"),
    ("panic: runtime error\ngoroutine 1 [running]:", "withheld"),
])
def test_client_messages_drop_markup_and_traces(body: str, expect: str) -> None:
    out = client_safe_message(body)
    assert expect in out and "sk-" not in out and "File" not in out


def test_client_messages_fold_and_cap() -> None:
    assert client_safe_message("a\n\n b") == "a b"
    assert len(client_safe_message("x " * 1000, 50)) == 51
