"""An SSE response: flushed per event, keepalive comments while the upstream is silent, and
prompt notice of a client disconnect so the upstream can be aborted at once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

KEEPALIVE = b": keepalive\n\n"
SSE_HEADERS = (
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
    (b"connection", b"keep-alive"),
)


class SSEResponse(Response):
    """Sends `events` (already framed bytes); calls `on_disconnect` when the client leaves."""

    def __init__(self, events: AsyncIterator[bytes], headers: list[tuple[bytes, bytes]],
                 keepalive: float, on_disconnect: Callable[[], None]) -> None:
        super().__init__(status_code=200)
        self._events = events
        self._extra_headers = headers
        self._keepalive = keepalive
        self._on_disconnect = on_disconnect
        self._last_send = 0.0
        self.disconnected = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [*SSE_HEADERS, *self._extra_headers]})
        self._last_send = time.monotonic()
        watcher = asyncio.create_task(self._watch(receive))
        pinger = asyncio.create_task(self._ping(send)) if self._keepalive > 0 else None
        try:
            async for event in self._events:
                if self.disconnected:
                    break
                await self._send(send, event)
            if not self.disconnected:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:
            self._gone()
        finally:
            watcher.cancel()
            if pinger is not None:
                pinger.cancel()
            aclose = getattr(self._events, "aclose", None)
            if aclose is not None:
                await aclose()

    async def _send(self, send: Send, body: bytes) -> None:
        self._last_send = time.monotonic()
        message: Message = {"type": "http.response.body", "body": body, "more_body": True}
        await send(message)

    async def _watch(self, receive: Receive) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self._gone()
                return

    def _gone(self) -> None:
        if not self.disconnected:
            self.disconnected = True
            self._on_disconnect()

    async def _ping(self, send: Send) -> None:
        # Each send is one whole message, so a comment can never land inside an event.
        try:
            while not self.disconnected:
                wait = self._keepalive - (time.monotonic() - self._last_send)
                if wait > 0:
                    await asyncio.sleep(wait)
                    continue
                await self._send(send, KEEPALIVE)
        except OSError:
            self._gone()
