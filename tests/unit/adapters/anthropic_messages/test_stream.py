"""Streaming: event decoding, tool-call deltas, errors, and stream == non-stream under splits."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portico import errors as e
from portico.adapters._sse import SSEDecoder
from portico.adapters.base import SSEEvent, Target
from portico.adapters.dialects.anthropic_messages import AnthropicMessagesDialect
from portico.schema.stream import ChatChunk
from tests.support.openapi import validate

from .conftest import FIXED_NOW, fixture_bytes, make_request, make_target, response

PAIRS = [("stream.sse", "chat.json"), ("stream_tools.sse", "tools.json")]


def run(raw: bytes, splits: Sequence[int] = ()) -> tuple[list[ChatChunk], bool]:
    dialect = AnthropicMessagesDialect(clock=lambda: FIXED_NOW)
    decoder = dialect.open_stream(make_target(), make_request(stream=True))
    sse = SSEDecoder()
    chunks: list[ChatChunk] = []
    start = 0
    for cut in [*sorted(splits), len(raw)]:
        for event in sse.feed(raw[start:cut]):
            chunks.extend(decoder.feed(event))
        start = cut
    for event in sse.flush():
        chunks.extend(decoder.feed(event))
    chunks.extend(decoder.finish())
    return chunks, decoder.done


def assemble(chunks: list[ChatChunk]) -> dict[str, Any]:
    """Fold chunks the way an OpenAI client does, into a non-streamed response's shape."""
    content: str | None = None
    calls: dict[int, dict[str, str]] = {}
    finish = usage = None
    for chunk in chunks:
        assert (chunk.id, chunk.created, chunk.model) == (chunks[0].id, chunks[0].created,
                                                          chunks[0].model)
        if chunk.usage is not None:
            usage = msgspec.to_builtins(chunk.usage)
        for choice in chunk.choices:
            delta = choice.delta
            if delta.content is not None:
                content = (content or "") + delta.content
            for tc in delta.tool_calls or ():
                slot = calls.setdefault(tc.index, {"id": "", "name": "", "arguments": ""})
                slot["id"] += tc.id or ""
                if tc.function is not None:
                    slot["name"] += tc.function.name or ""
                    slot["arguments"] += tc.function.arguments or ""
            finish = choice.finish_reason or finish
    return {"id": chunks[0].id, "created": chunks[0].created, "model": chunks[0].model,
            "content": content, "finish_reason": finish, "usage": usage,
            "tool_calls": [(c["id"], c["name"], json.loads(c["arguments"]))
                           for _, c in sorted(calls.items())]}


def non_streamed(name: str) -> dict[str, Any]:
    out = AnthropicMessagesDialect(clock=lambda: FIXED_NOW).parse_response(
        response(fixture_bytes(name)), make_target(), make_request())
    message = out.choices[0].message
    calls = [] if isinstance(message.tool_calls, msgspec.UnsetType) else message.tool_calls
    return {"id": out.id, "created": out.created, "model": out.model,
            "content": message.content, "finish_reason": out.choices[0].finish_reason,
            "usage": msgspec.to_builtins(out.usage),
            "tool_calls": [(t.id, t.function.name, json.loads(t.function.arguments))
                           for t in calls]}


@pytest.mark.parametrize(("sse", "body"), PAIRS)
def test_stream_equals_non_stream(sse: str, body: str) -> None:
    chunks, done = run(fixture_bytes(sse))
    assert done
    assert assemble(chunks) == non_streamed(body)


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_stream_equals_non_stream_under_random_splits(data: st.DataObject) -> None:
    sse, body = data.draw(st.sampled_from(PAIRS))
    raw = fixture_bytes(sse)
    splits = data.draw(st.lists(st.integers(0, len(raw)), max_size=40))
    chunks, done = run(raw, splits)
    assert done
    assert assemble(chunks) == non_streamed(body)


