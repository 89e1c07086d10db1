"""Shared builders for the Gemini dialect tests: target, fixtures, stream feeding, assembly."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import msgspec

from portico.adapters._sse import SSEDecoder
from portico.adapters.base import (
    AuthScheme,
    DataPolicy,
    ProviderSpec,
    Target,
    UpstreamResponse,
)
from portico.adapters.dialects.gemini import GeminiDialect
from portico.schema.chat import ChatRequest
from portico.schema.stream import ChatChunk
from portico.secret import Secret

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "gemini"
BASE = "https://generativelanguage.googleapis.com/v1beta"
NOW = 1_760_000_000

SPEC = ProviderSpec(
    name="gemini-test",
    dialect="gemini",
    base_url=BASE,
    auth=AuthScheme.GOOGLE_API_KEY,
    data_policy=DataPolicy(retention_days=55, trains_on_data=False,
                           zero_retention_available=False),
)
TARGET = Target(deployment="gemini-flash", provider=SPEC, model="gemini-2.5-flash",
                base_url=BASE, api_key=Secret("AIzaTESTKEYtestkeyTESTKEY0123"), key_id="k1")


def dialect() -> GeminiDialect:
    return GeminiDialect(clock=lambda: float(NOW))


def fixture(name: str) -> bytes:
    # A missing fixture raises (fails the test); it never skips.
    return (FIXTURES / name).read_bytes()


def ok(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> UpstreamResponse:
    return UpstreamResponse(status=status, headers=headers or {}, body=body)


def chat(**kw: object) -> ChatRequest:
    base: dict[str, object] = {"model": "g", "messages": [{"role": "user", "content": "hi"}]}
    base.update(kw)
    return msgspec.convert(base, ChatRequest)


def run_stream(pieces: Iterable[bytes], req: ChatRequest | None = None) -> list[ChatChunk]:
    """Feed raw SSE bytes in the given pieces through SSEDecoder and the Gemini decoder."""
    sse = SSEDecoder()
    decoder = dialect().open_stream(TARGET, req or chat(stream=True))
    out: list[ChatChunk] = []
    for piece in pieces:
        for event in sse.feed(piece):
            out.extend(decoder.feed(event))
    for event in sse.flush():
        out.extend(decoder.feed(event))
    assert decoder.done
    out.extend(decoder.finish())
    return out


def assemble(chunks: list[ChatChunk]) -> dict[str, object]:
    """The non-streamed shape a client would rebuild from chunks (for stream == non-stream)."""
    choices: dict[int, dict[str, object]] = {}
    usage = None
    for ch in chunks:
        if ch.usage is not None:
            usage = msgspec.to_builtins(ch.usage)
        for c in ch.choices:
            st = choices.setdefault(c.index, {"content": "", "tool_calls": {}, "finish": None})
            st["content"] = str(st["content"]) + (c.delta.content or "")
            calls = st["tool_calls"]
            assert isinstance(calls, dict)
            for tc in c.delta.tool_calls or ():
                assert tc.function is not None
                calls[tc.index] = (tc.id, tc.function.name, tc.function.arguments)
            if c.finish_reason is not None:
                st["finish"] = c.finish_reason
    return {"id": chunks[0].id, "model": chunks[0].model, "choices": choices, "usage": usage}
