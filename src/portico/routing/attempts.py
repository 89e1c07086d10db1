"""One upstream attempt, non-streaming or streaming: translate, send, decode, map errors.

A stream attempt reads until the first chunk that carries content (the first byte the client
would see); failures before that are ordinary attempt failures the executor can retry.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass

import msgspec

from portico.adapters._sse import SSEDecoder
from portico.adapters.base import (
    Dialect,
    EmbeddingDialect,
    StreamDecoder,
    Target,
    UpstreamRequest,
    UpstreamResponse,
)
from portico.errors import (
    GatewayError,
    InvalidRequest,
    UpstreamBadResponse,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from portico.schema.chat import ChatRequest
from portico.schema.embeddings import EmbeddingRequest, EmbeddingResponse
from portico.schema.response import ChatResponse
from portico.schema.stream import ChatChunk
from portico.upstream.client import StreamResponse, Timeouts, UpstreamClient


@dataclass(slots=True)
class Completed:
    response: ChatResponse
    headers: Mapping[str, str]


def meaningful(chunk: ChatChunk) -> bool:
    """Whether a chunk carries something the client would act on (not just the role)."""
    if chunk.usage is not None:
        return True
    for c in chunk.choices:
        d = c.delta
        if d.content or d.tool_calls or d.refusal or c.finish_reason:
            return True
    return False


class OpenedStream:
    """An upstream stream past its first meaningful chunk; iterate `rest()` for the remainder."""

    def __init__(self, target: Target, first: list[ChatChunk], resp: StreamResponse,
                 body: AsyncIterator[bytes], sse: SSEDecoder, decoder: StreamDecoder,
                 stack: AsyncExitStack, *, finished: bool = False) -> None:
        self.target = target
        self._finished = finished
        self.first = first
        self.headers = resp.headers
        self._resp = resp
        self._body = body
        self._sse = sse
        self._decoder = decoder
        self._stack = stack

    async def rest(self) -> AsyncIterator[ChatChunk]:
        async for batch in self.batches():
            for chunk in batch:
                yield chunk

    async def batches(self) -> AsyncIterator[list[ChatChunk]]:
        """The remainder, one list per upstream read (never empty): events that arrived
        together can leave together."""
        if not self._finished:
            decoder = self._decoder
            async for data in self._body:
                out = [c for event in self._sse.feed(data) for c in decoder.feed(event)]
                if out:
                    yield out
            tail = [c for event in self._sse.flush() for c in decoder.feed(event)]
            tail.extend(decoder.finish())
            if tail:
                yield tail
        if not self._decoder.done:
            raise UpstreamBadResponse("the upstream ended the stream before it was complete",
                                      code="upstream_stream_interrupted")

    def abort(self) -> None:
        """Close the upstream connection now (client gone, cost cut-off)."""
        self._resp.close()

    async def aclose(self) -> None:
        await self._stack.aclose()


def map_error(dialect: Dialect, resp: UpstreamResponse, target: Target) -> GatewayError:
    """The dialect's typed error; a 5xx that is not an API body (an HTML page from a proxy,
    garbage) becomes a bad response (502): the deployment is broken, not merely busy."""
    err = dialect.map_error(resp, target)
    if isinstance(err, UpstreamUnavailable) and not _api_body(resp):
        return UpstreamBadResponse(err.message, upstream_status=resp.status)
    return err


def _api_body(resp: UpstreamResponse) -> bool:
    if "html" in resp.headers.get("content-type", ""):
        return False
    head = resp.body[:64].lstrip()
    return not head or head[:1] in (b"{", b"[")


class Dispatcher:
    def __init__(self, client: UpstreamClient, dialects: Mapping[str, Dialect]) -> None:
        self._client = client
        self._dialects = dialects

    def _label(self, target: Target) -> str:
        return f"provider {target.provider.name}"

    @staticmethod
    def _extra(request_id: str) -> tuple[tuple[str, str], ...]:
        return (("x-portico-request-id", request_id),)

    async def complete(self, request_id: str, target: Target, timeouts: Timeouts,
                       req: ChatRequest) -> Completed:
        dialect = self._dialects[target.provider.dialect]
        upstream = dialect.translate_request(req, target)
        resp = await self._client.send(upstream, timeouts, self._label(target),
                                       self._extra(request_id))
        if resp.status >= 300:
            raise map_error(dialect, resp, target)
        return Completed(dialect.parse_response(resp, target, req), resp.headers)

    async def embed(self, request_id: str, target: Target, timeouts: Timeouts,
                    req: EmbeddingRequest) -> EmbeddingResponse:
        dialect = self._dialects[target.provider.dialect]
        if not isinstance(dialect, EmbeddingDialect) or not target.provider.supports_embeddings:
            raise InvalidRequest(f"provider {target.provider.name} does not serve embeddings",
                                 param="model")
        upstream = dialect.translate_embeddings(req, target)
        resp = await self._client.send(upstream, timeouts, self._label(target),
                                       self._extra(request_id))
        if resp.status >= 300:
            raise map_error(dialect, resp, target)
        return dialect.parse_embeddings(resp, target, req)

    async def open_stream(self, request_id: str, target: Target, timeouts: Timeouts,
                          req: ChatRequest) -> OpenedStream:
        dialect = self._dialects[target.provider.dialect]
        streaming = req if req.stream else msgspec.structs.replace(req, stream=True)
        upstream = dialect.translate_request(streaming, target)
        stack = AsyncExitStack()
        try:
            # Time to first token covers headers and every byte up to the first content chunk:
            # an upstream that sends a role chunk and then stalls still times out here.
            async with asyncio.timeout(timeouts.first_byte):
                return await self._open(dialect, target, timeouts, request_id, streaming,
                                        upstream, stack)
        except TimeoutError as exc:
            await stack.aclose()
            raise UpstreamTimeout(f"{self._label(target)} sent no first token within "
                                  f"{timeouts.first_byte:g}s",
                                  code="upstream_first_token_timeout") from exc
        except BaseException:
            await stack.aclose()
            raise

    async def _open(self, dialect: Dialect, target: Target, timeouts: Timeouts, request_id: str,
                    req: ChatRequest, upstream: UpstreamRequest, stack: AsyncExitStack
                    ) -> OpenedStream:
        resp = await stack.enter_async_context(
            self._client.stream(upstream, timeouts, self._label(target),
                                self._extra(request_id)))
        if resp.status >= 300:
            body = await resp.read_all()
            raise map_error(dialect, UpstreamResponse(status=resp.status, headers=resp.headers,
                                                      body=body), target)
        decoder = dialect.open_stream(target, req)
        sse = SSEDecoder()
        body_iter = resp.chunks()
        first: list[ChatChunk] = []
        async for data in body_iter:
            for event in sse.feed(data):
                first.extend(decoder.feed(event))
            if any(meaningful(c) for c in first):
                resp.mark_content()
                return OpenedStream(target, first, resp, body_iter, sse, decoder, stack)
        for event in sse.flush():
            first.extend(decoder.feed(event))
        first.extend(decoder.finish())
        if not any(meaningful(c) for c in first):
            raise UpstreamBadResponse("the upstream closed the stream before any content",
                                      code="upstream_stream_interrupted")
        return OpenedStream(target, first, resp, _empty(), sse, decoder, stack, finished=True)


async def _empty() -> AsyncIterator[bytes]:
    return
    yield b""  # pragma: no cover - makes this an async generator
