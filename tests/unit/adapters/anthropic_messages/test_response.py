"""Non-streamed responses: golden fixtures, usage semantics, stop reasons, robustness."""

from __future__ import annotations

import json

import msgspec
import pytest

from portico.adapters.base import Target
from portico.adapters.dialects.anthropic_messages import AnthropicMessagesDialect
from portico.errors import UpstreamBadResponse, UpstreamUnavailable
from portico.schema.response import ChatResponse
from tests.support.openapi import validate

from .conftest import FIXED_NOW, fixture_bytes, make_request, make_target, response


def parse(dialect: AnthropicMessagesDialect, target: Target, body: bytes) -> ChatResponse:
    out = dialect.parse_response(response(body), target, make_request())
    validate("CreateChatCompletionResponse", json.loads(msgspec.json.encode(out)))
    return out


def test_chat_golden(dialect: AnthropicMessagesDialect, target: Target) -> None:
    out = parse(dialect, target, fixture_bytes("chat.json"))
    assert out.id == "msg_01XFDUDYJgAACzvnptvVoYEL"
    assert out.created == int(FIXED_NOW)
    assert out.model == "claude-sonnet-4-5-20250929"
    choice = out.choices[0]
    assert choice.message.content == "Hello! How can I help you today? ☀ — ça va?"
    assert choice.finish_reason == "stop"
    assert choice.message.tool_calls is msgspec.UNSET
    usage = out.usage
    assert usage is not None
    assert usage.prompt_tokens == 12 + 2048 + 100
    assert usage.completion_tokens == 15
    assert usage.total_tokens == 12 + 2048 + 100 + 15
    assert usage.cached_tokens == 2048
    assert usage.cache_write_tokens == 100


def test_tools_golden_drops_thinking(dialect: AnthropicMessagesDialect, target: Target) -> None:
    out = parse(dialect, target, fixture_bytes("tools.json"))
    assert b"SECRET-THOUGHT" not in msgspec.json.encode(out)
    message = out.choices[0].message
    assert message.content == "Let me check both cities."
    assert out.choices[0].finish_reason == "tool_calls"
    assert not isinstance(message.tool_calls, msgspec.UnsetType)
    calls = [(t.id, t.function.name, json.loads(t.function.arguments))
             for t in message.tool_calls]
    assert calls == [
        ("toolu_01A09q90qw90lq917835lq9", "get_weather",
         {"location": "San Francisco, CA", "unit": "celsius"}),
        ("toolu_01B7ZyTZ5rGKdPmKFUF6cFdx", "get_time", {}),
    ]
    assert out.usage is not None
    assert (out.usage.prompt_tokens, out.usage.cached_tokens) == (472, 0)


def test_created_comes_from_the_injected_clock(target: Target) -> None:
    out = AnthropicMessagesDialect(clock=lambda: 42.9).parse_response(
        response(fixture_bytes("chat.json")), target, make_request())
    assert out.created == 42


def _message(**fields: object) -> bytes:
    body: dict[str, object] = {"id": "msg_1", "type": "message", "role": "assistant",
                               "model": "claude", "content": [], "stop_reason": "end_turn",
                               "usage": {"input_tokens": 3, "output_tokens": 4}}
    body.update(fields)
    return json.dumps(body).encode()


@pytest.mark.parametrize(("stop_reason", "expected"), [
    ("end_turn", "stop"), ("stop_sequence", "stop"), ("max_tokens", "length"),
    ("tool_use", "tool_calls"), ("refusal", "content_filter"), ("pause_turn", "stop"),
    ("model_context_window_exceeded", "length"), (None, "stop"), ("brand_new_reason", "stop"),
])
def test_stop_reason_map(dialect: AnthropicMessagesDialect, target: Target,
                         stop_reason: str | None, expected: str) -> None:
    out = parse(dialect, target, _message(stop_reason=stop_reason))
    assert out.choices[0].finish_reason == expected


def test_usage_without_cache_fields(dialect: AnthropicMessagesDialect, target: Target) -> None:
    usage = parse(dialect, target, _message()).usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (3, 4, 7)
    assert (usage.cached_tokens, usage.cache_write_tokens) == (0, 0)


def test_thinking_tokens_reported_as_reasoning(dialect: AnthropicMessagesDialect,
                                               target: Target) -> None:
    usage = parse(dialect, target, _message(usage={
        "input_tokens": 3, "output_tokens": 40,
        "output_tokens_details": {"thinking_tokens": 30}})).usage
    assert usage is not None
    assert usage.completion_tokens_details is not None
    assert usage.completion_tokens_details.reasoning_tokens == 30


def test_unknown_blocks_ignored_and_empty_content_is_null(dialect: AnthropicMessagesDialect,
                                                          target: Target) -> None:
    out = parse(dialect, target, _message(content=[
        {"type": "redacted_thinking", "data": "opaque"},
        {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search",
         "input": {"query": "x"}},
        {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []},
    ]))
    assert out.choices[0].message.content is None
    assert out.choices[0].message.tool_calls is msgspec.UNSET


@pytest.mark.parametrize("name", ["truncated.json", "html_error.html"])
def test_malformed_bodies_are_bad_responses(dialect: AnthropicMessagesDialect, target: Target,
                                            name: str) -> None:
    with pytest.raises(UpstreamBadResponse):
        dialect.parse_response(response(fixture_bytes(name)), target, make_request())


@pytest.mark.parametrize("body", [b"", b"null", b"[]", b'{"id": 1}', b'{"type": "message"}',
                                  _message(type="completion"),
                                  _message(content=[{"type": "tool_use", "input": {}}])])
def test_robust_to_wrong_shapes(dialect: AnthropicMessagesDialect, target: Target,
                                body: bytes) -> None:
    with pytest.raises(UpstreamBadResponse):
        dialect.parse_response(response(body), target, make_request())


def test_error_object_with_2xx_status_is_mapped(dialect: AnthropicMessagesDialect,
                                                target: Target) -> None:
    with pytest.raises(UpstreamUnavailable):
        dialect.parse_response(response(fixture_bytes("error_overloaded_529.json"), 529),
                               target, make_request())


def test_satisfies_the_dialect_protocol() -> None:
    from portico.adapters.base import Dialect, StreamDecoder

    dialect: Dialect = AnthropicMessagesDialect(lambda: 1.0)  # checked by mypy --strict
    assert dialect.name == "anthropic_messages"
    decoder: StreamDecoder = dialect.open_stream(make_target(), make_request(stream=True))
    assert decoder.done is False
