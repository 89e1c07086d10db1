"""OpenAI chat completion body → canonical ChatResponse (lenient decode, typed mapping).

Reference: https://platform.openai.com/docs/api-reference/chat/object
"""

from __future__ import annotations

import msgspec

from portico.adapters.base import Target, UpstreamResponse
from portico.adapters.dialects.openai_chat._wire import (
    WireChoice,
    WireResponse,
    WireToolCall,
    finish_reason,
)
from portico.errors import UpstreamBadResponse
from portico.schema.chat import FunctionCall, ToolCall
from portico.schema.response import ChatResponse, Choice, ResponseMessage

_DECODER = msgspec.json.Decoder(WireResponse)


def bad_response(what: str, status: int | None = None) -> UpstreamBadResponse:
    # The body is never quoted: it may echo prompts, keys or an HTML page.
    return UpstreamBadResponse(f"the upstream sent {what}", upstream_status=status)


def _tool_calls(calls: list[WireToolCall] | None) -> list[ToolCall] | msgspec.UnsetType:
    if not calls:
        return msgspec.UNSET
    out: list[ToolCall] = []
    for n, call in enumerate(calls):
        fn = call.function
        if fn is None or not fn.name:
            raise bad_response("a tool call without a function name")
        out.append(ToolCall(id=call.id or f"call_{n}",
                            function=FunctionCall(name=fn.name, arguments=fn.arguments or "")))
    return out


def _choice(wire: WireChoice) -> Choice:
    msg = wire.message
    if msg is None:
        raise bad_response("a choice without a message")
    annotations = msg.annotations if msg.annotations is not None else msgspec.UNSET
    return Choice(
        index=wire.index,
        message=ResponseMessage(content=msg.content, refusal=msg.refusal,
                                tool_calls=_tool_calls(msg.tool_calls),
                                annotations=annotations),
        finish_reason=finish_reason(wire.finish_reason),
        logprobs=wire.logprobs,
    )


def decode_chat(body: bytes, target: Target, status: int | None = None) -> ChatResponse:
    """The canonical response; UpstreamBadResponse for HTML, truncated or foreign bodies."""
    try:
        wire = _DECODER.decode(body)
    except msgspec.DecodeError:
        raise bad_response("a malformed chat completion body", status) from None
    return ChatResponse(
        id=wire.id or "chatcmpl-upstream",
        created=wire.created or 0,
        model=wire.model or target.model,
        choices=[_choice(c) for c in wire.choices],
        usage=wire.usage.canonical() if wire.usage is not None else None,
        system_fingerprint=wire.system_fingerprint,
        service_tier=wire.service_tier,
    )


def parse_chat(resp: UpstreamResponse, target: Target) -> ChatResponse:
    return decode_chat(resp.body, target, resp.status)
