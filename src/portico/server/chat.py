"""POST /v1/chat/completions: hooks before, executor, hooks after, finalize, for both the
non-streaming and the SSE form."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from portico.errors import GatewayError, InternalError, PermissionDenied
from portico.pipeline.context import RequestContext
from portico.pipeline.hooks import ChunkFilter, Outcome
from portico.routing.attempts import Completed, OpenedStream
from portico.routing.capacity import Lease
from portico.routing.executor import with_max_tokens
from portico.schema.chat import ChatRequest
from portico.schema.response import Usage
from portico.schema.stream import ChatChunk
from portico.server.body import decode, read_body
from portico.server.principal import Permission, Principal, authenticate
from portico.server.sse import SSEResponse

if TYPE_CHECKING:
    from portico.server.gateway import Gateway

log = logging.getLogger("portico.chat")
DONE = b"data: [DONE]\n\n"
# A rough chars-per-token ratio for usage estimates when a stream ends without provider usage.
CHARS_PER_TOKEN = 4


def allowed(principal: Principal, model: str) -> bool:
    key = principal.key
    if key is None or not key.allowed_models:
        return True
    return model in key.allowed_models or any(
        p.endswith("/*") and model.startswith(p[:-1]) for p in key.allowed_models)


def route_headers(ctx: RequestContext) -> dict[str, str]:
    headers = {"x-request-id": ctx.request_id, "x-portico-attempts": str(len(ctx.attempts))}
    if ctx.target is not None:
        headers["x-portico-provider"] = ctx.target.provider.name
    return headers


class ChatHandler:
    def __init__(self, gw: Gateway) -> None:
        self._gw = gw

    def new_context(self, request: Request) -> RequestContext:
        clock = self._gw.clock
        return RequestContext(request_id=request.state.request_id, started=clock.monotonic(),
                              ts_ms=int(clock.wall() * 1000))

    async def __call__(self, request: Request) -> Response:
        gw = self._gw
        ctx = self.new_context(request)
        finalize_here = True
        outcome = Outcome()
        try:
            principal = await authenticate(request, gw.keys, Permission.CLIENT)
            ctx.key, ctx.is_master = principal.key, principal.is_master
            body = await read_body(request, gw.config.server.max_body_bytes)
            req = decode(body, ChatRequest, gw.config.server.max_json_depth)
            ctx.model_requested, ctx.stream = req.model, req.wants_stream
            if not allowed(principal, req.model):
                raise PermissionDenied(f"this key may not use the model `{req.model}`",
                                       param="model", code="model_not_allowed")
            for hook in gw.hooks:
                req = await hook.before(ctx, req)
            if req.wants_stream:
                response = await self._stream(ctx, req)
                finalize_here = False
                return response
            return await self._complete(ctx, req)
        except GatewayError as err:
            outcome = Outcome(error=err)
            return gw.render_error(err, ctx)
        except Exception:
            log.exception("unhandled error in chat request %s", ctx.request_id)
            internal = InternalError("the gateway failed to process this request")
            outcome = Outcome(error=internal)
            return gw.render_error(internal, ctx)
        finally:
            if finalize_here:
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
        return Response(msgspec.json.encode(resp), headers=route_headers(ctx),
                        media_type="application/json")

    async def _stream(self, ctx: RequestContext, req: ChatRequest) -> Response:
        gw = self._gw

        opened: OpenedStream
        opened, lease = await gw.executor.run(
            ctx, req.model,
            lambda t, d, to: gw.dispatcher.open_stream(ctx.request_id, t, to,
                                                       with_max_tokens(req, d)),
            req)
        filters = [f for h in gw.hooks if (f := h.chunk_filter(ctx)) is not None]
        events = StreamRun(gw, ctx, req, opened, lease, filters)
        headers = [(k.encode(), v.encode()) for k, v in route_headers(ctx).items()]
        return SSEResponse(events.run(), headers, gw.config.server.keepalive_seconds,
                           events.cancel)


class StreamRun:
    """One client stream: frames chunks, applies filters, ends honestly, always finalizes."""

    def __init__(self, gw: Gateway, ctx: RequestContext, req: ChatRequest,
                 opened: OpenedStream, lease: Lease, filters: list[ChunkFilter]) -> None:
        self._gw = gw
        self._ctx = ctx
        self._req = req
        self._opened = opened
        self._lease = lease
        self._filters = filters
        self._cancelled = False
        self._include_usage = req.include_usage

    def cancel(self) -> None:
        """The client went away: abort the upstream at once."""
        self._cancelled = True
        self._opened.abort()

    def _frame(self, chunk: ChatChunk) -> list[bytes]:
        ctx = self._ctx
        if chunk.usage is not None and not chunk.choices:
            ctx.usage = chunk.usage
            return [b"data: " + msgspec.json.encode(chunk) + b"\n\n"] \
                if self._include_usage else []
        chunks: list[ChatChunk] = [chunk]
        for f in self._filters:
            chunks = [out for c in chunks for out in f.feed(c)]
        return [self._encode(c) for c in chunks]

    def _encode(self, chunk: ChatChunk) -> bytes:
        ctx = self._ctx
        for choice in chunk.choices:
            if choice.delta.content:
                if ctx.ttft_ms is None:
                    ctx.ttft_ms = int((self._gw.clock.monotonic() - ctx.started) * 1000)
                ctx.delivered_text_chars += len(choice.delta.content)
        return b"data: " + msgspec.json.encode(chunk) + b"\n\n"

    async def run(self) -> AsyncIterator[bytes]:
        ctx = self._ctx
        outcome = Outcome()
        try:
            for chunk in self._opened.first:
                for frame in self._frame(chunk):
                    yield frame
            async for chunk in self._opened.rest():
                for frame in self._frame(chunk):
                    yield frame
            for f in self._filters:
                for chunk in f.flush():
                    yield self._encode(chunk)
            yield DONE
        except GatewayError as err:
            if self._cancelled:
                ctx.status, outcome = "cancelled", Outcome(cancelled=True)
            else:
                # After the first byte there is no failover: one terminal error event, no
                # [DONE], and the ledger says partial.
                ctx.status, ctx.error_code = "partial", err.code
                outcome = Outcome(error=err)
                yield b"data: " + msgspec.json.encode(err.envelope()) + b"\n\n"
        finally:
            if self._cancelled and ctx.status == "ok":
                ctx.status, outcome = "cancelled", Outcome(cancelled=True)
            await self._opened.aclose()
            if ctx.usage is None:
                ctx.usage = self._estimate()
                ctx.usage_estimated = True
            await self._lease.settle(ctx.usage, self._opened.headers)
            await self._gw.finalize(ctx, outcome)

    def _estimate(self) -> Usage:
        out = -(-self._ctx.delivered_text_chars // CHARS_PER_TOKEN)
        prompt = self._gw.estimate_prompt_tokens(self._ctx, self._req)
        return Usage(prompt_tokens=prompt, completion_tokens=out, total_tokens=prompt + out)
