"""The Redis limiter's pipelined connection: settles are posted without a round trip yet seen by
the next call, a flushed script cache or a dropped connection heals, a dead Redis never fails a
settle, and the reply parser copes with replies split anywhere."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis_asyncio

from portico.limits import Amounts, Denied, LimitKey, LimitKind, LimitRule, RedisLimiter
from portico.limits._redis_pipe import ReplyError, _Parser

from .conftest import REDIS_URL, FakeClock, purge

CONC = LimitRule(LimitKey("upstream:openai:k1", LimitKind.CONCURRENCY), 1, lease_seconds=30)
RPM = LimitRule(LimitKey("upstream:openai:k1", LimitKind.REQUESTS_PER_MINUTE), 100)
ONE = Amounts(requests=1, concurrency=1)


@pytest.fixture
async def redis_limiter(clock: FakeClock, prefix: str) -> AsyncIterator[RedisLimiter]:
    limiter = RedisLimiter.from_url(REDIS_URL, prefix=prefix, timeout_ms=5000, clock=clock)
    try:
        yield limiter
    finally:
        await limiter.aclose()
        await purge(prefix)


async def test_posted_settle_is_seen_by_the_next_reserve(redis_limiter: RedisLimiter) -> None:
    for _ in range(20):   # one slot: each reserve needs the previous settle applied first
        r = await redis_limiter.reserve([CONC, RPM], ONE)
        assert not isinstance(r, Denied)
        await r.settle(Amounts(requests=1))
    assert await redis_limiter.usage(RPM) == 0.2


async def test_concurrent_reserves_share_one_connection(redis_limiter: RedisLimiter) -> None:
    results = await asyncio.gather(*(redis_limiter.reserve([RPM], ONE) for _ in range(150)))
    assert sum(not isinstance(r, Denied) for r in results) == 100


async def test_script_flush_and_dropped_connection_heal(redis_limiter: RedisLimiter) -> None:
    r = await redis_limiter.reserve([CONC], ONE)
    assert not isinstance(r, Denied)
    admin = redis_asyncio.Redis.from_url(REDIS_URL)
    try:
        await admin.script_flush()
    finally:
        await admin.aclose()
    await r.release()      # EVALSHA answers NOSCRIPT; the post retries it as EVAL
    again = await redis_limiter.reserve([CONC], ONE)
    assert not isinstance(again, Denied)
    redis_limiter._pipe.reset()   # as if Redis restarted: the next call reconnects
    await again.release()         # posted while disconnected: sent once reconnected
    third = await redis_limiter.reserve([CONC], ONE)
    assert not isinstance(third, Denied)


async def test_settle_on_a_dead_redis_does_not_raise(clock: FakeClock, prefix: str,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    live = RedisLimiter.from_url(REDIS_URL, prefix=prefix, timeout_ms=5000, clock=clock)
    try:
        r = await live.reserve([CONC], ONE)
        assert not isinstance(r, Denied)
        live._pipe._port, live._pipe._host = 1, "127.0.0.1"   # Redis "moved away"
        live._pipe.reset()
        with caplog.at_level(logging.WARNING, logger="portico.limits.redis"):
            await r.settle(Amounts(requests=1))
            await live.aclose()
        assert "leases expire by TTL" in caplog.text
    finally:
        await purge(prefix)


def test_parser_handles_replies_split_anywhere() -> None:
    wire = (b"*4\r\n:0\r\n:2\r\n$3\r\n1.5\r\n$1\r\nx\r\n"
            b"-NOSCRIPT No matching script\r\n$-1\r\n+OK\r\n")
    for cut in range(len(wire)):
        parser = _Parser()
        got = []
        for part in (wire[:cut], wire[cut:]):
            parser.feed(part)
            while True:
                complete, value = parser.next()
                if not complete:
                    break
                got.append(value)
        assert got[0] == [0, 2, b"1.5", b"x"]
        assert isinstance(got[1], ReplyError) and got[1].noscript
        assert got[2:] == [None, b"OK"]