@pytest.mark.parametrize("sse", ["stream.sse", "stream_tools.sse"])
def test_chunks_match_openai_schema(sse: str) -> None:
    chunks, _ = run(fixture_bytes(sse))
    for chunk in chunks:
        validate("CreateChatCompletionStreamResponse", json.loads(msgspec.json.encode(chunk)))


def test_chunk_sequence_shape() -> None:
    chunks, _ = run(fixture_bytes("stream.sse"))
    assert chunks[0].choices[0].delta.role == "assistant"
    assert all(c.choices[0].delta.role is None for c in chunks[1:] if c.choices)
    finish = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert len(finish) == 1
    assert finish[0].choices[0].finish_reason == "stop"
    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None
    assert (last.usage.prompt_tokens, last.usage.completion_tokens) == (2160, 15)
    assert last.usage.cached_tokens == 2048
    assert sum(1 for c in chunks if c.usage is not None) == 1


def test_tool_deltas_and_thinking_hidden() -> None:
    chunks, _ = run(fixture_bytes("stream_tools.sse"))
    assert b"SECRET-THOUGHT" not in b"".join(msgspec.json.encode(c) for c in chunks)
    heads = [tc for c in chunks for ch in c.choices for tc in ch.delta.tool_calls or ()
             if tc.id]
    assert [(h.index, h.id, h.type, h.function and h.function.name) for h in heads] == [
        (0, "toolu_01A09q90qw90lq917835lq9", "function", "get_weather"),
        (1, "toolu_01B7ZyTZ5rGKdPmKFUF6cFdx", "function", "get_time"),
    ]
    pieces = [tc.function.arguments for c in chunks for ch in c.choices
              for tc in ch.delta.tool_calls or () if tc.index == 0 and tc.function and not tc.id]
    assert len(pieces) == 4  # input_json_delta split across events arrives incrementally
    assert json.loads("".join(p or "" for p in pieces)) == {"location": "San Francisco, CA",
                                                           "unit": "celsius"}


def test_in_stream_overloaded_error_raises_unavailable() -> None:
    with pytest.raises(e.UpstreamUnavailable) as info:
        run(fixture_bytes("stream_error.sse"))
    assert info.value.retryable


@pytest.mark.parametrize(("error_type", "expected"), [
    ("rate_limit_error", e.UpstreamRateLimited),
    ("api_error", e.UpstreamUnavailable),
    ("invalid_request_error", e.UpstreamBadRequest),
    ("something_new", e.UpstreamUnavailable),
])
def test_stream_error_types(dialect: AnthropicMessagesDialect, target: Target,
                            error_type: str, expected: type[e.GatewayError]) -> None:
    decoder = dialect.open_stream(target, make_request(stream=True))
    data = json.dumps({"type": "error", "error": {"type": error_type, "message": "m"}})
    with pytest.raises(expected):
        decoder.feed(SSEEvent(data=data, event="error"))


def test_cut_stream_is_not_done_but_reports_usage() -> None:
    raw = fixture_bytes("stream.sse")
    cut = raw[: raw.index(b"event: message_stop")]
    chunks, done = run(cut)
    assert not done
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 15


@pytest.mark.parametrize("data", ["{not json", '{"type": "message_start"}',
                                  '{"type": "content_block_delta", "index": 0, '
                                  '"delta": {"type": "text_delta", "text": "x"}}',
                                  '{"type": "content_block_start", "index": 0}'])
def test_malformed_events_are_bad_responses(dialect: AnthropicMessagesDialect, target: Target,
                                            data: str) -> None:
    decoder = dialect.open_stream(target, make_request(stream=True))
    with pytest.raises(e.UpstreamBadResponse):
        decoder.feed(SSEEvent(data=data))


def test_ping_unknown_and_empty_events_ignored(dialect: AnthropicMessagesDialect,
                                               target: Target) -> None:
    decoder = dialect.open_stream(target, make_request(stream=True))
    for data in ['{"type": "ping"}', '{"type": "future_event", "x": 1}', "", "  "]:
        assert list(decoder.feed(SSEEvent(data=data))) == []
    assert list(decoder.finish()) == []
    assert not decoder.done
