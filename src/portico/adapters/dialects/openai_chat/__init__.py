"""The OpenAI chat completions dialect, spoken by OpenAI and most OpenAI-compatible vendors.

Reference: https://platform.openai.com/docs/api-reference/chat
"""

from __future__ import annotations

from typing import ClassVar

from portico.adapters.base import Target, UpstreamRequest, UpstreamResponse
from portico.adapters.dialects.openai_chat.embeddings import parse_embeddings, translate_embeddings
from portico.adapters.dialects.openai_chat.errors import map_http_error
from portico.adapters.dialects.openai_chat.request import translate_chat
from portico.adapters.dialects.openai_chat.response import parse_chat
from portico.adapters.dialects.openai_chat.stream import OpenAIStreamDecoder
from portico.errors import GatewayError
from portico.schema.chat import ChatRequest
from portico.schema.embeddings import EmbeddingRequest, EmbeddingResponse
from portico.schema.response import ChatResponse

__all__ = ["OpenAIChatDialect", "OpenAIStreamDecoder"]


class OpenAIChatDialect:
    """Stateless; one instance serves every OpenAI-dialect target."""

    name: ClassVar[str] = "openai_chat"

    def translate_request(self, req: ChatRequest, target: Target) -> UpstreamRequest:
        return translate_chat(req, target)

    def parse_response(self, resp: UpstreamResponse, target: Target,
                       req: ChatRequest) -> ChatResponse:
        return parse_chat(resp, target)

    def open_stream(self, target: Target, req: ChatRequest) -> OpenAIStreamDecoder:
        return OpenAIStreamDecoder(target)

    def map_error(self, resp: UpstreamResponse, target: Target) -> GatewayError:
        return map_http_error(resp)

    def translate_embeddings(self, req: EmbeddingRequest, target: Target) -> UpstreamRequest:
        return translate_embeddings(req, target)

    def parse_embeddings(self, resp: UpstreamResponse, target: Target,
                         req: EmbeddingRequest) -> EmbeddingResponse:
        return parse_embeddings(resp, target, req)
