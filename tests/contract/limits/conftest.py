"""Limiter fixtures: one contract suite over the memory and the real local Redis backend."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis_asyncio

from portico.limits import Limiter, MemoryLimiter, RedisLimiter

REDIS_URL = "redis://127.0.0.1:6379/0"
T0 = 1_750_000_000.0  # 2025-06-15 UTC, mid-quarter and mid-month


class FakeClock:
    def __init__(self, t: float = T0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def prefix() -> str:
    return f"portico-test:{uuid.uuid4().hex}"


async def purge(prefix: str) -> None:
    client = redis_asyncio.Redis.from_url(REDIS_URL)
    try:
        keys = [k async for k in client.scan_iter(match=f"{prefix}*", count=1000)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture(params=["memory", "redis"])
async def limiter(request: pytest.FixtureRequest, clock: FakeClock,
                  prefix: str) -> AsyncIterator[Limiter]:
    if request.param == "memory":
        yield MemoryLimiter(clock=clock, prefix=prefix)
        return
    # Redis down means a failure here (ping raises), never a skip.
    # Generous here: the suite checks semantics on a shared, loaded machine; test_fallback checks
    # the short-timeout behaviour.
    redis = RedisLimiter.from_url(REDIS_URL, prefix=prefix, timeout_ms=5000, clock=clock)
    ping = redis_asyncio.Redis.from_url(REDIS_URL)
    assert await ping.ping()
    await ping.aclose()
    try:
        yield redis
    finally:
        await redis.aclose()
        await purge(prefix)
