"""Hostile and malformed upstream bodies only ever produce typed gateway errors."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portico.adapters.base import SSEEvent
from portico.errors import GatewayError, UpstreamBadResponse
from portico.schema.embeddings import EmbeddingRequest
from tests.unit.adapters.gemini._support import TARGET, chat, dialect, fixture, ok

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["candidates", "content", "parts", "text", "functionCall", "args",
                         "name", "finishReason", "index", "usageMetadata", "promptTokenCount",
                         "error", "code", "status", "details", "@type", "retryDelay",
                         "promptFeedback", "blockReason", "thought", "embeddings", "values"]),
        inner, max_size=5),
    max_leaves=25,
)


@pytest.mark.parametrize("name", ["truncated.json", "html_error.html"])
def test_fixtures_are_bad_responses(name: str) -> None:
    with pytest.raises(UpstreamBadResponse):
        dialect().parse_response(ok(fixture(name)), TARGET, chat())


@pytest.mark.parametrize("body", [
    b'{"candidates": "nope"}',
    b'{"candidates": [{"content": {"parts": [{"functionCall": {"name": "f", "args": [1]}}]}}]}',
    b'{"usageMetadata": {"promptTokenCount": "12"}, "candidates": []}',
    b"null",
    b"",
])
def test_wrongly_typed_bodies(body: bytes) -> None:
    with pytest.raises(UpstreamBadResponse):
        dialect().parse_response(ok(body), TARGET, chat())


def test_unknown_fields_and_parts_are_ignored() -> None:
    body = (b'{"candidates": [{"content": {"parts": [{"executableCode": {"code": "1"}}, '
            b'{"text": "ok", "newField": 1}]}, "finishReason": "BRAND_NEW", '
            b'"safetyRatings": []}], "somethingElse": {"a": 1}}')
    r = dialect().parse_response(ok(body), TARGET, chat())
    assert r.choices[0].message.content == "ok"
    assert r.choices[0].finish_reason == "stop"


def _only_gateway_errors(fn: Callable[..., object], *args: object) -> None:
    # Anything other than a GatewayError propagates and fails the test.
    with contextlib.suppress(GatewayError):
        fn(*args)


@settings(max_examples=200, deadline=None)
@given(JSON)
def test_fuzzed_json_never_escapes_typed_errors(value: object) -> None:
    raw = msgspec.json.encode(value)
    d = dialect()
    _only_gateway_errors(d.parse_response, ok(raw), TARGET, chat())
    _only_gateway_errors(d.map_error, ok(raw, 500), TARGET)
    _only_gateway_errors(d.open_stream(TARGET, chat(stream=True)).feed, SSEEvent(data=raw.decode()))
    _only_gateway_errors(d.parse_embeddings, ok(raw), TARGET,
                         EmbeddingRequest(model="e", input="x"))


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300), st.integers(100, 599))
def test_fuzzed_bytes_never_escape_typed_errors(raw: bytes, status: int) -> None:
    d = dialect()
    _only_gateway_errors(d.parse_response, ok(raw), TARGET, chat())
    err = d.map_error(ok(raw, status), TARGET)
    assert isinstance(err, GatewayError)
