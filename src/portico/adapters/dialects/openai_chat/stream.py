"""OpenAI chat completion SSE stream → canonical ChatChunks, one decoder per request.

Reference: https://platform.openai.com/docs/api-reference/chat-streaming. Usage is held and
emitted once, as a final chunk with empty choices, whichever chunk the upstream put it on.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from portico.adapters.base import SSEEvent, Target
from portico.adapters.dialects.openai_chat._wire import (
    WireChunk,
    WireChunkChoice,
    WireToolCall,
    finish_reason,
)
from portico.adapters.dialects.openai_chat.errors import decode_error_body, map_inband_error
from portico.adapters.dialects.openai_chat.response import bad_response
from portico.schema.response import Usage
from portico.schema.stream import ChatChunk, ChunkChoice, Delta, FunctionDelta, ToolCallDelta

_DECODER = msgspec.json.Decoder(WireChunk)


def _tool_deltas(calls: list[WireToolCall] | None) -> list[ToolCallDelta] | None:
    if not calls:
        return None
    out: list[ToolCallDelta] = []
    for n, call in enumerate(calls):
        fn = call.function
        out.append(ToolCallDelta(
            index=call.index if call.index is not None else n,
            id=call.id,
            type="function" if call.id is not None or call.type is not None else None,
            function=FunctionDelta(name=fn.name, arguments=fn.arguments) if fn else None,
        ))
    return out


def _choice(wire: WireChunkChoice) -> ChunkChoice:
    d = wire.delta
    delta = Delta() if d is None else Delta(
        role="assistant" if d.role is not None else None,
        content=d.content,
        refusal=d.refusal,
        tool_calls=_tool_deltas(d.tool_calls),
    )
    return ChunkChoice(index=wire.index, delta=delta,
                       finish_reason=finish_reason(wire.finish_reason), logprobs=wire.logprobs)


class OpenAIStreamDecoder:
    """Feeds on SSE events; raises the mapped GatewayError for an in-band error event."""

    __slots__ = ("_created", "_done", "_id", "_model", "_usage", "_usage_sent")

    def __init__(self, target: Target) -> None:
        self._id = "chatcmpl-upstream"
        self._created = 0
        self._model = target.model
        self._usage: Usage | None = None
        self._usage_sent = False
        self._done = False

    @property
    def done(self) -> bool:
        return self._done

    def feed(self, event: SSEEvent) -> Sequence[ChatChunk]:
        data = event.data.strip()
        if not data or self._done:
            return ()
        if data == "[DONE]":
            self._done = True
            return self._flush_usage()
        if event.event == "error":
            err = decode_error_body(data.encode())
            raise map_inband_error(err) if err else bad_response("an unreadable stream error")
        try:
            wire = _DECODER.decode(data)
        except msgspec.DecodeError:
            raise bad_response("a malformed stream chunk") from None
        if wire.error is not None:
            raise map_inband_error(wire.error)
        self._id = wire.id or self._id
        self._created = wire.created or self._created
        self._model = wire.model or self._model
        usage = wire.usage or (wire.x_groq.usage if wire.x_groq else None)
        if usage is not None:
            self._usage = usage.canonical()
        if not wire.choices:
            return ()
        return (ChatChunk(id=self._id, created=self._created, model=self._model,
                          choices=[_choice(c) for c in wire.choices],
                          system_fingerprint=wire.system_fingerprint,
                          service_tier=wire.service_tier),)

    def finish(self) -> Sequence[ChatChunk]:
        return self._flush_usage()

    def _flush_usage(self) -> Sequence[ChatChunk]:
        if self._usage is None or self._usage_sent:
            return ()
        self._usage_sent = True
        return (ChatChunk(id=self._id, created=self._created, model=self._model, choices=[],
                          usage=self._usage),)
