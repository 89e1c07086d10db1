"""Canonical chat chunks to Anthropic's SSE event stream, one framer per request.

Reference: https://docs.anthropic.com/en/docs/build-with-claude/streaming. Blocks open and close
in order (text, tool_use, ...); stop reason and usage go out in one message_delta, because the
SDK's accumulator overwrites stop_reason with every message_delta it reads.
"""

from __future__ import annotations

import uuid
from typing import Literal

import msgspec

from portico.errors import UpstreamBadResponse
from portico.inbound.anthropic_messages._wire import (
    ContentBlockDelta,
    ContentBlockStart,
    ContentBlockStop,
    Event,
    InputJSONDelta,
    MessageDelta,
    MessageDeltaBody,
    MessageStart,
    MessageStop,
    OutMessage,
    OutTextBlock,
    OutToolUseBlock,
    OutUsage,
    TextDelta,
)
from portico.inbound.anthropic_messages.errors import Envelope, from_envelope
from portico.inbound.anthropic_messages.response import anthropic_usage, message_id, stop_reason
from portico.schema.response import FinishReason, Usage
from portico.schema.stream import ChatChunk, ToolCallDelta

PING = b'event: ping\ndata: {"type":"ping"}\n\n'
_ENCODER = msgspec.json.Encoder()


def frame(name: str, event: Event) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + _ENCODER.encode(event) + b"\n\n"


class AnthropicStreamFramer:
    """Per-request and stateful: feed every canonical chunk in order, then `end()` (or
    `error()`); each call returns the SSE bytes to send, possibly empty."""

    __slots__ = ("_finish", "_id", "_model", "_next", "_open", "_open_kind", "_refusal",
                 "_sent_delta", "_started", "_tools", "_usage", "ended")

    def __init__(self, requested_model: str) -> None:
        self._model = requested_model
        self._id = ""
        self._started = False
        self._next = 0                                   # next content block index
        self._open: int | None = None                    # index of the open block
        self._open_kind: Literal["text", "tool"] | None = None
        self._tools: dict[int, int] = {}                 # canonical tool index -> block index
        self._finish: FinishReason | None = None
        self._refusal = False
        self._usage: Usage | None = None
        self._sent_delta = False
        self.ended = False

    def start(self, upstream_id: str | None = None) -> bytes:
        """`message_start` (once; `chunk()` calls it with the first chunk's id). Input tokens
        read 0 here: the real counts follow in the final message_delta."""
        if self._started:
            return b""
        self._started = True
        self._id = message_id(upstream_id) if upstream_id else f"msg_{uuid.uuid4().hex}"
        message = OutMessage(id=self._id, model=self._model, content=[], stop_reason=None,
                             usage=OutUsage(input_tokens=0, output_tokens=0))
        return frame("message_start", MessageStart(message=message))

    def keepalive(self) -> bytes:
        return PING

    def chunk(self, c: ChatChunk) -> bytes:
        if self.ended:
            return b""
        out = [self.start(c.id)]
        for choice in c.choices:
            if choice.index != 0 or self._sent_delta:
                continue   # to_canonical never asks for n > 1
            d = choice.delta
            if d.content:
                out.append(self._text(d.content))
            if d.refusal:
                self._refusal = True
                out.append(self._text(d.refusal))
            for call in d.tool_calls or ():
                out.append(self._tool(call))
            if choice.finish_reason is not None:
                out.append(self._close())
                self._finish = choice.finish_reason
        if c.usage is not None:
            self._usage = c.usage
        if self._finish is not None and self._usage is not None:
            out.append(self._message_delta())
        return b"".join(out)

    def end(self) -> bytes:
        """Closes what is open and ends the message (message_delta if not yet sent, then
        message_stop). A stream with no chunk at all still forms a valid empty message."""
        if self.ended:
            return b""
        out = [self.start(), self._close(), self._message_delta(), frame("message_stop",
                                                                        MessageStop())]
        self.ended = True
        return b"".join(out)

    def error(self, envelope: Envelope, *, status: int | None = None,
              request_id: str | None = None) -> bytes:
        """A terminal `event: error` from a (redacted) `client_envelope`; nothing follows it."""
        if self.ended:
            return b""
        self.ended = True
        return frame("error", from_envelope(envelope, status=status, request_id=request_id))

    # -- blocks ---------------------------------------------------------------------------
    def _open_block(self, kind: Literal["text", "tool"],
                    block: OutTextBlock | OutToolUseBlock) -> bytes:
        closing = self._close()
        index = self._next
        self._next += 1
        self._open, self._open_kind = index, kind
        return closing + frame("content_block_start",
                               ContentBlockStart(index=index, content_block=block))

    def _close(self) -> bytes:
        if self._open is None:
            return b""
        index, self._open, self._open_kind = self._open, None, None
        return frame("content_block_stop", ContentBlockStop(index=index))

    def _text(self, text: str) -> bytes:
        opening = b"" if self._open_kind == "text" else self._open_block(
            "text", OutTextBlock(text=""))
        assert self._open is not None
        return opening + frame("content_block_delta",
                               ContentBlockDelta(index=self._open, delta=TextDelta(text=text)))

    def _tool(self, call: ToolCallDelta) -> bytes:
        arguments = call.function.arguments if call.function else None
        block = self._tools.get(call.index)
        opening = b""
        if block is None:
            name = call.function.name if call.function else None
            if not name:
                raise UpstreamBadResponse("a streamed tool call began without a name")
            tool_id = call.id or f"toolu_{self._id.removeprefix('msg_')}_{call.index}"
            opening = self._open_block("tool", OutToolUseBlock(id=tool_id, name=name, input={}))
            assert self._open is not None
            block = self._tools[call.index] = self._open
        elif block != self._open:
            # Anthropic blocks cannot reopen; OpenAI-style upstreams stream calls in order.
            raise UpstreamBadResponse("streamed tool calls were interleaved")
        if not arguments:
            return opening
        return opening + frame("content_block_delta", ContentBlockDelta(
            index=block, delta=InputJSONDelta(partial_json=arguments)))

    def _message_delta(self) -> bytes:
        if self._sent_delta:
            return b""
        self._sent_delta = True
        reason = stop_reason(self._finish, tool_calls=bool(self._tools), refusal=self._refusal)
        return frame("message_delta", MessageDelta(delta=MessageDeltaBody(stop_reason=reason),
                                                   usage=anthropic_usage(self._usage)))
