"""POST /v1/chat/completions: hooks before, executor, hooks after, finalize, for both the
non-streaming and the SSE form."""

from __future__ import annotations

import asyncio
import logging
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Protocol

import msgspec
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response

from portico.errors import GatewayError, InternalError, InvalidRequest
from portico.pipeline.context import RequestContext
from portico.pipeline.hooks import Outcome
from portico.pipeline.model_access import require_model
from portico.routing.attempts import Completed, OpenedStream
from portico.routing.capacity import Lease
from portico.routing.executor import with_max_tokens
from portico.schema.chat import ChatRequest
from portico.schema.response import ChatResponse
from portico.server.body import decode, read_body
from portico.server.principal import Permission, authenticate
from portico.server.streaming import StreamOptions, StreamRun

if TYPE_CHECKING:
    from portico.server.gateway import Gateway

log = logging.getLogger("portico.chat")
MAX_COST_HEADER = "x-portico-max-stream-cost"
SENTENCE_HEADER = "x-portico-sentence-buffer"


def route_headers(ctx: RequestContext) -> dict[str, str]:
    headers = {"x-request-id": ctx.request_id, "x-portico-attempts": str(len(ctx.attempts))}
    if ctx.target is not None:
        headers["x-portico-provider"] = ctx.target.provider.name
    return headers


class WireFormat(Protocol):
    """How a chat request arrives and its answer leaves (OpenAI's format, Anthropic's...)."""

    endpoint: str
    stream_class: type[StreamRun]

    def decode(self, body: bytes, max_depth: int) -> ChatRequest: ...
    def render(self, resp: ChatResponse, ctx: RequestContext, req: ChatRequest) -> Response: ...
    def render_error(self, gw: Gateway, err: GatewayError, ctx: RequestContext
                     ) -> Response: ...


class OpenAIFormat:
    """The OpenAI chat-completions wire format, the gateway's native one."""

    endpoint = "chat"
    stream_class: type[StreamRun] = StreamRun

    def decode(self, body: bytes, max_depth: int) -> ChatRequest:
        return decode(body, ChatRequest, max_depth)

    def render(self, resp: ChatResponse, ctx: RequestContext, req: ChatRequest) -> Response:
        return Response(msgspec.json.encode(resp), headers=route_headers(ctx),
                        media_type="application/json")

    def render_error(self, gw: Gateway, err: GatewayError, ctx: RequestContext) -> Response:
        return gw.render_error(err, ctx)


class FinalizeAfterSend(BackgroundTask):
    """The request's finalize (the client's limit and budget settles, ledger, audit, metrics),
    run by the response once its body is on the wire: that bookkeeping is not the client's
    latency. It runs in the same task right after the last write and, with in-process limit
    state, without suspending, so it is done before this connection's next request is read;
    a reservation it settles stays held (never lost) until then. The upstream key's lease is
    settled before the response either way."""

    def __init__(self, gw: Gateway, ctx: RequestContext, outcome: Outcome) -> None:
        # Not BackgroundTask's __init__: it inspects a callable, and there is none to inspect.
        self._gw, self._ctx, self._outcome = gw, ctx, outcome

    async def __call__(self) -> None:
        await self._gw.finalize(self._ctx, self._outcome)


