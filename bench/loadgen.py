"""Load generator: a raw asyncio HTTP/1.1 keep-alive client on uvloop (one connection per
concurrent user, precomputed request bytes) that times the first body chunk and the whole
response. Closed loop (fixed concurrency) for the scenarios, paced (fixed rate) for the soak."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

CHAT = (b'{"model":"%s","messages":[{"role":"system","content":"You are terse."},'
        b'{"role":"user","content":"Say hello in exactly twenty small words, please."}],'
        b'"max_tokens":64%s}')
STREAM_EXTRA = b',"stream":true,"stream_options":{"include_usage":true}'


def chat_request(host: str, port: int, path: str, model: str, token: str, stream: bool) -> bytes:
    body = CHAT % (model.encode(), STREAM_EXTRA if stream else b"")
    return (b"POST %s HTTP/1.1\r\nhost: %s:%d\r\nauthorization: Bearer %s\r\n"
            b"content-type: application/json\r\ncontent-length: %d\r\n\r\n"
            % (path.encode(), host.encode(), port, token.encode(), len(body))) + body


class _Client(asyncio.Protocol):
    """One keep-alive connection; `request()` resolves to (status, t_first_ns, t_end_ns, tail)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self._waiter: asyncio.Future[tuple[int, int, int, bytes]] | None = None
        self._buf = bytearray()
        self._reset()
        self.lost = asyncio.get_running_loop().create_future()

    def _reset(self) -> None:
        self._status = 0
        self._in_body = False
        self._length = -1      # -1 means chunked
        self._chunk_left = 0
        self._first = 0
        self._tail = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, only duck-compatible.
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(ConnectionError("connection lost"))
        if not self.lost.done():
            self.lost.set_result(None)

    def request(self, raw: bytes) -> asyncio.Future[tuple[int, int, int, bytes]]:
        assert self.transport is not None
        self._waiter = asyncio.get_running_loop().create_future()
        self._reset()
        self.transport.write(raw)
        return self._waiter

    def data_received(self, data: bytes) -> None:
        self._buf += data
        if not self._in_body:
            end = self._buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self._buf[:end]).lower()
            del self._buf[:end + 4]
            self._status = int(head[9:12])
            at = head.find(b"\r\ncontent-length:")
            if at >= 0:
                stop = head.find(b"\r\n", at + 2)
                self._length = int(head[at + 17: stop if stop >= 0 else len(head)])
            self._in_body = True
        if self._buf and not self._first:
            self._first = time.perf_counter_ns()
        if self._length >= 0:
            if len(self._buf) >= self._length:
                self._finish(bytes(self._buf[:self._length]), self._length)
            return
        self._parse_chunks()

    def _parse_chunks(self) -> None:
        buf = self._buf
        pos = 0
        while True:
            if self._chunk_left:    # data bytes plus the CRLF that ends the chunk
                take = min(self._chunk_left, len(buf) - pos)
                if take <= 0:
                    break
                self._tail = (self._tail + bytes(buf[pos:pos + take]))[-64:]
                pos += take
                self._chunk_left -= take
                continue
            nl = buf.find(b"\r\n", pos)
            if nl < 0:
                break
            size = int(bytes(buf[pos:nl]).split(b";")[0], 16)
            if size == 0:
                if len(buf) < nl + 4:
                    break
                del buf[:nl + 4]
                self._finish(self._tail, 0)
                return
            pos = nl + 2
            self._chunk_left = size + 2
        del buf[:pos]

    def _finish(self, tail: bytes, length: int) -> None:
        if length:
            del self._buf[:length]
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result((self._status, self._first, time.perf_counter_ns(), tail[-64:]))


@dataclass
class Sample:
    """Latencies in microseconds of one measured window."""

    seconds: float
    total_us: list[int] = field(default_factory=list)
    first_us: list[int] = field(default_factory=list)
    errors: int = 0
    first_error: str = ""
    cpu_s: float = float("nan")     # CPU seconds the probed process spent in the window
    wait_s: float = float("nan")    # seconds its threads waited for a CPU in the window

    @property
    def count(self) -> int:
        return len(self.total_us)

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0


