"""The stream framer, read back by the anthropic SDK's own SSE and accumulation machinery."""

from __future__ import annotations

from typing import Any

import anthropic
import pydantic
import pytest
from anthropic.types import Message, RawMessageStreamEvent

from portico.adapters._sse import SSEDecoder
from portico.errors import UpstreamBadResponse
from portico.inbound.anthropic_messages.response import to_anthropic
from portico.inbound.anthropic_messages.stream import AnthropicStreamFramer
from portico.schema.chat import FunctionCall, ToolCall
from portico.schema.response import (
    ChatResponse,
    Choice,
    FinishReason,
    PromptTokensDetails,
    ResponseMessage,
    Usage,
)
from portico.schema.stream import ChatChunk, ChunkChoice, Delta, FunctionDelta, ToolCallDelta

from ._support import sdk_client, sse_response

MODEL = "claude-alias"
USAGE = Usage(prompt_tokens=120, completion_tokens=30, total_tokens=150,
              prompt_tokens_details=PromptTokensDetails(cached_tokens=100,
                                                        cache_creation_tokens=5))
EVENTS: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(RawMessageStreamEvent)


def chunk(delta: Delta | None = None, finish: FinishReason | None = None,
          usage: Usage | None = None) -> ChatChunk:
    choices = [] if delta is None else [ChunkChoice(index=0, delta=delta, finish_reason=finish)]
    return ChatChunk(id="chatcmpl-9", created=1, model="gpt-x", choices=choices, usage=usage)


def tool(index: int, arguments: str, id_: str | None = None,
         name: str | None = None) -> Delta:
    return Delta(tool_calls=[ToolCallDelta(index=index, id=id_, type="function" if id_ else None,
                                           function=FunctionDelta(name=name,
                                                                  arguments=arguments))])


TEXT_THEN_TOOLS = [
    chunk(Delta(role="assistant", content="")),
    chunk(Delta(content="Hel")),
    chunk(Delta(content="lo.")),
    chunk(tool(0, "", id_="call_a", name="get")),
    chunk(tool(0, '{"city": ')),
    chunk(tool(0, '"Oslo"}')),
    chunk(tool(1, "", id_="call_b", name="now")),
    chunk(Delta(), finish="tool_calls"),
    chunk(usage=USAGE),
]
NON_STREAM = ChatResponse(id="chatcmpl-9", created=1, model="gpt-x", usage=USAGE, choices=[
    Choice(index=0, finish_reason="tool_calls", message=ResponseMessage(
        content="Hello.", tool_calls=[
            ToolCall(id="call_a", function=FunctionCall(name="get", arguments='{"city": "Oslo"}')),
            ToolCall(id="call_b", function=FunctionCall(name="now", arguments="")),
        ]))])


def framed(chunks: list[ChatChunk], *, keepalive: bool = False) -> bytes:
    framer = AnthropicStreamFramer(MODEL)
    out = [framer.keepalive()] if keepalive else []
    out += [framer.chunk(c) for c in chunks]
    out.append(framer.end())
    return b"".join(out)


def events(body: bytes) -> list[tuple[str | None, Any]]:
    decoder = SSEDecoder()
    raw = decoder.feed(body) + decoder.flush()
    return [(e.event, EVENTS.validate_json(e.data) if e.event != "ping" else None) for e in raw]


def sdk_final(body: bytes) -> Message:
    client = sdk_client(sse_response(body))
    with client.messages.stream(model=MODEL, max_tokens=10,
                                messages=[{"role": "user", "content": "hi"}]) as stream:
        final = stream.get_final_message()
    return Message.model_validate(final.model_dump(exclude={"content": {"__all__": {
        "parsed_output"}}}))


