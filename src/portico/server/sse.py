"""SSE on raw ASGI: headers sent once (possibly before the first token is known), one body
message per upstream read (the events that arrived together, flushed at once), keepalive
comments while silent, prompt notice of a client disconnect, and the opt-in sentence buffer
that coalesces deltas to sentence ends."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable

from starlette.types import Receive, Send

from portico.schema.stream import ChatChunk, ChunkChoice, Delta

KEEPALIVE = b": keepalive\n\n"
DONE = b"data: [DONE]\n\n"
SSE_HEADERS = (
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
    (b"connection", b"keep-alive"),
)
# Everything up to the last sentence end: terminal punctuation followed by whitespace, or a
# newline (greedy, so one match finds the last boundary).
_UP_TO_SENTENCE_END = re.compile(r"(?s).*(?:[.!?\u3002\uff01\uff1f\u2026](?=\s)|\n)")


class SentenceBuffer:
    """Holds content deltas until a sentence ends; nothing waits longer than `max_hold`.

    Only plain content deltas of choice 0 are held; any other chunk (role, tool calls, finish,
    several choices) first releases what is held, then passes unchanged, so order is kept."""

    __slots__ = ("_held", "_since", "_template", "max_hold")

    def __init__(self, max_hold: float) -> None:
        self.max_hold = max_hold
        self._held = ""
        self._since = 0.0
        self._template: ChatChunk | None = None

    def push(self, chunk: ChatChunk, now: float) -> list[ChatChunk]:
        choices = chunk.choices
        if len(choices) == 1 and chunk.usage is None:
            c = choices[0]
            d = c.delta
            if (c.index == 0 and d.content and d.role is None and d.tool_calls is None
                    and d.refusal is None and c.finish_reason is None and c.logprobs is None):
                if not self._held:
                    self._since = now
                self._held += d.content
                self._template = chunk
                return self._release_sentences(now)
        held = self.flush()
        return [held, chunk] if held is not None else [chunk]

    def _release_sentences(self, now: float) -> list[ChatChunk]:
        last = _UP_TO_SENTENCE_END.match(self._held)
        if last is None:
            if now - self._since >= self.max_hold:
                held = self.flush()
                return [held] if held is not None else []
            return []
        cut = last.end()
        out, self._held = self._held[:cut], self._held[cut:]
        self._since = now
        return [self._chunk(out)]

    def due_in(self, now: float) -> float:
        """Seconds until held text must go (the full hold time when nothing is held)."""
        if not self._held:
            return self.max_hold
        return self._since + self.max_hold - now

    def take_due(self, now: float) -> ChatChunk | None:
        if self._held and self._since + self.max_hold - now <= 0:
            return self.flush()
        return None

    def flush(self) -> ChatChunk | None:
        if not self._held:
            return None
        out, self._held = self._held, ""
        return self._chunk(out)

    def _chunk(self, text: str) -> ChatChunk:
        t = self._template
        assert t is not None
        return ChatChunk(id=t.id, created=t.created, model=t.model,
                         choices=[ChunkChoice(index=0, delta=Delta(content=text))],
                         system_fingerprint=t.system_fingerprint, service_tier=t.service_tier)


class SSEWriter:
    """Owns `send` for one SSE response. `lock` orders the main loop's sends against the
    ticker's (keepalives, held text); each send is one whole event or comment."""

    __slots__ = ("_keepalive", "_on_disconnect", "_send", "committed", "disconnected",
                 "last_send", "lock")

    def __init__(self, send: Send, keepalive: float, on_disconnect: Callable[[], None]) -> None:
        self._send = send
        self._keepalive = keepalive
        self._on_disconnect = on_disconnect
        self.committed = False
        self.disconnected = False
        self.last_send = time.monotonic()
        self.lock = asyncio.Lock()

    async def commit(self, headers: list[tuple[bytes, bytes]]) -> None:
        """Send status 200 and the SSE headers (once; later calls do nothing)."""
        if self.committed:
            return
        self.committed = True
        await self._send({"type": "http.response.start", "status": 200,
                          "headers": [*SSE_HEADERS, *headers]})

    async def event(self, data: bytes) -> None:
        if self.disconnected:
            return
        self.last_send = time.monotonic()
        try:
            await self._send({"type": "http.response.body", "body": data, "more_body": True})
        except OSError:
            self.gone()

    async def end(self) -> None:
        if not self.disconnected:
            try:
                await self._send({"type": "http.response.body", "body": b"",
                                  "more_body": False})
            except OSError:
                self.gone()

    def gone(self) -> None:
        if not self.disconnected:
            self.disconnected = True
            self._on_disconnect()

    async def watch(self, receive: Receive) -> None:
        """Task body: waits for `http.disconnect` (the request body was already read)."""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.gone()
                return

    async def tick(self, early_headers: list[tuple[bytes, bytes]],
                   buffer: SentenceBuffer | None, encode: Callable[[ChatChunk], bytes]) -> None:
        """Task body: keepalive comments after `keepalive` seconds of silence (committing the
        headers first if the first token is still pending) and held text past its hold time."""
        keepalive = self._keepalive
        while not self.disconnected:
            now = time.monotonic()
            wait = keepalive - (now - self.last_send) if keepalive > 0 else 3600.0
            if buffer is not None:
                wait = min(wait, buffer.due_in(now))
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            async with self.lock:
                held = buffer.take_due(now) if buffer is not None else None
                if held is not None:
                    await self.event(encode(held))
                elif keepalive > 0 and time.monotonic() - self.last_send >= keepalive:
                    await self.commit(early_headers)
                    await self.event(KEEPALIVE)
