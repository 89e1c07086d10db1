"""The `anthropic_messages` dialect: Anthropic's Messages API (https://docs.anthropic.com/en/api/messages).

Translates the canonical OpenAI-shaped schema to and from Anthropic's wire format; no I/O.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import ClassVar

from portico.adapters.base import Target, UpstreamRequest, UpstreamResponse
from portico.adapters.dialects.anthropic_messages.errors import map_http_error
from portico.adapters.dialects.anthropic_messages.request import translate_request
from portico.adapters.dialects.anthropic_messages.response import parse_response
from portico.adapters.dialects.anthropic_messages.stream import AnthropicStreamDecoder
from portico.errors import GatewayError
from portico.schema.chat import ChatRequest
from portico.schema.response import ChatResponse

__all__ = ["AnthropicMessagesDialect", "AnthropicStreamDecoder"]


class AnthropicMessagesDialect:
    """Implements adapters.base.Dialect. `clock` stamps `created` (Anthropic sends no time)."""

    name: ClassVar[str] = "anthropic_messages"

    __slots__ = ("_clock",)

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock

    def translate_request(self, req: ChatRequest, target: Target) -> UpstreamRequest:
        return translate_request(req, target)

    def parse_response(self, resp: UpstreamResponse, target: Target,
                       req: ChatRequest) -> ChatResponse:
        return parse_response(resp, clock=self._clock)

    def open_stream(self, target: Target, req: ChatRequest) -> AnthropicStreamDecoder:
        return AnthropicStreamDecoder(clock=self._clock)

    def map_error(self, resp: UpstreamResponse, target: Target) -> GatewayError:
        return map_http_error(resp)
