"""The hook protocol: what a pipeline stage may do before, after and around a request.

Hooks run in a fixed order (auth is done by the route; then limits, budget, PII, policy;
audit and ledger last). `finalize` always runs, on success, error, timeout and disconnect.
Embeddings run the same hooks in the same order through `before_embeddings` (no after stage:
vectors carry nothing to unmask).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from portico.errors import GatewayError
from portico.pipeline.context import RequestContext
from portico.schema.chat import ChatRequest
from portico.schema.embeddings import EmbeddingRequest
from portico.schema.response import ChatResponse
from portico.schema.stream import ChatChunk


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a request ended, for finalize."""

    error: GatewayError | None = None
    cancelled: bool = False


class ChunkFilter(Protocol):
    """Per-request stream transformer (e.g. PII unmasking with a hold-back buffer)."""

    def feed(self, chunk: ChatChunk) -> Sequence[ChatChunk]: ...
    def flush(self) -> Sequence[ChatChunk]: ...


class Hook(Protocol):
    name: str

    async def before(self, ctx: RequestContext, req: ChatRequest) -> ChatRequest: ...
    async def before_embeddings(self, ctx: RequestContext, req: EmbeddingRequest
                                ) -> EmbeddingRequest: ...
    async def after(self, ctx: RequestContext, resp: ChatResponse) -> ChatResponse: ...
    def chunk_filter(self, ctx: RequestContext) -> ChunkFilter | None: ...
    async def finalize(self, ctx: RequestContext, outcome: Outcome) -> None: ...


class BaseHook:
    """No-op defaults so each hook implements only the stages it cares about."""

    name = "base"

    async def before(self, ctx: RequestContext, req: ChatRequest) -> ChatRequest:
        return req

    async def before_embeddings(self, ctx: RequestContext, req: EmbeddingRequest
                                ) -> EmbeddingRequest:
        return req

    async def after(self, ctx: RequestContext, resp: ChatResponse) -> ChatResponse:
        return resp

    def chunk_filter(self, ctx: RequestContext) -> ChunkFilter | None:
        return None

    async def finalize(self, ctx: RequestContext, outcome: Outcome) -> None:
        return None
