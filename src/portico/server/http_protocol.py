"""uvicorn's httptools protocol with the response head and the first body bytes sent together.

uvicorn writes the status line and headers in one `transport.write` and the body in another:
two send() system calls per response, two TCP segments for the client to receive (with
TCP_NODELAY nothing merges them). Over loopback a send costs about as much CPU as everything
else the gateway does for a small request's routing. Here the head is held until the first
body write of the same event-loop turn, which a non-streamed response always makes, and sent
with it; if no body write follows in that turn (a stream waiting for its first token, a
100 Continue), the head goes out on its own at the end of the turn, so the client never waits
for it longer than before. Order is preserved: every later write goes after the held bytes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

_HEAD_END = b"\r\n\r\n"


class CoalescingTransport:
    """Delegates to `inner`; holds a write that is a complete response head (see module)."""

    __slots__ = ("_held", "_inner", "_loop")

    def __init__(self, inner: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._inner = inner
        self._loop = loop
        self._held: bytes | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        held = self._held
        if held is not None:
            self._held = None
            self._inner.write(held + data)
        elif isinstance(data, bytes) and data.startswith(b"HTTP/") and data.endswith(_HEAD_END):
            self._held = data
            self._loop.call_soon(self.flush)
        else:
            self._inner.write(data)

    def writelines(self, chunks: Iterable[bytes | bytearray | memoryview]) -> None:
        self.write(b"".join(chunks))   # through write(), so a held head keeps its place

    def flush(self) -> None:
        held = self._held
        if held is not None:
            self._held = None
            self._inner.write(held)

    def close(self) -> None:
        self.flush()
        self._inner.close()

    def is_closing(self) -> bool:
        return self._inner.is_closing()

    def __getattr__(self, name: str) -> Any:
        # Everything else (get_extra_info, pause_reading, abort, ...) is the real transport's.
        return getattr(self._inner, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """`uvicorn.Config(http=...)`: request/response cycles write through `CoalescingTransport`;
    flow control (pause/resume reading) keeps the real transport."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.transport = CoalescingTransport(transport, self.loop)  # type: ignore[assignment]
