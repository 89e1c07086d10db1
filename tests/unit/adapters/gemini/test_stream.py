"""streamGenerateContent?alt=sse decoding: chunk shapes, stream == non-stream, in-band errors."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portico.adapters.base import SSEEvent
from portico.errors import UpstreamBadResponse, UpstreamRateLimited, UpstreamUnavailable
from portico.schema.response import ChatResponse
from portico.schema.stream import ChatChunk
from tests.support.openapi import validate
from tests.unit.adapters.gemini._support import (
    NOW,
    TARGET,
    assemble,
    chat,
    dialect,
    fixture,
    ok,
    run_stream,
)

PAIRS = [("stream.sse", "chat.json"), ("stream_tools.sse", "tools.json")]


def as_assembled(resp: ChatResponse) -> dict[str, object]:
    """The same comparable shape as `assemble`, from a non-streamed response."""
    choices: dict[int, dict[str, object]] = {}
    for c in resp.choices:
        calls = c.message.tool_calls if isinstance(c.message.tool_calls, list) else []
        choices[c.index] = {
            "content": c.message.content or "",
            "tool_calls": {n: (t.id, t.function.name, t.function.arguments)
                           for n, t in enumerate(calls)},
            "finish": c.finish_reason,
        }
    usage = msgspec.to_builtins(resp.usage) if resp.usage else None
    return {"id": resp.id, "model": resp.model, "choices": choices, "usage": usage}


def validate_chunks(chunks: list[ChatChunk]) -> None:
    for ch in chunks:
        validate("CreateChatCompletionStreamResponse",
                 msgspec.json.decode(msgspec.json.encode(ch)))


@pytest.mark.parametrize(("sse", "full"), PAIRS)
def test_stream_equals_non_stream_whole(sse: str, full: str) -> None:
    chunks = run_stream([fixture(sse)])
    validate_chunks(chunks)
    expected = dialect().parse_response(ok(fixture(full)), TARGET, chat())
    assert assemble(chunks) == as_assembled(expected)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), pair=st.sampled_from(PAIRS))
def test_stream_equals_non_stream_random_splits(data: st.DataObject,
                                                 pair: tuple[str, str]) -> None:
    raw = fixture(pair[0])
    cuts = sorted(data.draw(st.sets(st.integers(1, len(raw) - 1), max_size=40)))
    pieces = [raw[a:b] for a, b in zip([0, *cuts], [*cuts, len(raw)], strict=True)]
    expected = dialect().parse_response(ok(fixture(pair[1])), TARGET, chat())
    assert assemble(run_stream(pieces)) == as_assembled(expected)


def test_text_stream_chunk_shapes() -> None:
    chunks = run_stream([fixture("stream.sse")])
    # The thought-only first event yields nothing; then two content deltas, then usage.
    assert [c.choices[0].delta.content for c in chunks[:-1]] == [
        "Hello! How can I ", "help you today?"]
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[1].choices[0].delta.role is None
    assert [c.choices[0].finish_reason for c in chunks[:-1]] == [None, "stop"]
    assert all(c.created == NOW and c.id == "mWgKaeKZJ5ai1dkPh7q34AQ" for c in chunks)
    final = chunks[-1]
    assert final.choices == [] and final.usage is not None
    assert (final.usage.prompt_tokens, final.usage.completion_tokens) == (12, 33)
    assert final.usage.total_tokens == 45 and final.usage.cached_tokens == 4


def test_tool_stream_emits_complete_calls() -> None:
    chunks = run_stream([fixture("stream_tools.sse")])
    calls = [tc for ch in chunks for c in ch.choices for tc in c.delta.tool_calls or ()]
    assert [(tc.index, tc.type) for tc in calls] == [(0, "function"), (1, "function")]
    assert calls[0].id is not None and calls[0].id.startswith("call_0_0__thought__")
    assert calls[1].id == "call_0_1"
    assert calls[1].function is not None
    assert calls[1].function.arguments == '{"city":"Tokyo"}'
    assert [c.finish_reason for ch in chunks for c in ch.choices][-1] == "tool_calls"


def test_done_only_after_finish_reason() -> None:
    decoder = dialect().open_stream(TARGET, chat(stream=True))
    events = [line.removeprefix("data: ") for line in
              fixture("stream.sse").decode().splitlines() if line]
    for data in events[:-1]:
        decoder.feed(SSEEvent(data=data))
        assert not decoder.done
    decoder.feed(SSEEvent(data=events[-1]))
    assert decoder.done
    assert len(decoder.finish()) == 1
    assert list(decoder.finish()) == []  # usage is emitted once


def test_in_band_error_raises_mapped_error() -> None:
    decoder = dialect().open_stream(TARGET, chat(stream=True))
    with pytest.raises(UpstreamRateLimited) as exc:
        decoder.feed(SSEEvent(data=fixture("error_429_retryinfo.json").decode()))
    assert exc.value.retry_after == 13.0
    overloaded = b'{"error": {"code": 503, "message": "The model is overloaded.", ' \
                 b'"status": "UNAVAILABLE"}}'
    with pytest.raises(UpstreamUnavailable):
        decoder.feed(SSEEvent(data=overloaded.decode()))


def test_malformed_event_is_bad_response() -> None:
    decoder = dialect().open_stream(TARGET, chat(stream=True))
    with pytest.raises(UpstreamBadResponse):
        decoder.feed(SSEEvent(data=fixture("truncated.json").decode()))


def test_blocked_prompt_stream() -> None:
    data = b'data: {"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}, ' \
           b'"usageMetadata": {"promptTokenCount": 5, "totalTokenCount": 5}}\n\n'
    chunks = run_stream([data])
    [choice] = chunks[0].choices
    assert (choice.delta.role, choice.delta.content, choice.finish_reason) == (
        "assistant", "", "content_filter")
    assert chunks[-1].usage is not None and chunks[-1].usage.prompt_tokens == 5


def test_unfinished_stream_is_not_done() -> None:
    first = fixture("stream.sse").split(b"\n\n")[1] + b"\n\n"
    decoder = dialect().open_stream(TARGET, chat(stream=True))
    decoder.feed(SSEEvent(data=first.decode().removeprefix("data: ").strip()))
    assert not decoder.done