def test_every_event_is_a_valid_sdk_event_named_by_its_type() -> None:
    parsed = events(framed(TEXT_THEN_TOOLS, keepalive=True))
    assert parsed[0] == ("ping", None)
    for name, event in parsed[1:]:
        assert name == event.type
    assert [e.type for _, e in parsed[1:]] == [
        "message_start",
        "content_block_start", "content_block_delta", "content_block_delta",
        "content_block_stop",
        "content_block_start", "content_block_delta", "content_block_delta",
        "content_block_stop",
        "content_block_start", "content_block_stop",
        "message_delta", "message_stop",
    ]
    start = parsed[1][1]
    assert (start.message.id, start.message.model) == ("msg_chatcmpl-9", MODEL)
    delta = parsed[-2][1]
    assert delta.delta.stop_reason == "tool_use"
    assert (delta.usage.input_tokens, delta.usage.cache_read_input_tokens,
            delta.usage.cache_creation_input_tokens, delta.usage.output_tokens) == (15, 100, 5, 30)


def test_sdk_accumulated_stream_equals_the_non_stream_translation() -> None:
    expected = Message.model_validate_json(to_anthropic(NON_STREAM, requested_model=MODEL))
    assert sdk_final(framed(TEXT_THEN_TOOLS)) == expected


@pytest.mark.parametrize("split", [1, 7, 64])
def test_byte_splits_do_not_matter(split: int) -> None:
    body = framed(TEXT_THEN_TOOLS)
    decoder = SSEDecoder()
    pieces = [decoder.feed(body[i:i + split]) for i in range(0, len(body), split)]
    assert [e for p in pieces for e in p] == SSEDecoder().feed(body)


def test_usage_before_finish_and_text_only() -> None:
    chunks = [chunk(Delta(content="Hi")), chunk(usage=USAGE), chunk(Delta(), finish="length")]
    final = sdk_final(framed(chunks))
    assert final.stop_reason == "max_tokens" and final.usage.output_tokens == 30
    assert [b.type for b in final.content] == ["text"]


def test_end_without_usage_or_finish_still_forms_a_message() -> None:
    final = sdk_final(framed([chunk(Delta(content="partial"))]))
    assert final.stop_reason == "end_turn" and final.usage.output_tokens == 0
    assert sdk_final(framed([])).content == []


def test_text_after_a_tool_call_opens_a_new_block() -> None:
    chunks = [chunk(tool(0, "{}", id_="c", name="t")), chunk(Delta(content="after")),
              chunk(Delta(), finish="stop")]
    final = sdk_final(framed(chunks))
    assert [b.type for b in final.content] == ["tool_use", "text"]
    assert final.stop_reason == "tool_use"


def test_interleaved_tool_calls_are_a_bad_upstream_response() -> None:
    framer = AnthropicStreamFramer(MODEL)
    framer.chunk(chunk(tool(0, "", id_="a", name="x")))
    framer.chunk(chunk(tool(1, "", id_="b", name="y")))
    with pytest.raises(UpstreamBadResponse):
        framer.chunk(chunk(tool(0, "{}")))


def test_error_event_is_raised_by_the_sdk_and_ends_the_framer() -> None:
    framer = AnthropicStreamFramer(MODEL)
    head = framer.chunk(chunk(Delta(content="Hi")))
    envelope = {"error": {"message": "the upstream provider failed (HTTP 503)",
                          "type": "service_unavailable", "param": None, "code": "x"}}
    tail = framer.error(envelope, request_id="req_1")
    assert framer.end() == b"" and framer.chunk(chunk(Delta(content="more"))) == b""
    assert tail.startswith(b"event: error\n")
    client = sdk_client(sse_response(head + tail))
    with pytest.raises(anthropic.APIStatusError) as info, client.messages.stream(
            model=MODEL, max_tokens=10, messages=[{"role": "user", "content": "hi"}]) as s:
        s.get_final_message()
    assert info.value.body == {"type": "error", "request_id": "req_1", "error": {
        "type": "overloaded_error", "message": "the upstream provider failed (HTTP 503)"}}
