"""One pipelined Redis connection for the limiter: commands go out in call order, coalesced into
one socket write per event-loop turn, and replies are matched first-in-first-out.

Concurrent reserves share writes; a settle is posted without waiting for its reply, and since one
connection executes in order, every later call from this process sees it (read-your-writes).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections import deque
from collections.abc import Callable
from typing import Any

from redis.connection import SSLConnection, parse_url

log = logging.getLogger("portico.limits.redis")

OnReply = Callable[["asyncio.Future[Reply]"], None]


class ReplyError(Exception):
    """An error reply (`-ERR ...`, `-NOSCRIPT ...`); the connection stays usable."""

    @property
    def noscript(self) -> bool:
        return str(self).startswith("NOSCRIPT")


# Error replies are values in the queue (one bad command must not fail the others).
Reply = int | bytes | list[Any] | ReplyError | None


def pack(*parts: bytes) -> bytes:
    """One command as RESP bytes."""
    return b"".join([b"*%d\r\n" % len(parts), *[b"$%d\r\n%s\r\n" % (len(p), p) for p in parts]])


class _Parser:
    """Incremental RESP2 reply parser (the reply types Lua scripts and AUTH/SELECT return)."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._pos = 0

    def feed(self, data: bytes) -> None:
        if self._pos:
            del self._buf[:self._pos]
            self._pos = 0
        self._buf += data

    def next(self) -> tuple[bool, Reply]:
        """(True, reply) for the next complete reply, or (False, None) until more arrives."""
        start = self._pos
        try:
            value = self._read()
        except IndexError:
            self._pos = start
            return False, None
        return True, value

    def _line(self) -> bytes:
        end = self._buf.find(b"\r\n", self._pos)
        if end < 0:
            raise IndexError("incomplete")
        line = bytes(self._buf[self._pos:end])
        self._pos = end + 2
        return line

    def _read(self) -> Reply:
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            if self._pos + n + 2 > len(self._buf):
                raise IndexError("incomplete")
            value = bytes(self._buf[self._pos:self._pos + n])
            self._pos += n + 2
            return value
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        if kind == b"+":
            return rest
        if kind == b"-":
            return ReplyError(rest.decode("utf-8", "replace"))
        raise ValueError(f"unexpected RESP reply type {kind!r}")


class _Protocol(asyncio.Protocol):
    def __init__(self, pipe: RedisPipe) -> None:
        self._pipe = pipe

    def data_received(self, data: bytes) -> None:
        self._pipe._received(self, data)

    def connection_lost(self, exc: Exception | None) -> None:
        self._pipe._lost(self, exc)


