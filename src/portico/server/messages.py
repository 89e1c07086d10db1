"""POST /v1/messages: Anthropic's Messages format in and out, through the same pipeline as
chat completions (the translation itself lives in `portico.inbound.anthropic_messages`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from starlette.responses import Response

from portico.errors import GatewayError
from portico.inbound.anthropic_messages import (
    AnthropicStreamFramer,
    error_body,
    to_anthropic,
    to_canonical,
)
from portico.pipeline.context import RequestContext
from portico.pipeline.hooks import ChunkFilter
from portico.schema.chat import ChatRequest
from portico.schema.response import ChatResponse
from portico.schema.stream import ChatChunk
from portico.server.chat import route_headers
from portico.server.errors import client_envelope
from portico.server.streaming import Opener, StreamOptions, StreamRun

if TYPE_CHECKING:
    from portico.server.gateway import Gateway

JSON = "application/json"


class AnthropicStreamRun(StreamRun):
    """Anthropic's event stream (message_start, content blocks, message_delta/stop)."""

    def __init__(self, gw: Gateway, ctx: RequestContext, req: ChatRequest, opener: Opener,
                 filters: list[ChunkFilter], opts: StreamOptions,
                 route_headers: Callable[[], dict[str, str]]) -> None:
        super().__init__(gw, ctx, req, opener, filters, opts, route_headers)
        self._framer = AnthropicStreamFramer(self._req.model)
        # The framer reports usage in its closing message_delta, so it needs the usage chunk
        # whether or not the client asked for one.
        self._include_usage = True

    def _frame_chunk(self, chunk: ChatChunk) -> bytes:
        return self._framer.chunk(chunk)

    def _frame_done(self) -> bytes:
        return self._framer.end()

    def _frame_error(self, err: GatewayError) -> bytes:
        envelope = client_envelope(err, self._gw.redactor, self._ctx.request_id)
        return self._framer.error(envelope, status=err.status, request_id=self._ctx.request_id)

    def _render_error(self, err: GatewayError) -> Response:
        return AnthropicFormat().render_error(self._gw, err, self._ctx)


class AnthropicFormat:
    endpoint = "messages"
    stream_class: type[StreamRun] = AnthropicStreamRun

    def decode(self, body: bytes, max_depth: int) -> ChatRequest:
        return to_canonical(body, max_depth=max_depth)

    def render(self, resp: ChatResponse, ctx: RequestContext, req: ChatRequest) -> Response:
        return Response(to_anthropic(resp, requested_model=req.model),
                        headers=route_headers(ctx), media_type=JSON)

    def render_error(self, gw: Gateway, err: GatewayError, ctx: RequestContext) -> Response:
        # Same status, headers (Retry-After, x-request-id) and redaction as the OpenAI route;
        # only the body takes Anthropic's error shape.
        response = gw.render_error(err, ctx)
        return Response(error_body(err, ctx.request_id, gw.redactor),
                        status_code=response.status_code,
                        headers={k: v for k, v in response.headers.items()
                                 if k not in ("content-length", "content-type")},
                        media_type=JSON)
