"""Embeddings request shape and response parsing, float and base64."""

from __future__ import annotations

import json

import pytest

from portico.adapters.dialects.openai_chat import OpenAIChatDialect
from portico.errors import UpstreamBadResponse
from portico.schema.embeddings import EmbeddingRequest
from tests.support.openapi import validate

from ._support import API_KEY, as_json, fixture_bytes, ok, target

DIALECT = OpenAIChatDialect()


def test_request_shape_and_azure_path() -> None:
    req = EmbeddingRequest(model="alias", input=["a", "b"], encoding_format="base64",
                           dimensions=256, user="u1")
    out = DIALECT.translate_embeddings(req, target(model="text-embedding-3-small"))
    assert out.url == "https://api.openai.com/v1/embeddings"
    assert ("authorization", f"Bearer {API_KEY}") in out.headers
    assert json.loads(out.body) == {"model": "text-embedding-3-small", "input": ["a", "b"],
                                    "encoding_format": "base64", "dimensions": 256,
                                    "user": "u1"}
    az = target("azure_openai", model="emb", base_url="https://r.openai.azure.com")
    assert DIALECT.translate_embeddings(req, az).url == (
        "https://r.openai.azure.com/openai/deployments/emb/embeddings?api-version=2024-10-21")


def test_float_response() -> None:
    body = b"""{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,-0.2]},
      {"object":"embedding","index":1,"embedding":[0.3,0.4]}],"model":"text-embedding-3-small",
      "usage":{"prompt_tokens":4,"total_tokens":4}}"""
    req = EmbeddingRequest(model="alias", input=["a", "b"])
    resp = DIALECT.parse_embeddings(ok(body), target(), req)
    assert [d.embedding for d in resp.data] == [[0.1, -0.2], [0.3, 0.4]]
    assert resp.usage.prompt_tokens == 4
    validate("CreateEmbeddingResponse", as_json(resp))


def test_base64_response() -> None:
    body = b"""{"data":[{"index":0,"embedding":"AAAAAAAAgD8="}],"model":"m",
      "usage":{"prompt_tokens":2,"total_tokens":2}}"""
    req = EmbeddingRequest(model="alias", input="a", encoding_format="base64")
    resp = DIALECT.parse_embeddings(ok(body), target(), req)
    assert resp.data[0].embedding == "AAAAAAAAgD8="
    # OpenAI's OpenAPI document types `embedding` as numbers only, so base64 is checked by
    # shape here: everything but the vector must still match the schema.
    payload = as_json(resp)
    assert isinstance(payload, dict)
    payload["data"][0]["embedding"] = [0.0, 1.0]
    validate("CreateEmbeddingResponse", payload)


@pytest.mark.parametrize("body", [fixture_bytes("html_error.html"), fixture_bytes("truncated.json"),
                                  b'{"data":[{"embedding":"AAAA"}]}'])
def test_broken_or_mismatched_bodies(body: bytes) -> None:
    with pytest.raises(UpstreamBadResponse):
        DIALECT.parse_embeddings(ok(body), target(), EmbeddingRequest(model="m", input="a"))
