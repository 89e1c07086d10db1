"""Stream decoding: stream == non-stream under random byte splits, usage, [DONE], errors."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portico import errors as e
from portico.adapters._sse import SSEDecoder
from portico.adapters.base import SSEEvent
from portico.adapters.dialects.openai_chat import OpenAIChatDialect
from portico.schema.chat import ChatRequest, UserMessage
from portico.schema.response import ChatResponse, Usage
from portico.schema.stream import ChatChunk
from tests.support.openapi import validate

from ._support import as_json, fixture_bytes, ok, target

DIALECT = OpenAIChatDialect()
REQ = ChatRequest(model="alias", messages=[UserMessage(content="hi")], stream=True)
PAIRS = [("stream.sse", "chat.json"), ("stream_tools.sse", "tools.json")]


@dataclass
class Assembled:
    text: str = ""
    calls: dict[int, list[str]] = field(default_factory=dict)  # index → [id, name, args]
    finish: str | None = None
    usage: Usage | None = None
    usage_chunks: int = 0
    ids: set[str] = field(default_factory=set)


def split(data: bytes, cuts: Sequence[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    bounds = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


def run(pieces: Sequence[bytes]) -> tuple[list[ChatChunk], bool]:
    sse, dec = SSEDecoder(), DIALECT.open_stream(target(), REQ)
    chunks: list[ChatChunk] = []
    for piece in pieces:
        for ev in sse.feed(piece):
            chunks.extend(dec.feed(ev))
    for ev in sse.flush():
        chunks.extend(dec.feed(ev))
    chunks.extend(dec.finish())
    return chunks, dec.done


def assemble(chunks: Sequence[ChatChunk]) -> Assembled:
    out = Assembled()
    for chunk in chunks:
        out.ids.add(chunk.id)
        if chunk.usage is not None:
            out.usage, out.usage_chunks = chunk.usage, out.usage_chunks + 1
            assert chunk.choices == []
        for choice in chunk.choices:
            out.text += choice.delta.content or ""
            out.finish = choice.finish_reason or out.finish
            for d in choice.delta.tool_calls or ():
                slot = out.calls.setdefault(d.index, ["", "", ""])
                slot[0] += d.id or ""
                if d.function:
                    slot[1] += d.function.name or ""
                    slot[2] += d.function.arguments or ""
    return out


def non_stream(name: str) -> ChatResponse:
    return DIALECT.parse_response(ok(fixture_bytes(name)), target(), REQ)


def assert_equivalent(got: Assembled, want: ChatResponse) -> None:
    msg = want.choices[0].message
    assert got.text == (msg.content or "")
    want_calls = msg.tool_calls if isinstance(msg.tool_calls, list) else []
    assert [got.calls[i] for i in sorted(got.calls)] == [
        [c.id, c.function.name, c.function.arguments] for c in want_calls]
    assert got.finish == want.choices[0].finish_reason
    assert got.usage == want.usage and got.usage_chunks == 1
    assert got.ids == {want.id}


@pytest.mark.parametrize(("sse", "body"), PAIRS)
def test_whole_stream_matches_non_stream_and_validates(sse: str, body: str) -> None:
    chunks, done = run([fixture_bytes(sse)])
    assert done
    assert_equivalent(assemble(chunks), non_stream(body))
    for chunk in chunks:
        validate("CreateChatCompletionStreamResponse", as_json(chunk))


@settings(max_examples=150, deadline=None)
@given(pair=st.sampled_from(PAIRS), cuts=st.lists(st.integers(min_value=0), max_size=40))
def test_any_byte_split_is_equivalent(pair: tuple[str, str], cuts: list[int]) -> None:
    sse, body = pair
    data = fixture_bytes(sse)
    chunks, done = run(split(data, cuts))
    assert done
    assert_equivalent(assemble(chunks), non_stream(body))
    assert chunks == run([data])[0]


def test_usage_on_a_content_chunk_is_split_out_once() -> None:
    # Mistral/Together style: usage rides on the finish chunk, and Groq's under x_groq.
    dec = DIALECT.open_stream(target("mistral"), REQ)
    first = dec.feed(SSEEvent(data='{"id":"a","created":1,"model":"m","choices":[{"index":0,'
                              '"delta":{"content":"hi"},"finish_reason":"stop"}],'
                              '"usage":{"prompt_tokens":3,"completion_tokens":1,'
                              '"total_tokens":4}}'))
    assert len(first) == 1 and first[0].usage is None
    tail = dec.finish()  # no [DONE]: the trailing usage chunk still comes out
    assert len(tail) == 1 and tail[0].usage is not None and tail[0].usage.total_tokens == 4
    assert not dec.done and dec.finish() == ()
    groq = DIALECT.open_stream(target("groq"), REQ)
    groq.feed(SSEEvent(data='{"id":"g","choices":[],"x_groq":{"usage":{"prompt_tokens":2,'
                            '"completion_tokens":2,"total_tokens":4}}}'))
    (usage_chunk,) = groq.feed(SSEEvent(data="[DONE]"))
    assert usage_chunk.usage is not None and usage_chunk.usage.prompt_tokens == 2


def test_done_stops_decoding_and_empty_events_are_ignored() -> None:
    dec = DIALECT.open_stream(target(), REQ)
    assert dec.feed(SSEEvent(data="")) == ()
    assert not dec.done
    assert dec.feed(SSEEvent(data="[DONE]")) == ()
    assert dec.done
    assert dec.feed(SSEEvent(data='{"choices":[{"index":0,"delta":{"content":"late"}}]}')) == ()


@pytest.mark.parametrize(("data", "event", "cls"), [
    ('{"error":{"message":"overloaded","type":"server_error","code":null}}', None,
     e.UpstreamUnavailable),
    ('{"error":{"message":"slow","code":429}}', None, e.UpstreamRateLimited),
    ('{"error":{"message":"too long","code":"context_length_exceeded"}}', None,
     e.UpstreamContextLength),
    ('{"error":{"message":"bad","type":"invalid_request_error"}}', "error",
     e.UpstreamBadRequest),
    ("<html>gateway timeout</html>", "error", e.UpstreamBadResponse),
    ('{"id":"x","choices":[{"index":0,"delta":{"content":"cut', None, e.UpstreamBadResponse),
])
def test_inband_errors_raise_mapped_errors(data: str, event: str | None,
                                           cls: type[e.UpstreamError]) -> None:
    dec = DIALECT.open_stream(target(), REQ)
    with pytest.raises(cls) as info:
        dec.feed(SSEEvent(data=data, event=event))
    assert type(info.value) is cls
    assert "<html" not in info.value.message


def test_truncated_stream_is_not_done_and_a_cut_event_is_bad() -> None:
    data = fixture_bytes("stream.sse")
    half = data[: len(data) // 2]
    assert not half.endswith(b"\n\n")
    sse, dec = SSEDecoder(), DIALECT.open_stream(target(), REQ)
    chunks = [c for ev in sse.feed(half) for c in dec.feed(ev)]
    assert chunks and not dec.done
    assert all(c.usage is None for c in chunks)
    # The half event left in the SSE buffer is malformed JSON once flushed.
    with pytest.raises(e.UpstreamBadResponse):
        for ev in sse.flush():
            dec.feed(ev)


def test_chunk_encoding_round_trips() -> None:
    chunks, _ = run([fixture_bytes("stream_tools.sse")])
    for chunk in chunks:
        assert msgspec.json.decode(msgspec.json.encode(chunk), type=ChatChunk) == chunk
