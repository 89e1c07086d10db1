"""One client stream as an ASGI response: opens the upstream through the executor while
keepalives flow, frames chunks, enforces the cost ceiling, ends honestly, always finalizes.

Headers wait for the first token for up to one keepalive interval, so fast failures keep
their real HTTP status; past that the 200 is committed and a later failure becomes an
OpenAI-shaped error event (docs/resilience.md explains the trade-off).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import msgspec
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from portico.accounting.prices import ModelPrice, UsageCounts
from portico.errors import GatewayError
from portico.pipeline.context import RequestContext
from portico.pipeline.hooks import ChunkFilter, Outcome
from portico.routing.attempts import OpenedStream
from portico.routing.capacity import Lease
from portico.schema.chat import ChatRequest
from portico.schema.response import Usage
from portico.schema.stream import ChatChunk
from portico.server.errors import client_envelope
from portico.server.sse import DONE, SentenceBuffer, SSEWriter

if TYPE_CHECKING:
    from portico.server.gateway import Gateway

log = logging.getLogger("portico.stream")
Opener = Callable[[], "asyncio.Future[tuple[OpenedStream, Lease]]"]


class StreamCostExceeded(GatewayError):
    status = 402
    type = "insufficient_quota"
    default_code = "max_stream_cost_exceeded"


@dataclass(frozen=True, slots=True)
class StreamOptions:
    """Per-request stream knobs resolved by the route from headers, key settings, config."""

    keepalive: float
    max_cost_micros: int | None = None
    sentence_hold: float | None = None   # seconds; None: no sentence buffering


def _frame(payload: bytes) -> bytes:
    return b"data: " + payload + b"\n\n"


class StreamRun:
    """The OpenAI SSE framing; `server/messages.py` subclasses it for Anthropic's events by
    overriding the four `_frame_*` / `_render_error` methods."""

    def __init__(self, gw: Gateway, ctx: RequestContext, req: ChatRequest, opener: Opener,
                 filters: list[ChunkFilter], opts: StreamOptions,
                 route_headers: Callable[[], dict[str, str]]) -> None:
        self._gw = gw
        self._ctx = ctx
        self._req = req
        self._opener = opener
        self._filters = filters
        self._opts = opts
        self._route_headers = route_headers
        self._include_usage = req.include_usage
        self._cancelled = False
        self._opening: asyncio.Future[tuple[OpenedStream, Lease]] | None = None
        self._opened: OpenedStream | None = None
        self._buffer = (SentenceBuffer(opts.sentence_hold)
                        if opts.sentence_hold is not None else None)
        self._delivered: list[str] = []       # content delivered, for the usage estimate
        self._out_tokens = 0                  # running count, only with a cost ceiling
        self._prompt_cost = 0
        self._price: ModelPrice | None = None

    # -- cancel -------------------------------------------------------------------------
    def _on_disconnect(self) -> None:
        """The client went away: stop trying, or abort the upstream at once."""
        self._cancelled = True
        if self._opening is not None and not self._opening.done():
            self._opening.cancel()
        if self._opened is not None:
            self._opened.abort()

    # -- ASGI ---------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        ctx = self._ctx
        writer = SSEWriter(send, self._opts.keepalive, self._on_disconnect)
        early = [(b"x-request-id", ctx.request_id.encode())]
        tasks = [asyncio.ensure_future(writer.watch(receive))]
        if self._opts.keepalive > 0 or self._buffer is not None:
            tasks.append(asyncio.ensure_future(writer.tick(early, self._buffer, self._encode)))
        outcome = Outcome()
        lease: Lease | None = None
        try:
            self._opening = self._opener()
            try:
                opened, lease = await self._opening
            except asyncio.CancelledError:
                if not self._cancelled:
                    raise
                ctx.status, outcome = "cancelled", Outcome(cancelled=True)
                return
            except GatewayError as err:
                outcome = Outcome(error=err)
                async with writer.lock:
                    if not writer.committed:
                        writer.committed = True
                        await self._render_error(err)(scope, receive, send)
                        return
                # Headers are out: the status can no longer change, so the error is an event.
                ctx.status, ctx.http_status, ctx.error_code = "error", err.status, err.code
                await self._error_event(writer, err)
                return
            self._opened = opened
            if self._cancelled:
                opened.abort()
                ctx.status, outcome = "cancelled", Outcome(cancelled=True)
                return
            self._prepare_cost(opened)
            headers = [(k.encode(), v.encode()) for k, v in self._route_headers().items()]
            async with writer.lock:
                await writer.commit(headers)
            outcome = await self._pump(writer, opened)
        finally:
            for task in tasks:
                task.cancel()
            if self._opening is not None and not self._opening.done():
                self._opening.cancel()
            await self._settle(lease, outcome)

    async def _pump(self, writer: SSEWriter, opened: OpenedStream) -> Outcome:
        ctx = self._ctx
        try:
            await self._deliver(writer, opened.first)
            async for batch in opened.batches():
                if self._cancelled:
                    break
                await self._deliver(writer, batch)
            if not self._cancelled:
                tail = [c for f in self._filters for c in f.flush()]
                held = self._buffer.flush() if self._buffer is not None else None
                async with writer.lock:
                    for c in ([held] if held is not None else []) + tail:
                        await writer.event(self._encode(c))
                    await writer.event(self._frame_done())
                    await writer.end()
        except GatewayError as err:
            if not self._cancelled:
                # After the first byte there is no failover: one terminal error event, no
                # [DONE], and the ledger says partial.
                ctx.status, ctx.error_code = "partial", err.code
                if isinstance(err, StreamCostExceeded):
                    opened.abort()
                await self._error_event(writer, err)
                return Outcome(error=err)
        if self._cancelled:
            ctx.status = "cancelled"
            return Outcome(cancelled=True)
        return Outcome()

    async def _error_event(self, writer: SSEWriter, err: GatewayError) -> None:
        async with writer.lock:
            await writer.event(self._frame_error(err))
            await writer.end()

    # -- wire format (overridden per inbound format) ----------------------------------------
    def _frame_chunk(self, chunk: ChatChunk) -> bytes:
        return _frame(msgspec.json.encode(chunk))

    def _frame_done(self) -> bytes:
        return DONE

    def _frame_error(self, err: GatewayError) -> bytes:
        return _frame(msgspec.json.encode(
            client_envelope(err, self._gw.redactor, self._ctx.request_id)))

    def _render_error(self, err: GatewayError) -> Response:
        return self._gw.render_error(err, self._ctx)

    # -- framing --------------------------------------------------------------------------
    async def _deliver(self, writer: SSEWriter, chunks: Sequence[ChatChunk]) -> None:
        """Frame what one upstream read carried and send it in one write (the mock upstream's
        22 events in one read cost 22 sends before). Past the cost ceiling, what was framed
        before the exceeding chunk still goes out, then StreamCostExceeded."""
        frames: list[bytes] = []
        try:
            for chunk in chunks:
                self._frame_into(chunk, frames)
        finally:
            if frames:
                data = frames[0] if len(frames) == 1 else b"".join(frames)
                if self._buffer is None:
                    await writer.event(data)
                else:
                    async with writer.lock:   # the ticker also sends held text
                        await writer.event(data)

    def _frame_into(self, chunk: ChatChunk, frames: list[bytes]) -> None:
        ctx = self._ctx
        if chunk.usage is not None and not chunk.choices:
            ctx.usage = chunk.usage
            if not self._include_usage:
                return
            chunks = [chunk]
        elif not self._filters and self._buffer is None:
            chunks = [chunk]          # the common case: no filter, no buffer
        else:
            chunks = [chunk]
            for f in self._filters:
                chunks = [out for c in chunks for out in f.feed(c)]
            if self._buffer is not None:
                now = self._gw.clock.monotonic()
                chunks = [out for c in chunks for out in self._buffer.push(c, now)]
        for c in chunks:
            frames.append(self._encode(c))
        limit = self._opts.max_cost_micros
        if chunks and limit is not None and self._running_cost() > limit:
            raise StreamCostExceeded(
                f"the stream was ended because its cost passed the ceiling of "
                f"{limit / 1_000_000:.6f} USD", param="x-portico-max-stream-cost")

    def _encode(self, chunk: ChatChunk) -> bytes:
        ctx = self._ctx
        counting = self._opts.max_cost_micros is not None
        for choice in chunk.choices:
            d = choice.delta
            text = d.content
            if d.tool_calls:
                text = (text or "") + "".join(
                    t.function.arguments or "" for t in d.tool_calls if t.function)
            if text:
                if ctx.ttft_ms is None:
                    ctx.ttft_ms = int((self._gw.clock.monotonic() - ctx.started) * 1000)
                ctx.delivered_text_chars += len(text)
                self._delivered.append(text)
                if counting:
                    self._out_tokens += self._count(text)
        return self._frame_chunk(chunk)

    # -- money and usage ------------------------------------------------------------------
    def _count(self, text: str) -> int:
        target = self._ctx.target
        return self._gw.tokens.count_text(target.model if target else self._req.model, text)

    def _prepare_cost(self, opened: OpenedStream) -> None:
        if self._opts.max_cost_micros is None:
            return
        target = opened.target
        price = self._gw.prices.lookup(target.provider.name, target.model, self._ctx.ts_ms)
        if price is None:
            log.warning("no price for %s/%s: stream cost ceiling not enforced for %s",
                        target.provider.name, target.model, self._ctx.request_id)
            self._opts = StreamOptions(self._opts.keepalive, None, self._opts.sentence_hold)
            return
        self._price = price
        prompt = self._gw.estimate_prompt_tokens(self._ctx, self._req)
        self._prompt_cost = self._gw.prices.cost(price, UsageCounts(prompt, 0))

    def _running_cost(self) -> int:
        price = self._price
        if price is None:
            return 0
        return self._prompt_cost + self._gw.prices.cost(
            price, UsageCounts(0, self._out_tokens))

    async def _settle(self, lease: Lease | None, outcome: Outcome) -> None:
        ctx = self._ctx
        opened = self._opened
        try:
            if opened is not None:
                await opened.aclose()
            if ctx.usage is None and opened is not None:
                ctx.usage = self._estimate()
                ctx.usage_estimated = True
            if lease is not None:
                await lease.settle(ctx.usage, opened.headers if opened is not None else None)
        finally:
            await self._gw.finalize(ctx, outcome)

    def _estimate(self) -> Usage:
        """Tokens delivered, counted with the gateway's tokenizer (flagged as an estimate)."""
        out = self._count("".join(self._delivered)) if self._delivered else 0
        prompt = self._gw.estimate_prompt_tokens(self._ctx, self._req)
        return Usage(prompt_tokens=prompt, completion_tokens=out, total_tokens=prompt + out)
