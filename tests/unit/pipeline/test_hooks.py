"""The hook protocol's defaults: a hook implements only the stages it cares about."""

from __future__ import annotations

from portico.pipeline.context import RequestContext
from portico.pipeline.hooks import BaseHook, Hook
from portico.schema.embeddings import EmbeddingRequest


async def test_base_hook_passes_embeddings_through_unchanged() -> None:
    hook: Hook = BaseHook()
    req = EmbeddingRequest(model="m", input=["a", "b"])
    ctx = RequestContext(request_id="r", started=0.0, ts_ms=0, endpoint="embeddings")
    assert await hook.before_embeddings(ctx, req) is req
