"""The `gemini` dialect: Google Gemini generateContent / streamGenerateContent / embeddings.

https://ai.google.dev/api/generate-content ; the modules split request, response, stream,
errors and embeddings, with typed wire shapes in `_wire`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import ClassVar

from portico.adapters.base import Target, UpstreamRequest, UpstreamResponse
from portico.adapters.dialects.gemini import embeddings, errors, request, response
from portico.adapters.dialects.gemini.stream import GeminiStreamDecoder
from portico.errors import GatewayError
from portico.schema.chat import ChatRequest
from portico.schema.embeddings import EmbeddingRequest, EmbeddingResponse
from portico.schema.response import ChatResponse

__all__ = ["GeminiDialect", "GeminiStreamDecoder"]


class GeminiDialect:
    """Implements the Dialect and EmbeddingDialect protocols; the clock stamps `created`."""

    name: ClassVar[str] = "gemini"

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock

    def translate_request(self, req: ChatRequest, target: Target) -> UpstreamRequest:
        return request.translate_request(req, target)

    def parse_response(self, resp: UpstreamResponse, target: Target,
                       req: ChatRequest) -> ChatResponse:
        return response.parse_response(resp, target, int(self._clock()))

    def open_stream(self, target: Target, req: ChatRequest) -> GeminiStreamDecoder:
        return GeminiStreamDecoder(target, int(self._clock()))

    def map_error(self, resp: UpstreamResponse, target: Target) -> GatewayError:
        return errors.map_error(resp)

    def translate_embeddings(self, req: EmbeddingRequest, target: Target) -> UpstreamRequest:
        return embeddings.translate_embeddings(req, target)

    def parse_embeddings(self, resp: UpstreamResponse, target: Target,
                         req: EmbeddingRequest) -> EmbeddingResponse:
        return embeddings.parse_embeddings(resp, target, req)
