"""Redis gone: typed, bounded failure, per-process shares for rates, budgets fail closed."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from portico.limits import (
    Amounts,
    Denied,
    DenyReason,
    FallbackLimiter,
    Limiter,
    LimiterUnavailable,
    LimitKey,
    LimitKind,
    LimitRule,
    MemoryLimiter,
    RedisLimiter,
    Reservation,
)

from .conftest import REDIS_URL, FakeClock, purge

DEAD_URL = "redis://127.0.0.1:1/0"  # nothing listens: stands in for Redis stopped mid-run
RPM = LimitRule(LimitKey("vkey:v1", LimitKind.REQUESTS_PER_MINUTE), 30)
BUDGET = LimitRule(LimitKey("team:t1", LimitKind.BUDGET), 1_000_000)


def dead(clock: FakeClock, prefix: str) -> RedisLimiter:
    return RedisLimiter.from_url(DEAD_URL, prefix=prefix, timeout_ms=50, clock=clock)


async def test_dead_redis_raises_typed_error_within_its_timeout(clock: FakeClock,
                                                                prefix: str) -> None:
    limiter = dead(clock, prefix)
    assert limiter.timeout == 0.05
    bound = limiter.timeout * 3 + 1.0  # the limiter's own cap, plus scheduling slack
    for call in (limiter.reserve([RPM], Amounts(requests=1)), limiter.usage(RPM),
                 limiter.correct(RPM, 3)):
        with pytest.raises(LimiterUnavailable) as info:
            await asyncio.wait_for(call, timeout=bound)
        assert info.value.status == 503
    await limiter.aclose()


async def test_fallback_serves_a_share_and_fails_budgets_closed(clock: FakeClock,
                                                                prefix: str) -> None:
    fb = FallbackLimiter(dead(clock, prefix), MemoryLimiter(clock=clock), share=1 / 3,
                         clock=clock)
    one = Amounts(requests=1)
    results = [await asyncio.wait_for(fb.reserve([RPM], one), timeout=1.0) for _ in range(12)]
    assert sum(not isinstance(r, Denied) for r in results) == 10  # 30 * 1/3
    assert fb.degraded
    d = await fb.reserve([RPM, BUDGET], Amounts(requests=1, micros=10))
    assert isinstance(d, Denied) and d.key == BUDGET.key and d.reason is DenyReason.UNAVAILABLE
    assert d.to_error().status == 429
    assert await fb.usage(RPM) == 1.0


async def test_fallback_budget_fail_open(clock: FakeClock, prefix: str) -> None:
    fb = FallbackLimiter(dead(clock, prefix), MemoryLimiter(clock=clock), share=0.5,
                         budget_fail_open=True, clock=clock)
    r = await fb.reserve([RPM, BUDGET], Amounts(requests=1, micros=10))
    assert isinstance(r, Reservation)
    await r.settle(Amounts(requests=1, micros=5))


class _Switch:
    """A primary that is the real Redis until `down` is set (Redis stopping mid-run)."""

    def __init__(self, up: Limiter, gone: Limiter) -> None:
        self.up, self.gone, self.down = up, gone, False

    async def reserve(self, rules: Sequence[LimitRule], amounts: Amounts, *,
                      now: float | None = None) -> Reservation | Denied:
        return await (self.gone if self.down else self.up).reserve(rules, amounts, now=now)

    async def reserve_groups(self, groups: Sequence[tuple[Sequence[LimitRule], Amounts]], *,
                             now: float | None = None) -> Sequence[Reservation] | Denied:
        return await (self.gone if self.down else self.up).reserve_groups(groups, now=now)

    async def usage(self, rule: LimitRule, *, now: float | None = None) -> float:
        return await (self.gone if self.down else self.up).usage(rule, now=now)

    async def correct(self, rule: LimitRule, remaining: int, *, now: float | None = None) -> None:
        await (self.gone if self.down else self.up).correct(rule, remaining, now=now)


async def test_redis_stops_mid_run_and_comes_back(clock: FakeClock, prefix: str) -> None:
    real = RedisLimiter.from_url(REDIS_URL, prefix=prefix, timeout_ms=5000, clock=clock)
    switch = _Switch(real, dead(clock, prefix))
    fb = FallbackLimiter(switch, MemoryLimiter(clock=clock), share=0.5,
                         retry_primary_after=5.0, clock=clock)
    one = Amounts(requests=1)
    try:
        first = await fb.reserve([RPM], one)
        assert isinstance(first, Reservation)
        assert await real.usage(RPM) > 0  # charged in Redis
        switch.down = True
        local = await asyncio.wait_for(fb.reserve([RPM], one), timeout=1.0)
        assert isinstance(local, Reservation) and fb.degraded
        await first.settle(one)
        switch.down = False
        clock.advance(4.0)
        assert fb.degraded  # still inside retry_primary_after: no Redis call
        clock.advance(1.5)
        assert not fb.degraded
        again = await fb.reserve([RPM], one)
        assert isinstance(again, Reservation)
        assert await real.usage(RPM) > await MemoryLimiter(clock=clock).usage(RPM)
    finally:
        await real.aclose()
        await purge(prefix)


async def test_lost_settle_is_swallowed(clock: FakeClock, prefix: str) -> None:
    class Lost:
        done = False

        async def settle(self, actual: Amounts, *, now: float | None = None) -> None:
            raise LimiterUnavailable("gone")

        async def release(self, *, now: float | None = None) -> None:
            raise LimiterUnavailable("gone")

    class Primary(_Switch):
        async def reserve(self, rules: Sequence[LimitRule], amounts: Amounts, *,
                          now: float | None = None) -> Reservation | Denied:
            return Lost()

        async def reserve_groups(self, groups: Sequence[tuple[Sequence[LimitRule], Amounts]],
                                 *, now: float | None = None) -> Sequence[Reservation] | Denied:
            return [Lost() for _ in groups]

    mem = MemoryLimiter(clock=clock)
    fb = FallbackLimiter(Primary(mem, mem), mem, share=1.0, clock=clock)
    r = await fb.reserve([RPM], Amounts(requests=1))
    assert isinstance(r, Reservation)
    await r.settle(Amounts(requests=1))
    await r.release()
