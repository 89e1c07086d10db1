"""Shared builders for the limit, budget and max_tokens hook tests (memory limiter, fake time)."""

from __future__ import annotations

from portico.pipeline.context import RequestContext
from portico.schema.chat import ChatRequest, UserMessage
from portico.schema.embeddings import EmbeddingRequest
from portico.schema.response import Usage
from portico.store.records import KeyRecord, KeySettings

T0 = 1_767_225_600.0   # 2026-01-01T00:00:00Z


def key(settings: KeySettings | None = None, team: str | None = None,
        key_id: str = "vk_1") -> KeyRecord:
    return KeyRecord(id=key_id, name="k", key_hash="h", prefix="sk-", team=team,
                     created_at_ms=0, settings=settings or KeySettings())


def ctx(rid: str, k: KeyRecord | None = None) -> RequestContext:
    return RequestContext(request_id=rid, started=0.0, ts_ms=int(T0 * 1000), key=k,
                          model_requested="m")


def request(max_tokens: int | None = None, **kw: int) -> ChatRequest:
    return ChatRequest(model="m", messages=[UserMessage(content="hello")],
                       max_tokens=max_tokens, **kw)  # type: ignore[arg-type]


def usage(prompt: int, completion: int) -> Usage:
    return Usage(prompt_tokens=prompt, completion_tokens=completion,
                 total_tokens=prompt + completion)


class Sized:
    """A fixed pre-dispatch size, as the embeddings route sets on the context."""

    def __init__(self, tokens: int, micros: int) -> None:
        self.tokens, self.micros = tokens, micros

    def input_tokens(self) -> int:
        return self.tokens

    def worst_case_micros(self) -> int:
        return self.micros


def embed_ctx(rid: str, k: KeyRecord | None, tokens: int, micros: int = 0) -> RequestContext:
    c = ctx(rid, k)
    c.endpoint, c.sizing = "embeddings", Sized(tokens, micros)
    return c


EMBED = EmbeddingRequest(model="m", input="hello")
