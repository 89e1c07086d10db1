from __future__ import annotations

import datetime as dt

import pytest

from portico.errors import BudgetExceeded, RateLimited
from portico.limits import (
    Amounts,
    BudgetPeriod,
    Denied,
    LimitKey,
    LimitKind,
    LimitRule,
    period_end,
    period_key,
)


def ts(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> float:
    return dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC).timestamp()


def test_amounts_by_kind() -> None:
    a = Amounts(requests=1, tokens=2, input_tokens=3, output_tokens=4, concurrency=5, micros=6)
    assert [a.of(k) for k in LimitKind] == [1, 2, 3, 4, 5, 6]


def test_rule_validation_and_share() -> None:
    key = LimitKey("vkey:x", LimitKind.REQUESTS_PER_MINUTE)
    with pytest.raises(ValueError):
        LimitRule(key, -1)
    with pytest.raises(ValueError):
        LimitRule(key, 10, 0)
    assert LimitRule(key, 10).scaled(1 / 3).capacity == 3
    assert LimitRule(key, 2).scaled(0.1).capacity == 1


def test_denied_maps_to_our_429s() -> None:
    rate = Denied(LimitKey("vkey:x", LimitKind.TOKENS_PER_MINUTE), 2.5).to_error()
    assert isinstance(rate, RateLimited) and rate.retry_after == 2.5
    assert isinstance(Denied(LimitKey("team:t", LimitKind.BUDGET), 9).to_error(), BudgetExceeded)


@pytest.mark.parametrize(("period", "now", "key", "end"), [
    (BudgetPeriod.DAILY, ts(2025, 12, 31, 23, 59), "2025-12-31", ts(2026, 1, 1)),
    (BudgetPeriod.MONTHLY, ts(2025, 12, 15), "2025-12", ts(2026, 1, 1)),
    (BudgetPeriod.MONTHLY, ts(2024, 2, 29, 12), "2024-02", ts(2024, 3, 1)),
    (BudgetPeriod.QUARTERLY, ts(2025, 11, 3), "2025-Q4", ts(2026, 1, 1)),
    (BudgetPeriod.QUARTERLY, ts(2025, 4, 1), "2025-Q2", ts(2025, 7, 1)),
])
def test_budget_periods_are_utc_calendar(period: BudgetPeriod, now: float, key: str,
                                         end: float) -> None:
    assert period_key(period, now) == key
    assert period_end(period, now) == end


async def test_memory_limiter_prunes_idle_state() -> None:
    from portico.limits import MemoryLimiter

    t = [1_000.0]
    limiter = MemoryLimiter(clock=lambda: t[0])
    rule = LimitRule(LimitKey("vkey:x", LimitKind.TOKENS_PER_MINUTE), 100)
    conc = LimitRule(LimitKey("vkey:x", LimitKind.CONCURRENCY), 1, lease_seconds=5)
    await limiter.reserve([rule, conc], Amounts(tokens=50, concurrency=1))
    t[0] += 3_600
    await limiter.reserve([], Amounts())
    assert not limiter._buckets and not limiter._leases
