"""Anthropic Message bodies to canonical ChatResponse; shared stop-reason and usage mapping.

Reference: https://docs.anthropic.com/en/api/messages. Thinking, redacted-thinking and server-tool
blocks are dropped: only text and client `tool_use` blocks reach the client.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from portico.adapters.base import UpstreamResponse
from portico.adapters.dialects.anthropic_messages._wire import Message, Usage
from portico.adapters.dialects.anthropic_messages.errors import decode_error_body, map_http_error
from portico.errors import UpstreamBadResponse
from portico.schema.chat import FunctionCall, ToolCall
from portico.schema.response import (
    ChatResponse,
    Choice,
    CompletionTokensDetails,
    FinishReason,
    PromptTokensDetails,
    ResponseMessage,
)
from portico.schema.response import Usage as CanonicalUsage

_DECODER = msgspec.json.Decoder(Message)
_ENCODER = msgspec.json.Encoder()


def finish_reason(stop_reason: str | None) -> FinishReason:
    """Anthropic stop_reason to OpenAI finish_reason (unknown future values read as stop)."""
    match stop_reason:
        case "max_tokens" | "model_context_window_exceeded":
            return "length"
        case "tool_use":
            return "tool_calls"
        case "refusal":
            return "content_filter"
        case _:  # end_turn, stop_sequence, pause_turn, None
            return "stop"


def canonical_usage(usage: Usage) -> CanonicalUsage:
    """OpenAI semantics: prompt_tokens includes cache reads and writes; cached_tokens = reads."""
    read = usage.cache_read_input_tokens or 0
    written = usage.cache_creation_input_tokens or 0
    prompt = (usage.input_tokens or 0) + read + written
    completion = usage.output_tokens or 0
    thinking = usage.output_tokens_details.thinking_tokens if usage.output_tokens_details else 0
    return CanonicalUsage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=prompt + completion,
        prompt_tokens_details=PromptTokensDetails(
            cached_tokens=read,
            cache_creation_tokens=written if usage.cache_creation_input_tokens is not None
            else None,
        ),
        completion_tokens_details=CompletionTokensDetails(reasoning_tokens=thinking)
        if thinking else None,
    )


def arguments_json(value: object) -> str:
    return _ENCODER.encode(value).decode()


def decode_message(resp: UpstreamResponse) -> Message:
    try:
        return _DECODER.decode(resp.body)
    except msgspec.DecodeError as exc:
        if decode_error_body(resp.body) is not None:
            # A 2xx carrying an Anthropic error object: map it like an HTTP error.
            raise map_http_error(resp) from exc
        raise UpstreamBadResponse(
            f"malformed Anthropic message body: {exc}", upstream_status=resp.status
        ) from exc


def parse_response(
    resp: UpstreamResponse, *, clock: Callable[[], float]
) -> ChatResponse:
    msg = decode_message(resp)
    if msg.type != "message":
        raise UpstreamBadResponse(f"unexpected Anthropic body type {msg.type!r}",
                                  upstream_status=resp.status)
    texts: list[str] = []
    calls: list[ToolCall] = []
    for block in msg.content:
        if block.type == "text" and block.text is not None:
            texts.append(block.text)
        elif block.type == "tool_use":
            if block.id is None or block.name is None:
                raise UpstreamBadResponse("tool_use block without id or name",
                                          upstream_status=resp.status)
            calls.append(ToolCall(id=block.id, function=FunctionCall(
                name=block.name, arguments=arguments_json(block.input or {}))))
    message = ResponseMessage(content="".join(texts) if texts else None)
    if calls:
        message.tool_calls = calls
    return ChatResponse(
        id=msg.id,
        created=int(clock()),
        model=msg.model,
        choices=[Choice(index=0, message=message, finish_reason=finish_reason(msg.stop_reason))],
        usage=canonical_usage(msg.usage) if msg.usage else None,
    )

