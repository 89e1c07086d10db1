"""Embeddings: batchEmbedContents request shape and response parsing."""

from __future__ import annotations

import base64
import struct
from typing import Any

import msgspec
import pytest

from portico.errors import InvalidRequest, UpstreamBadResponse
from portico.schema.embeddings import EmbeddingRequest
from tests.support.openapi import validate
from tests.unit.adapters.gemini._support import BASE, TARGET, dialect, fixture, ok


def req(**kw: Any) -> EmbeddingRequest:
    # Built directly: msgspec cannot convert into the shared `input` union (two array types).
    return EmbeddingRequest(**{"model": "e", "input": ["a", "b"], **kw})


def test_request_shape() -> None:
    up = dialect().translate_embeddings(req(dimensions=4), TARGET)
    assert up.url == f"{BASE}/models/gemini-2.5-flash:batchEmbedContents"
    assert dict(up.headers)["x-goog-api-key"]
    assert msgspec.json.decode(up.body) == {"requests": [
        {"model": "models/gemini-2.5-flash", "content": {"parts": [{"text": t}]},
         "outputDimensionality": 4} for t in ("a", "b")]}


def test_single_string_and_no_dimensions() -> None:
    up = dialect().translate_embeddings(req(input="hello"), TARGET)
    assert msgspec.json.decode(up.body) == {"requests": [
        {"model": "models/gemini-2.5-flash", "content": {"parts": [{"text": "hello"}]}}]}


@pytest.mark.parametrize("value", [[1, 2, 3], [[1, 2]], []])
def test_token_arrays_and_empty_input_rejected(value: object) -> None:
    with pytest.raises(InvalidRequest) as exc:
        dialect().translate_embeddings(req(input=value), TARGET)
    assert exc.value.param == "input"


def test_parse_fixture() -> None:
    r = dialect().parse_embeddings(ok(fixture("embeddings.json")), TARGET, req())
    validate("CreateEmbeddingResponse", msgspec.json.decode(msgspec.json.encode(r)))
    assert [d.index for d in r.data] == [0, 1]
    assert r.data[1].embedding == [-0.2, 0.25, 0.5, -0.125]
    # Gemini reports no usage; the gateway estimates it.
    assert (r.usage.prompt_tokens, r.usage.total_tokens) == (0, 0)


def test_base64_encoding_is_little_endian_float32() -> None:
    r = dialect().parse_embeddings(ok(fixture("embeddings.json")), TARGET,
                                   req(encoding_format="base64"))
    raw = r.data[1].embedding
    assert isinstance(raw, str)
    values = struct.unpack("<4f", base64.b64decode(raw))
    assert values == pytest.approx((-0.2, 0.25, 0.5, -0.125), rel=1e-6)


def test_count_mismatch_and_garbage_are_bad_responses() -> None:
    with pytest.raises(UpstreamBadResponse):
        dialect().parse_embeddings(ok(fixture("embeddings.json")), TARGET, req(input="x"))
    with pytest.raises(UpstreamBadResponse):
        dialect().parse_embeddings(ok(fixture("truncated.json")), TARGET, req())
