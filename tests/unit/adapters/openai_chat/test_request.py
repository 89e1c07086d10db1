"""Request shape for every field family, and the per-vendor reshaping done from spec data."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from portico.adapters.base import AuthScheme
from portico.adapters.dialects.openai_chat import OpenAIChatDialect
from portico.schema.chat import ChatRequest

from ._support import API_KEY, spec, target

DIALECT = OpenAIChatDialect()


def req(**fields: Any) -> ChatRequest:
    body = {"model": "client-alias", "messages": [{"role": "user", "content": "hi"}], **fields}
    return msgspec.json.decode(json.dumps(body), type=ChatRequest)


def body_of(r: ChatRequest, provider: str = "openai") -> dict[str, Any]:
    out = DIALECT.translate_request(r, target(provider))
    decoded: dict[str, Any] = json.loads(out.body)
    return decoded


def test_minimal_request_shape_url_headers_and_model() -> None:
    out = DIALECT.translate_request(req(), target())
    assert out.method == "POST"
    assert out.url == "https://api.openai.com/v1/chat/completions"
    assert out.stream is False
    headers = dict(out.headers)
    assert headers["authorization"] == f"Bearer {API_KEY}"
    assert headers["content-type"] == "application/json"
    # Unset fields are omitted and the model is the target's own name.
    assert json.loads(out.body) == {
        "model": "gpt-4o-2024-08-06", "messages": [{"role": "user", "content": "hi"}]}


FIELD_FAMILIES: list[dict[str, Any]] = [
    {"tools": [{"type": "function", "function": {
        "name": "get_weather", "description": "Weather", "strict": True,
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                       "required": ["city"]}}}],
     "parallel_tool_calls": False},
    {"tool_choice": "required"},
    {"tool_choice": "none"},
    {"tool_choice": {"type": "function", "function": {"name": "get_weather"}}},
    {"response_format": {"type": "json_object"}},
    {"response_format": {"type": "json_schema", "json_schema": {
        "name": "answer", "strict": True,
        "schema": {"type": "object", "properties": {"a": {"type": "integer"}}}}}},
    {"response_format": {"type": "text"}},
    {"messages": [{"role": "user", "content": [
        {"type": "text", "text": "what is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=",
                                            "detail": "low"}}]}]},
    {"stop": "END"},
    {"stop": ["a", "b"]},
    {"n": 3},
    {"seed": 42},
    {"logprobs": True, "top_logprobs": 5},
    {"metadata": {"team": "search", "run": "7"}, "store": True},
    {"user": "user-123"},
    {"temperature": 0.2, "top_p": 0.9, "frequency_penalty": 0.5, "presence_penalty": -0.5,
     "logit_bias": {"50256": -100}},
    {"max_completion_tokens": 256, "reasoning_effort": "low"},
    {"messages": [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "weather?"},
        # content: null is omitted on the wire (equivalent for OpenAI), so it is left out here.
        {"role": "assistant", "tool_calls": [
            {"id": "call_1", "type": "function",
             "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "18C"}]},
]


@pytest.mark.parametrize("fields", FIELD_FAMILIES, ids="+".join)
def test_field_families_pass_through_unchanged(fields: dict[str, Any]) -> None:
    body = body_of(req(**fields))
    expected = {"model": "gpt-4o-2024-08-06",
                "messages": [{"role": "user", "content": "hi"}], **fields}
    assert body == expected


def test_stream_always_requests_usage_and_keeps_other_stream_options() -> None:
    body = body_of(req(stream=True))
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    body = body_of(req(stream=True, stream_options={"include_usage": False,
                                                    "include_obfuscation": False}))
    assert body["stream_options"] == {"include_usage": True, "include_obfuscation": False}
    assert DIALECT.translate_request(req(stream=True), target()).stream is True


def test_non_stream_request_sends_no_stream_options() -> None:
    body = body_of(req(stream=False, stream_options={"include_usage": True}))
    assert "stream_options" not in body
    assert "stream" not in body


def test_provider_without_stream_usage_gets_no_stream_options() -> None:
    body = body_of(req(stream=True, stream_options={"include_usage": True}), "mistral")
    assert body["stream"] is True
    assert "stream_options" not in body


def test_mistral_renames_and_drops_fields_from_spec_data() -> None:
    body = body_of(req(max_completion_tokens=100, max_tokens=5, seed=7, user="u",
                       metadata={"a": "b"}, logprobs=True, n=2), "mistral")
    # max_completion_tokens wins, as in ChatRequest.output_cap.
    assert body["max_tokens"] == 100
    assert body["random_seed"] == 7
    for gone in ("max_completion_tokens", "seed", "user", "metadata", "logprobs"):
        assert gone not in body
    assert body["n"] == 2


def test_groq_drops_fields_it_rejects() -> None:
    body = body_of(req(logprobs=True, top_logprobs=3, logit_bias={"1": 2}, seed=1), "groq")
    assert "logprobs" not in body and "top_logprobs" not in body and "logit_bias" not in body
    assert body["seed"] == 1


@pytest.mark.parametrize("provider", ["deepseek", "qwen", "together", "openrouter", "ollama"])
def test_max_completion_tokens_renamed_for_max_tokens_vendors(provider: str) -> None:
    body = body_of(req(max_completion_tokens=64), provider)
    assert body["max_tokens"] == 64
    assert "max_completion_tokens" not in body


def test_openai_keeps_max_completion_tokens() -> None:
    body = body_of(req(max_completion_tokens=64))
    assert body["max_completion_tokens"] == 64
    assert "max_tokens" not in body


def test_azure_path_api_version_and_api_key_header() -> None:
    t = target("azure_openai", model="my gpt4o", base_url="https://res.openai.azure.com/")
    out = DIALECT.translate_request(req(), t)
    assert out.url == ("https://res.openai.azure.com/openai/deployments/my%20gpt4o"
                       "/chat/completions?api-version=2024-10-21")
    headers = dict(out.headers)
    assert headers["api-key"] == API_KEY
    assert "authorization" not in headers
    t2 = target("azure_openai", model="d", base_url="https://r.test",
                api_version="2025-01-01-preview")
    assert DIALECT.translate_request(req(), t2).url.endswith(
        "/openai/deployments/d/chat/completions?api-version=2025-01-01-preview")


def test_auth_none_sends_no_credentials_and_extra_headers_follow() -> None:
    out = DIALECT.translate_request(req(), target("ollama", model="llama3"))
    names = [n for n, _ in out.headers]
    assert "authorization" not in names and "api-key" not in names
    assert out.url == "http://127.0.0.1:11434/v1/chat/completions"
    custom = target(spec("openai", default_headers=(("x-team", "a"),)))
    assert ("x-team", "a") in DIALECT.translate_request(req(), custom).headers
    assert spec("anthropic").auth is AuthScheme.X_API_KEY


def test_request_translation_does_not_mutate_the_canonical_request() -> None:
    r = req(stream=True, max_completion_tokens=10)
    DIALECT.translate_request(r, target("mistral"))
    assert r.model == "client-alias"
    assert r.stream_options is None
    assert r.max_completion_tokens == 10