class ChatHandler:
    """Runs a chat request through the pipeline; `fmt` says how it arrives and leaves."""

    def __init__(self, gw: Gateway, fmt: WireFormat | None = None) -> None:
        self._gw = gw
        self._fmt = fmt or OpenAIFormat()
        # After the send only where finalize cannot suspend (a test holds it to that): with
        # limits in Redis (a round trip) or content capture (masking in a thread), a client's
        # next request could overtake the settle and meet its own parallel-request slot still
        # held, so there the bookkeeping stays before the response.
        self._after_send = ((gw.capacity is None or gw.capacity.redis is None)
                            and not gw.config.audit.capture_content)

    def new_context(self, request: Request) -> RequestContext:
        clock = self._gw.clock
        return RequestContext(request_id=request.state.request_id, started=clock.monotonic(),
                              ts_ms=int(clock.wall() * 1000), headers=request.headers,
                              endpoint=self._fmt.endpoint)

    async def __call__(self, request: Request) -> Response | StreamRun:
        gw = self._gw
        ctx = self.new_context(request)
        finalize_here = True
        outcome = Outcome()
        try:
            try:
                principal = await authenticate(request, gw.keys, Permission.CLIENT)
                ctx.key, ctx.is_master = principal.key, principal.is_master
                body = await read_body(request, gw.config.server.max_body_bytes)
                req = self._fmt.decode(body, gw.config.server.max_json_depth)
                ctx.model_requested, ctx.stream = req.model, req.wants_stream
                await require_model(principal.key, gw.teams, req.model)
                for hook in gw.hooks:
                    req = await hook.before(ctx, req)
                if req.wants_stream:
                    stream = await self._stream(ctx, req, request)
                    finalize_here = False   # the stream finalizes when it ends
                    return stream
                response = await self._complete(ctx, req)
            except GatewayError as err:
                outcome = Outcome(error=err)
                response = self._fmt.render_error(gw, err, ctx)
            except Exception:
                log.exception("unhandled error in chat request %s", ctx.request_id)
                internal = InternalError("the gateway failed to process this request")
                outcome = Outcome(error=internal)
                response = self._fmt.render_error(gw, internal, ctx)
            if self._after_send:
                response.background = FinalizeAfterSend(gw, ctx, outcome)
                finalize_here = False
            return response
        finally:
            if finalize_here:   # before the response: no background step carries it
                await gw.finalize(ctx, outcome)

    async def _complete(self, ctx: RequestContext, req: ChatRequest) -> Response:
        gw = self._gw

        completed: Completed
        completed, lease = await gw.executor.run(
            ctx, req.model,
            lambda t, d, to: gw.dispatcher.complete(ctx.request_id, t, to,
                                                    with_max_tokens(req, d)),
            req)
        resp = completed.response
        ctx.usage = resp.usage
        await lease.settle(resp.usage, completed.headers)
        for hook in reversed(gw.hooks):
            resp = await hook.after(ctx, resp)
        return self._fmt.render(resp, ctx, req)

    async def _stream(self, ctx: RequestContext, req: ChatRequest, request: Request
                      ) -> StreamRun:
        gw = self._gw
        opts = self._stream_options(ctx, request)

        def opener() -> asyncio.Future[tuple[OpenedStream, Lease]]:
            # A task so the route can send keepalives (and notice a disconnect) meanwhile.
            return asyncio.ensure_future(gw.executor.run(
                ctx, req.model,
                lambda t, d, to: gw.dispatcher.open_stream(ctx.request_id, t, to,
                                                           with_max_tokens(req, d)),
                req))

        filters = [f for h in gw.hooks if (f := h.chunk_filter(ctx)) is not None]
        return self._fmt.stream_class(gw, ctx, req, opener, filters, opts,
                                      lambda: route_headers(ctx))

    def _stream_options(self, ctx: RequestContext, request: Request) -> StreamOptions:
        cfg = self._gw.config
        settings = ctx.key.settings if ctx.key is not None else None
        ceilings = [c for c in (
            settings.max_stream_cost_micros if settings is not None else None,
            usd_micros(request.headers.get(MAX_COST_HEADER), MAX_COST_HEADER),
        ) if c is not None]
        if ceilings:
            ceiling: int | None = min(ceilings)  # a request may lower its key's ceiling only
        elif cfg.stream.max_stream_cost_usd is not None:
            ceiling = usd_micros(str(cfg.stream.max_stream_cost_usd), "stream.max_stream_cost_usd")
        else:
            ceiling = None
        header = request.headers.get(SENTENCE_HEADER)
        if header is not None:
            buffered = header.strip().lower() in ("1", "true", "yes", "on")
        else:
            buffered = bool(settings is not None and settings.sentence_buffer)
        hold = cfg.stream.sentence_buffer_max_hold_ms / 1000.0 if buffered else None
        return StreamOptions(keepalive=cfg.server.keepalive_seconds, max_cost_micros=ceiling,
                             sentence_hold=hold)


def usd_micros(value: str | None, name: str) -> int | None:
    """A USD amount (decimal string) in integer micro-USD; no float on the way."""
    if value is None:
        return None
    try:
        amount = Decimal(value.strip())
    except InvalidOperation as exc:
        raise InvalidRequest(f"{name} must be a USD amount such as 0.25", param=name) from exc
    if not amount.is_finite() or amount < 0:
        raise InvalidRequest(f"{name} must be a non-negative USD amount", param=name)
    return int((amount * 1_000_000).to_integral_value(ROUND_DOWN))