def percentile(values: list[int], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, int(q * len(ordered)))])


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _ok(status: int, tail: bytes, stream: bool) -> bool:
    return status == 200 and (not stream or b"[DONE]" in tail)


async def _connect(host: str, port: int) -> _Client:
    loop = asyncio.get_running_loop()
    _, proto = await loop.create_connection(_Client, host, port)
    return proto


async def _probe_window(sample: Sample, probe: Callable[[], tuple[float, float]],
                        t_measure: int, t_stop: int) -> None:
    await asyncio.sleep(max(0, t_measure - time.perf_counter_ns()) / 1e9)
    cpu, wait = probe()
    await asyncio.sleep(max(0, t_stop - time.perf_counter_ns()) / 1e9)
    cpu2, wait2 = probe()
    sample.cpu_s, sample.wait_s = cpu2 - cpu, wait2 - wait


async def closed_loop(host: str, port: int, raw: bytes, concurrency: int, warmup: float,
                      seconds: float, stream: bool,
                      probe: Callable[[], tuple[float, float]] | None = None) -> Sample:
    """`concurrency` users, each sending the next request when the last one finished; only
    requests sent and finished inside the window after `warmup` are counted."""
    clients = [await _connect(host, port) for _ in range(concurrency)]
    start = time.perf_counter_ns()
    t_measure = start + int(warmup * 1e9)
    t_stop = t_measure + int(seconds * 1e9)
    sample = Sample(seconds=seconds)
    window = asyncio.create_task(_probe_window(sample, probe, t_measure, t_stop)) \
        if probe is not None else None

    async def user(c: _Client) -> None:
        while True:
            sent = time.perf_counter_ns()
            if sent >= t_stop:
                return
            try:
                status, first, end, tail = await asyncio.wait_for(c.request(raw), 30)
            except (ConnectionError, TimeoutError) as exc:
                sample.errors += 1
                sample.first_error = sample.first_error or repr(exc)
                c = await _connect(host, port)
                continue
            if sent < t_measure or end > t_stop:
                continue
            if not _ok(status, tail, stream):
                sample.errors += 1
                sample.first_error = sample.first_error or f"status {status} tail {tail!r}"
                continue
            sample.total_us.append((end - sent) // 1000)
            if stream:
                sample.first_us.append((first - sent) // 1000)

    await asyncio.gather(*(user(c) for c in clients))
    if window is not None:
        await window
    for c in clients:
        if c.transport is not None:
            c.transport.close()
    return sample


async def paced(host: str, port: int, raws: tuple[bytes, ...], rate: float, seconds: float,
                connections: int, streams: tuple[bool, ...]) -> Sample:
    """A steady `rate` of requests over `connections` connections (round-robin over `raws`);
    a connection that falls behind sends at once rather than skipping (bounded by `seconds`)."""
    clients = [await _connect(host, port) for _ in range(connections)]
    interval = connections / rate
    t0 = time.perf_counter()
    sample = Sample(seconds=seconds)

    async def user(i: int, c: _Client) -> None:
        k = 0
        while True:
            due = t0 + (i / connections + k) * interval
            if due - t0 >= seconds:
                return
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            which = (i + k) % len(raws)
            k += 1
            sent = time.perf_counter_ns()
            try:
                status, _first, end, tail = await asyncio.wait_for(c.request(raws[which]),
                                                                   30)
            except (ConnectionError, TimeoutError) as exc:
                sample.errors += 1
                sample.first_error = sample.first_error or repr(exc)
                c = await _connect(host, port)
                continue
            if not _ok(status, tail, streams[which]):
                sample.errors += 1
                sample.first_error = sample.first_error or f"status {status} tail {tail!r}"
                continue
            sample.total_us.append((end - sent) // 1000)

    await asyncio.gather(*(user(i, c) for i, c in enumerate(clients)))
    for c in clients:
        if c.transport is not None:
            c.transport.close()
    return sample
