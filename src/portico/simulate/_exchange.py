"""One request/response on the raw ASGI interface, with prompt client-disconnect detection.

A watcher task consumes `receive()` once the body is read, so a disconnect is seen (and its
monotonic time recorded) while the simulator sleeps or streams. `reset` and `cut` need the
transport, which the simulator's own uvicorn protocol exposes as a scope extension.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import time
from dataclasses import dataclass, field

from starlette.types import Receive, Scope, Send

from portico.simulate.ledger import LedgerEntry

TRANSPORT_EXTENSION = "portico.sim.transport"


class AbortResponse(Exception):
    """Raised when the connection must be dropped but the server gives no transport access."""


@dataclass(slots=True)
class Exchange:
    scope: Scope
    receive: Receive
    send: Send
    entry: LedgerEntry
    _complete: bool = False
    _watch: asyncio.Task[None] | None = field(default=None)

    async def read_body(self) -> bytes:
        msg = await self.receive()
        body: bytes = msg.get("body", b"")
        if not msg.get("more_body", False):
            return body
        parts = [body]
        while msg.get("more_body", False):
            msg = await self.receive()
            if msg["type"] == "http.disconnect":
                self._mark_gone()
                break
            parts.append(msg.get("body", b""))
        return b"".join(parts)

    # -- disconnect detection -------------------------------------------------------------
    def _mark_gone(self) -> None:
        if not self._complete and not self.entry.disconnected:
            self.entry.disconnected = True
            self.entry.disconnected_at = time.monotonic()

    async def _watcher(self) -> None:
        while True:
            msg = await self.receive()
            if msg["type"] == "http.disconnect":
                self._mark_gone()
                return

    def watch(self) -> None:
        """Start watching for the client going away (call after the body is read)."""
        if self._watch is None:
            self._watch = asyncio.ensure_future(self._watcher())

    @property
    def gone(self) -> bool:
        return self.entry.disconnected

    async def pause(self, seconds: float) -> bool:
        """Sleep up to `seconds`, waking early if the client leaves; True when it has left."""
        if seconds > 0 and not self.gone:
            self.watch()
            assert self._watch is not None
            await asyncio.wait((self._watch,), timeout=seconds)
        return self.gone

    async def wait_disconnect(self) -> None:
        self.watch()
        assert self._watch is not None
        await asyncio.shield(self._watch)

    def close(self) -> None:
        if self._watch is not None and not self._watch.done():
            self._watch.cancel()

    # -- responses -----------------------------------------------------------------------
    async def respond(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        self.entry.status = status
        headers.append((b"content-length", str(len(body)).encode()))
        await self.send({"type": "http.response.start", "status": status, "headers": headers})
        self._complete = True
        await self.send({"type": "http.response.body", "body": body, "more_body": False})

    async def start(self, status: int, headers: list[tuple[bytes, bytes]]) -> None:
        self.entry.status = status
        await self.send({"type": "http.response.start", "status": status, "headers": headers})

    async def chunk(self, data: bytes) -> None:
        await self.send({"type": "http.response.body", "body": data, "more_body": True})

    async def finish(self, data: bytes = b"") -> None:
        self._complete = True
        await self.send({"type": "http.response.body", "body": data, "more_body": False})

    def _transport(self) -> asyncio.Transport | None:
        ext = self.scope.get("extensions") or {}
        holder = ext.get(TRANSPORT_EXTENSION)
        return None if holder is None else holder.get("transport")

    async def drop(self, *, reset: bool) -> None:
        """Close the connection now: with a TCP RST when `reset`, else after flushing (FIN)."""
        transport = self._transport()
        if transport is None:
            raise AbortResponse("connection dropped by a simulated fault")
        # The early close is the fault itself, not the client leaving.
        self._complete = True
        if reset:
            sock = transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()
        else:
            transport.close()
        # Let the server observe the loss so it does not report an unfinished response.
        await self.receive()
