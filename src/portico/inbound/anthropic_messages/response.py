"""Canonical ChatResponse to an Anthropic `Message` body; stop-reason, usage and tool-input
mapping shared with the stream framer (https://docs.anthropic.com/en/api/messages)."""

from __future__ import annotations

from typing import Any

import msgspec

from portico.inbound.anthropic_messages._wire import (
    OutBlock,
    OutMessage,
    OutTextBlock,
    OutToolUseBlock,
    OutUsage,
    StopReason,
)
from portico.schema.response import ChatResponse, FinishReason, Usage

# Tool arguments that are not a JSON object cannot be an Anthropic `input`: they are kept, as
# the string the model produced, under this key, so the client sees them instead of a 502
# (the OpenAI route also passes invalid arguments through untouched).
RAW_ARGUMENTS_KEY = "_raw"
_ENCODER = msgspec.json.Encoder()


def message_id(upstream_id: str) -> str:
    return upstream_id if upstream_id.startswith("msg_") else f"msg_{upstream_id}"


def tool_input(arguments: str) -> dict[str, Any]:
    """A tool call's JSON arguments as Anthropic's `input` object (see RAW_ARGUMENTS_KEY)."""
    if not arguments.strip():
        return {}
    try:
        value = msgspec.json.decode(arguments)
    except msgspec.DecodeError:
        return {RAW_ARGUMENTS_KEY: arguments}
    return value if isinstance(value, dict) else {RAW_ARGUMENTS_KEY: arguments}


def stop_reason(finish: FinishReason | None, *, tool_calls: bool, refusal: bool) -> StopReason:
    """OpenAI finish_reason to Anthropic stop_reason.

    Which stop sequence matched is not in the canonical response, so "stop" reads as end_turn.
    Some providers finish tool calls with "stop": Anthropic clients loop on tool_use, so a
    response with tool calls says tool_use."""
    if refusal or finish == "content_filter":
        return "refusal"
    if finish == "length":
        return "max_tokens"
    if tool_calls or finish in ("tool_calls", "function_call"):
        return "tool_use"
    return "end_turn"


def anthropic_usage(usage: Usage | None) -> OutUsage:
    """Anthropic counts input without cache reads and writes; OpenAI's prompt includes both."""
    if usage is None:
        return OutUsage(input_tokens=0, output_tokens=0)
    read, written = usage.cached_tokens, usage.cache_write_tokens
    return OutUsage(
        input_tokens=max(0, usage.prompt_tokens - read - written),
        output_tokens=usage.completion_tokens,
        cache_creation_input_tokens=written,
        cache_read_input_tokens=read,
    )


def to_message(resp: ChatResponse, *, requested_model: str) -> OutMessage:
    content: list[OutBlock] = []
    finish: FinishReason | None = None
    refusal = False
    has_calls = False
    if resp.choices:
        choice = resp.choices[0]   # to_canonical never asks for n > 1
        msg = choice.message
        finish = choice.finish_reason
        if msg.content:
            content.append(OutTextBlock(text=msg.content))
        if msg.refusal:
            refusal = True
            content.append(OutTextBlock(text=msg.refusal))
        if msg.tool_calls:
            has_calls = True
            content.extend(
                OutToolUseBlock(id=call.id, name=call.function.name,
                                input=tool_input(call.function.arguments))
                for call in msg.tool_calls)
    return OutMessage(
        id=message_id(resp.id),
        model=requested_model,
        content=content,
        stop_reason=stop_reason(finish, tool_calls=has_calls, refusal=refusal),
        usage=anthropic_usage(resp.usage),
    )


def to_anthropic(resp: ChatResponse, *, requested_model: str) -> bytes:
    """The JSON body of Anthropic's `Message` for a canonical response."""
    return _ENCODER.encode(to_message(resp, requested_model=requested_model))