class RedisPipe:
    """The connection (opened on first use, reopened after a loss) and its reply queue."""

    def __init__(self, url: str, *, connect_timeout: float,
                 preamble: tuple[bytes, ...] = ()) -> None:
        kw = parse_url(url)  # type: ignore[no-untyped-call]  # unannotated upstream
        self._host = str(kw.get("host", "127.0.0.1"))
        self._port = int(kw.get("port", 6379))
        self._path: str | None = kw.get("path")
        self._db = int(kw.get("db", 0) or 0)
        self._username: str | None = kw.get("username")
        self._password: str | None = kw.get("password")
        self._ssl = kw.get("connection_class") is SSLConnection
        self._connect_timeout = connect_timeout
        # Sent on every new connection before anything else (the limiter's SCRIPT LOADs, so
        # EVALSHA finds its script after a Redis restart).
        self._preamble = preamble
        self._transport: asyncio.Transport | None = None
        self._protocol: _Protocol | None = None
        self._opening: asyncio.Future[None] | None = None
        self._waiting: deque[asyncio.Future[Reply]] = deque()
        self._out: list[bytes] = []
        self._flush_at: asyncio.Handle | None = None
        self._parser = _Parser()

    # -- calls ------------------------------------------------------------------------------

    async def call(self, command: bytes) -> Reply:
        """Send one packed command and wait for its reply (ReplyError raised)."""
        value = await self._enqueue(command)
        if isinstance(value, ReplyError):
            raise value
        return value

    def post(self, command: bytes, on_reply: OnReply) -> None:
        """Send without waiting; `on_reply` gets the reply's future (result or exception)."""
        self._enqueue(command).add_done_callback(on_reply)

    def _enqueue(self, command: bytes) -> asyncio.Future[Reply]:
        """Queue in call order, connected or not: commands queued while (re)connecting go out
        right after the connection's preamble, still in order."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Reply] = loop.create_future()
        self._waiting.append(fut)
        self._out.append(command)
        if self._transport is None:
            if self._opening is None:
                self._opening = asyncio.ensure_future(self._connect())
                self._opening.add_done_callback(self._opened)
        elif self._flush_at is None:
            self._flush_at = loop.call_soon(self._flush)
        return fut

    def _flush(self) -> None:
        self._flush_at = None
        if self._out and self._transport is not None:
            self._transport.write(b"".join(self._out))
            self._out.clear()

    # -- connection -------------------------------------------------------------------------

    def _opened(self, task: asyncio.Future[None]) -> None:
        if task.cancelled():
            self._drop(ConnectionError("redis connect cancelled"))
        elif (exc := task.exception()) is not None:
            self._drop(ConnectionError(f"redis unreachable: {type(exc).__name__}: {exc}"))

    async def _connect(self) -> None:
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(self._connect_timeout):
            if self._path is not None:
                transport, protocol = await loop.create_unix_connection(
                    lambda: _Protocol(self), self._path)
            else:
                transport, protocol = await loop.create_connection(
                    lambda: _Protocol(self), self._host, self._port,
                    ssl=ssl.create_default_context() if self._ssl else None)
        self._parser = _Parser()
        handshake = []
        if self._password is not None:
            creds = [self._username.encode()] if self._username else []
            handshake.append(pack(b"AUTH", *creds, self._password.encode()))
        if self._db:
            handshake.append(pack(b"SELECT", str(self._db).encode()))
        handshake += self._preamble
        futs = [loop.create_future() for _ in handshake]
        # Ahead of whatever callers queued meanwhile; replies come back in this order.
        self._waiting.extendleft(reversed(futs))
        self._out[:0] = handshake
        self._transport, self._protocol = transport, protocol
        self._opening = None
        self._flush()
        for fut in futs:
            value = await fut
            if isinstance(value, ReplyError):
                raise value

    def _received(self, protocol: _Protocol, data: bytes) -> None:
        if protocol is not self._protocol:
            return
        parser = self._parser
        parser.feed(data)
        while True:
            complete, value = parser.next()
            if not complete:
                return
            if not self._waiting:
                log.error("redis sent a reply nobody asked for; reconnecting")
                self.reset()
                return
            fut = self._waiting.popleft()
            if not fut.done():   # a caller that timed out leaves a cancelled future
                fut.set_result(value)

    def _lost(self, protocol: _Protocol, exc: Exception | None) -> None:
        if protocol is self._protocol:
            self._drop(ConnectionError(f"redis connection lost: {exc!r}"))

    def reset(self) -> None:
        """Close the connection: every pending call fails, the next one reconnects. Used after a
        timeout, since replies on this connection come back in order and one is overdue."""
        self._drop(ConnectionError("redis connection reset after a timeout"))

    def _drop(self, error: Exception) -> None:
        transport = self._transport
        self._transport = self._protocol = None
        self._opening = None
        self._out.clear()
        waiting, self._waiting = self._waiting, deque()
        for fut in waiting:
            if not fut.done():
                fut.set_exception(error)
        if transport is not None:
            transport.abort()

    async def aclose(self, drain_seconds: float = 1.0) -> None:
        """Send what is queued and wait (bounded) for outstanding replies, then close."""
        self._flush()
        pending = [f for f in self._waiting if not f.done()]
        if pending:
            await asyncio.wait(pending, timeout=drain_seconds)
        transport = self._transport
        self._transport = self._protocol = None
        self._opening = None
        if transport is not None:
            transport.close()
