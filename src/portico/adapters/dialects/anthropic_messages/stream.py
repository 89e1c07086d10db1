"""Anthropic streaming events to canonical chat chunks, one decoder per request.

Reference: https://docs.anthropic.com/en/docs/build-with-claude/streaming. Tool calls are indexed
across tool_use blocks only; thinking deltas are dropped; usage arrives as a final chunk.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import msgspec

from portico.adapters.base import SSEEvent
from portico.adapters.dialects.anthropic_messages._wire import ErrorObject, StreamEvent, Usage
from portico.adapters.dialects.anthropic_messages.errors import map_stream_error
from portico.adapters.dialects.anthropic_messages.response import (
    arguments_json,
    canonical_usage,
    finish_reason,
)
from portico.errors import UpstreamBadResponse
from portico.schema.stream import ChatChunk, ChunkChoice, Delta, FunctionDelta, ToolCallDelta

_DECODER = msgspec.json.Decoder(StreamEvent)


def _merge_usage(into: Usage, new: Usage) -> None:
    # message_delta repeats cumulative counts; a present field replaces the earlier value.
    for field in ("input_tokens", "output_tokens", "cache_creation_input_tokens",
                  "cache_read_input_tokens", "output_tokens_details"):
        value = getattr(new, field)
        if value is not None:
            setattr(into, field, value)


class AnthropicStreamDecoder:
    """Implements adapters.base.StreamDecoder for Anthropic's message event stream."""

    __slots__ = ("_args_seen", "_created", "_done", "_id", "_model", "_tool_index", "_usage",
                 "_usage_sent")

    def __init__(self, *, clock: Callable[[], float]) -> None:
        self._created = int(clock())
        self._id: str | None = None
        self._model = ""
        self._usage: Usage | None = None
        self._usage_sent = False
        self._done = False
        self._tool_index: dict[int, int] = {}   # Anthropic block index -> OpenAI tool index
        self._args_seen: set[int] = set()       # tool indexes that received argument text

    @property
    def done(self) -> bool:
        return self._done

    def _chunk(self, delta: Delta, finish: str | None = None) -> ChatChunk:
        if self._id is None:
            raise UpstreamBadResponse("Anthropic stream sent content before message_start")
        choice = ChunkChoice(index=0, delta=delta)
        if finish is not None:
            choice.finish_reason = finish_reason(finish)
        return ChatChunk(id=self._id, created=self._created, model=self._model, choices=[choice])

    def _tool_delta(self, index: int, *, id_: str | None = None, name: str | None = None,
                    arguments: str) -> ChatChunk:
        call = ToolCallDelta(index=index, id=id_, type="function" if id_ else None,
                             function=FunctionDelta(name=name, arguments=arguments))
        return self._chunk(Delta(tool_calls=[call]))

    def _usage_chunk(self) -> list[ChatChunk]:
        if self._usage is None or self._usage_sent or self._id is None:
            return []
        self._usage_sent = True
        return [ChatChunk(id=self._id, created=self._created, model=self._model, choices=[],
                          usage=canonical_usage(self._usage))]

    def feed(self, event: SSEEvent) -> Sequence[ChatChunk]:
        if not event.data.strip():
            return ()
        try:
            ev = _DECODER.decode(event.data)
        except msgspec.DecodeError as exc:
            raise UpstreamBadResponse(f"malformed Anthropic stream event: {exc}") from exc
        match ev.type:
            case "message_start":
                return self._on_start(ev)
            case "content_block_start":
                return self._on_block_start(ev)
            case "content_block_delta":
                return self._on_block_delta(ev)
            case "content_block_stop":
                return self._on_block_stop(ev)
            case "message_delta":
                if ev.usage is not None:
                    self._merge(ev.usage)
                stop = ev.delta.stop_reason if ev.delta else None
                return [self._chunk(Delta(), stop)] if stop is not None else ()
            case "message_stop":
                self._done = True
                return self._usage_chunk()
            case "error":
                raise map_stream_error(ev.error or ErrorObject(message="stream error event"))
            case _:  # ping and event types added after this was written
                return ()

    def finish(self) -> Sequence[ChatChunk]:
        # A stream cut before message_stop still reports the usage seen so far, for accounting;
        # `done` stays False so the executor records the attempt as partial.
        return self._usage_chunk()

    def _merge(self, usage: Usage) -> None:
        if self._usage is None:
            self._usage = Usage()
        _merge_usage(self._usage, usage)

    def _on_start(self, ev: StreamEvent) -> list[ChatChunk]:
        if ev.message is None:
            raise UpstreamBadResponse("Anthropic message_start without a message")
        self._id, self._model = ev.message.id, ev.message.model
        if ev.message.usage is not None:
            self._merge(ev.message.usage)
        return [self._chunk(Delta(role="assistant"))]

    def _on_block_start(self, ev: StreamEvent) -> list[ChatChunk]:
        block = ev.content_block
        if block is None or ev.index is None:
            raise UpstreamBadResponse("Anthropic content_block_start without a block")
        if block.type == "text" and block.text:
            return [self._chunk(Delta(content=block.text))]
        if block.type != "tool_use":
            return []
        if block.id is None or block.name is None:
            raise UpstreamBadResponse("Anthropic tool_use block without id or name")
        tool = self._tool_index[ev.index] = len(self._tool_index)
        initial = arguments_json(block.input) if block.input else ""
        if initial:
            self._args_seen.add(tool)
        return [self._tool_delta(tool, id_=block.id, name=block.name, arguments=initial)]

    def _on_block_delta(self, ev: StreamEvent) -> list[ChatChunk]:
        delta = ev.delta
        if delta is None:
            return []
        if delta.type == "text_delta" and delta.text:
            return [self._chunk(Delta(content=delta.text))]
        if delta.type == "input_json_delta" and delta.partial_json and ev.index is not None:
            tool = self._tool_index.get(ev.index)
            if tool is None:  # server tool input (e.g. web search): not the client's call
                return []
            self._args_seen.add(tool)
            return [self._tool_delta(tool, arguments=delta.partial_json)]
        return []  # thinking_delta, signature_delta, citations_delta

    def _on_block_stop(self, ev: StreamEvent) -> list[ChatChunk]:
        tool = self._tool_index.get(ev.index) if ev.index is not None else None
        if tool is None or tool in self._args_seen:
            return []
        # A tool called with no input streams no JSON; non-streamed it reads "{}".
        self._args_seen.add(tool)
        return [self._tool_delta(tool, arguments="{}")]

