"""Golden non-stream responses, schema validity, and robustness to broken bodies."""

from __future__ import annotations

import msgspec
import pytest

from portico.adapters.dialects.openai_chat import OpenAIChatDialect
from portico.errors import UpstreamBadResponse
from portico.schema.chat import ChatRequest, UserMessage
from portico.schema.response import ChatResponse
from tests.support.openapi import validate

from ._support import as_json, fixture_bytes, ok, target

DIALECT = OpenAIChatDialect()
REQ = ChatRequest(model="alias", messages=[UserMessage(content="hi")])


def parse(body: bytes) -> ChatResponse:
    return DIALECT.parse_response(ok(body), target(), REQ)


def test_chat_fixture_maps_text_usage_and_details() -> None:
    resp = parse(fixture_bytes("chat.json"))
    assert resp.id == "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG"
    assert resp.created == 1741570283
    assert resp.model == "gpt-4o-2024-08-06"
    (choice,) = resp.choices
    assert choice.message.content is not None and choice.message.content.endswith("included.")
    assert choice.finish_reason == "stop"
    assert resp.usage is not None
    assert (resp.usage.prompt_tokens, resp.usage.completion_tokens,
            resp.usage.total_tokens) == (1117, 46, 1163)
    assert resp.usage.cached_tokens == 1024
    assert resp.usage.completion_tokens_details is not None
    assert resp.usage.completion_tokens_details.reasoning_tokens == 12
    assert resp.system_fingerprint == "fp_fc9f1d7035"
    assert resp.service_tier == "default"
    validate("CreateChatCompletionResponse", as_json(resp))


def test_tools_fixture_maps_parallel_tool_calls() -> None:
    resp = parse(fixture_bytes("tools.json"))
    (choice,) = resp.choices
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls
    assert isinstance(calls, list)
    assert [c.id for c in calls] == ["call_weather_paris", "call_weather_tokyo"]
    assert calls[1].function.arguments == '{"city": "Tokyo", "unit": "celsius"}'
    assert choice.message.content is None
    validate("CreateChatCompletionResponse", as_json(resp))


def test_refusal_and_logprobs_are_kept() -> None:
    body = b"""{"id":"c1","object":"chat.completion","created":5,"model":"m","choices":[
      {"index":0,"message":{"role":"assistant","content":null,"refusal":"I can't help."},
       "finish_reason":"stop","logprobs":{"content":null,"refusal":[
         {"token":"I","logprob":-0.1,"bytes":[73],"top_logprobs":[
           {"token":"I","logprob":-0.1,"bytes":[73]}]}]}}]}"""
    resp = parse(body)
    choice = resp.choices[0]
    assert choice.message.refusal == "I can't help."
    assert choice.logprobs is not None and choice.logprobs.refusal is not None
    assert choice.logprobs.refusal[0].top_logprobs[0].token == "I"
    validate("CreateChatCompletionResponse", as_json(resp))


def test_lenient_vendor_shapes() -> None:
    # Missing id/created/model, nulls, DeepSeek cache counters, an unknown finish reason.
    body = b"""{"choices":[{"message":{"role":"assistant","content":"ok",
      "reasoning_content":"thinking..."},"finish_reason":"eos","index":0}],
      "usage":{"prompt_tokens":10,"completion_tokens":2,"total_tokens":12,
      "prompt_tokens_details":null,"prompt_cache_hit_tokens":8,"prompt_cache_miss_tokens":2}}"""
    resp = parse(body)
    assert resp.model == "gpt-4o-2024-08-06"
    assert resp.choices[0].finish_reason == "stop"
    assert resp.usage is not None and resp.usage.cached_tokens == 8
    validate("CreateChatCompletionResponse", as_json(resp))


@pytest.mark.parametrize("name", ["html_error.html", "truncated.json"])
def test_broken_bodies_raise_sanitized_bad_response(name: str) -> None:
    body = fixture_bytes(name)
    with pytest.raises(UpstreamBadResponse) as info:
        parse(body)
    err = info.value
    assert err.retryable and err.failover
    assert "html" not in err.message.lower() and "sk-" not in err.message
    assert "Portico" not in err.message  # nothing of the body is echoed


@pytest.mark.parametrize("body", [
    b"", b"null", b"[]", b'{"choices": "nope"}', b'{"id": "x"}',
    b'{"choices":[{"index":0}]}',
    b'{"choices":[{"index":0,"message":{"tool_calls":[{"id":"c"}]}}]}',
])
def test_foreign_shapes_raise_bad_response(body: bytes) -> None:
    with pytest.raises(UpstreamBadResponse):
        parse(body)


def test_golden_round_trip_is_stable() -> None:
    resp = parse(fixture_bytes("chat.json"))
    again = parse(msgspec.json.encode(resp))
    assert again == resp
